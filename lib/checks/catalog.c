/*
 * catalog.c - the one table of conformance checks, in display order. A new
 * check is a new lib/checks/check_<name>.c plus one row here.
 */
#include "checks/check.h"

#include <string.h>

#include "base/util.h"

static const struct check_desc *const catalog[] = {
	&check_http_basic,
	&check_grpc_basic,
	&check_grpc_stream,
	/* the mesh's promises (needs_mesh: FAIL "no mesh provides ..." under none) */
	&check_mtls_identity,
	&check_mtls_enforced,
	&check_retry_http,
	&check_split_weights,
	&check_split_shift,
	&check_tap_live,
	&check_timeout_http,
	&check_identity_expiry,
};

const struct check_desc *const *catalog_all(size_t *n)
{
	if (n)
		*n = ARRAY_SIZE(catalog);
	return catalog;
}

const struct check_desc *catalog_find(const char *id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(catalog); i++)
		if (!strcmp(catalog[i]->id, id))
			return catalog[i];
	return NULL;
}
