/*
 * registry.c - the meshes conform knows: one row each. A new mesh is a
 * folder under lib/mesh/ plus one row here; the flag parser, the config
 * file, --help and the error hints read this table, checks never do.
 */
#include <stdio.h>
#include <string.h>

#include "mesh/mesh.h"
#include "base/util.h"

/* the adapters, each in its own folder */
extern const struct mesh_ops mesh_none;
extern const struct mesh_ops mesh_haproxy;
extern const struct mesh_ops mesh_linkerd;

const struct mesh_entry mesh_registry[] = {
	{ "haproxy", &mesh_haproxy, "local",
	  "the local reference mesh: HAProxy sidecars, a run CA (default on local)" },
	{ "linkerd", &mesh_linkerd, "kubernetes",
	  "Linkerd on a Kubernetes cluster (default on kubernetes)" },
	{ "none", &mesh_none, "local,kubernetes",
	  "the baseline without a mesh: every mesh check must fail" },
};
const size_t mesh_nregistry = sizeof(mesh_registry) / sizeof(mesh_registry[0]);

const struct mesh_entry *mesh_entry_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < mesh_nregistry; i++)
		if (!strcmp(mesh_registry[i].name, name))
			return &mesh_registry[i];
	return NULL;
}

const struct mesh_ops *mesh_find(const char *name)
{
	const struct mesh_entry *e = mesh_entry_find(name);

	return e ? e->ops : NULL;
}

int mesh_runs_on(const struct mesh_entry *m, const char *platform)
{
	const char *p = m->platforms;
	size_t n = strlen(platform);

	while (p && *p) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, platform, n))
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

const char *mesh_default_for(const char *platform)
{
	size_t i;

	/* the first built-in row that runs there: the table's order says it */
	for (i = 0; platform && i < mesh_nregistry; i++)
		if (mesh_registry[i].ops && mesh_runs_on(&mesh_registry[i], platform))
			return mesh_registry[i].name;
	return "none";
}

char *mesh_names(char *out, size_t len, const char *sep, const char *last, int quote)
{
	const char *names[16];
	size_t i, n = 0;

	for (i = 0; i < mesh_nregistry && n < 16; i++)
		if (mesh_registry[i].ops)
			names[n++] = mesh_registry[i].name;
	return str_join(out, len, names, n, sep, last, quote);
}

int mesh_can_fault(const struct mesh_ops *ops, enum fault_kind k)
{
	return ops && (unsigned)k < 32 && (ops->faults & (1u << k)) != 0;
}

int mesh_is_none(const char *name)
{
	const struct mesh_ops *ops = mesh_find(name);

	return !name || !*name || (ops && !(ops->caps & MESH_CAP_PROXIES));
}
