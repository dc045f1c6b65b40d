/*
 * registry.c - the platforms conform knows: one row each. A new platform is
 * a folder or file under lib/platform/ plus one row here.
 */
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "base/util.h"

const struct platform_entry platform_registry[] = {
	{ "local", &platform_local, "workloads are processes on 127.0.0.1 (the default)" },
	{ "kubernetes", &platform_kubernetes, "workloads and conformd in a namespace of your cluster" },
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
	const char *names[16];
	size_t i, n = 0;

	for (i = 0; i < platform_nregistry && n < 16; i++)
		if (platform_registry[i].ops)
			names[n++] = platform_registry[i].name;
	return str_join(out, len, names, n, sep, last, quote);
}
