/*
 * cmd_checks.c - `conform checks`: the check catalog as a table or JSON, so
 * users can pick ids for --checks and see what each promise is held to.
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "checks/check.h"
#include "cli.h"

static const char *const role_names[] = { "http-server", "grpc-server", "http-client",
					   "grpc-client" };

static int print_json(const struct check_desc *const *all, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *text = NULL;
	size_t i, k;
	int rc = EXIT_ENV;

	if (!arr)
		goto out;
	for (i = 0; i < n; i++) {
		const struct check_desc *c = all[i];
		cJSON *o = cJSON_CreateObject();
		cJSON *roles = cJSON_CreateArray();

		if (!o || !roles) {
			cJSON_Delete(o);
			cJSON_Delete(roles);
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "id", c->id ? c->id : "");
		cJSON_AddStringToObject(o, "title", c->title ? c->title : "");
		cJSON_AddStringToObject(o, "promise", c->promise ? c->promise : "");
		cJSON_AddStringToObject(o, "proof", c->proof ? c->proof : "");
		cJSON_AddStringToObject(o, "objective", c->objective ? c->objective : "");
		cJSON_AddNumberToObject(o, "objective_ratio", c->objective_ratio);
		cJSON_AddBoolToObject(o, "needs_mesh", c->needs_mesh);
		for (k = 0; k < sizeof(role_names) / sizeof(role_names[0]); k++)
			if (c->roles & (1u << k))
				cJSON_AddItemToArray(roles, cJSON_CreateString(role_names[k]));
		cJSON_AddItemToObject(o, "roles", roles);
	}
	text = cJSON_PrintUnformatted(arr);
	if (!text)
		goto out;
	printf("%s\n", text);
	rc = EXIT_CONFORMANT;
out:
	if (rc)
		cli_fail(rc, NULL, "checks: out of memory");
	cJSON_free(text);
	cJSON_Delete(arr);
	return rc;
}

int cmd_checks(const struct cli_opts *o)
{
	const struct check_desc *const *all;
	size_t n, i;
	int rc;

	if ((rc = cli_no_args(o, "checks")))
		return rc;
	all = catalog_all(&n);
	if (o->json)
		return print_json(all, n);
	printf("%-18s %-40s %-4s  %s\n", "ID", "TITLE", "MESH", "OBJECTIVE");
	for (i = 0; i < n; i++)
		printf("%-18s %-40s %-4s  %s\n", all[i]->id, all[i]->title ? all[i]->title : "",
		       all[i]->needs_mesh ? "yes" : "no",
		       all[i]->objective ? all[i]->objective : "");
	printf("\n%zu checks; select some with --checks ID,ID (default: all).\n", n);
	return EXIT_CONFORMANT;
}
