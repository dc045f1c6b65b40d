/*
 * registry.c - the platforms conform knows: one row each. A new platform is
 * a folder or file under lib/platform/ plus one row here.
 */
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"

const struct platform_entry platform_registry[] = {
	{ "local", &platform_local, "workloads are processes on 127.0.0.1 (the default)" },
	{ "kubernetes", NULL, "workloads and conformd in a namespace of your cluster" },
};
const size_t platform_nregistry = sizeof(platform_registry) / sizeof(platform_registry[0]);

const struct platform_entry *platform_entry_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < platform_nregistry; i++)
		if (!strcmp(platform_registry[i].name, name))
			return &platform_registry[i];
	return NULL;
}

const struct platform_ops *platform_find(const char *name)
{
	const struct platform_entry *e = platform_entry_find(name);

	return e ? e->ops : NULL;
}

char *platform_names(char *out, size_t len, const char *sep, const char *last, int quote)
{
	size_t i, k = 0, nbuilt = 0, at = 0;

	if (!len)
		return out;
	out[0] = '\0';
	for (i = 0; i < platform_nregistry; i++)
		nbuilt += platform_registry[i].ops != NULL;
	for (i = 0; i < platform_nregistry && at < len; i++) {
		int n;

		if (!platform_registry[i].ops)
			continue;
		n = snprintf(out + at, len - at, "%s%s%s%s", !k ? "" :
			     k + 1 == nbuilt && last ? last : sep, quote ? "\"" : "",
			     platform_registry[i].name, quote ? "\"" : "");
		if (n < 0)
			break;
		at += (size_t)n;
		k++;
	}
	return out;
}
