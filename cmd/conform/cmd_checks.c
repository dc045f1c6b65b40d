/*
 * cmd_checks.c - `conform checks`: the check catalog as a table or JSON, so
 * users can pick ids for --checks and see what each promise is held to;
 * with --mesh M, what each check is judged on with that mesh or why it has
 * no evidence there (mesh_ops.evidence).
 */
#include <errno.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "checks/check.h"
#include "mesh/mesh.h"
#include "cli.h"

static const char *const role_names[] = { "http-server", "grpc-server", "http-client",
					   "grpc-client" };

/* What mesh says check c rests on: 0 with *line the evidence, 1 with *line
 * why there is none; -1 when the adapter does not know the check. */
static int check_evidence(const struct mesh_ops *mops, const struct check_desc *c,
			  const char **line)
{
	int rc = mops->evidence(c->id, line);

	if (rc == 0 && *line)
		return 0;
	if (rc == -ENOTSUP && *line)
		return 1;
	return -1;
}

static int print_json(const struct check_desc *const *all, size_t n,
		      const struct mesh_ops *mops)
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
		if (mops) {
			const char *line = NULL;
			int ev = check_evidence(mops, c, &line);

			if (ev < 0) {
				rc = cli_fail(EXIT_ENV, "report it: every adapter must answer for "
					      "every check", "checks: mesh %s has no evidence "
					      "for %s", mops->name, c->id);
				goto out_failed;
			}
			if (ev == 0)
				cJSON_AddStringToObject(o, "evidence", line);
			else
				cJSON_AddNullToObject(o, "evidence");
			if (ev == 1)
				cJSON_AddStringToObject(o, "skipped_reason", line);
			else
				cJSON_AddNullToObject(o, "skipped_reason");
		}
	}
	text = cJSON_PrintUnformatted(arr);
	if (!text)
		goto out;
	printf("%s\n", text);
	rc = EXIT_CONFORMANT;
out:
	if (rc)
		cli_fail(rc, NULL, "checks: out of memory");
out_failed:
	cJSON_free(text);
	cJSON_Delete(arr);
	return rc;
}

/* The second block of the table: per check, its evidence with mops. */
static int print_evidence(const struct check_desc *const *all, size_t n,
			  const struct mesh_ops *mops)
{
	const struct mesh_entry *me = mesh_entry_find(mops->name);
	size_t i, skipped = 0;

	printf("\nEVIDENCE with --mesh %s [%s]:\n", mops->name, me ? me->platforms : "");
	for (i = 0; i < n; i++) {
		const char *line = NULL;
		int ev = check_evidence(mops, all[i], &line);

		if (ev < 0)
			return cli_fail(EXIT_ENV, "report it: every adapter must answer for every "
					"check", "checks: mesh %s has no evidence for %s",
					mops->name, all[i]->id);
		printf("%-18s %s%s\n", all[i]->id,
		       ev ? (mesh_is_none(mops->name) ? "no evidence: " : "skipped: ") : "", line);
		skipped += ev == 1;
	}
	if (skipped && mesh_is_none(mops->name))
		printf("\nA run with --mesh %s fails the %zu checks without evidence: no mesh "
		       "provides their promise.\n", mops->name, skipped);
	else if (skipped)
		printf("\n%zu checks have no evidence with --mesh %s.\n", skipped, mops->name);
	return EXIT_CONFORMANT;
}

int cmd_checks(const struct cli_opts *o)
{
	const struct check_desc *const *all;
	const struct mesh_ops *mops = NULL;
	size_t n, i;
	int rc;

	if ((rc = cli_no_args(o, "checks")))
		return rc;
	if (o->set & CLI_F_MESH) {
		/* the flag parser took only built-in meshes */
		mops = mesh_find(o->mesh);
		if (!mops)
			return cli_fail(EXIT_USAGE, NULL, "--mesh %s: not built into this conform",
					o->mesh);
	}
	all = catalog_all(&n);
	if (o->json)
		return print_json(all, n, mops);
	printf("%-18s %-40s %-4s  %s\n", "ID", "TITLE", "MESH", "OBJECTIVE");
	for (i = 0; i < n; i++)
		printf("%-18s %-40s %-4s  %s\n", all[i]->id, all[i]->title ? all[i]->title : "",
		       all[i]->needs_mesh ? "yes" : "no",
		       all[i]->objective ? all[i]->objective : "");
	if (mops && (rc = print_evidence(all, n, mops)))
		return rc;
	printf("\n%zu checks; select some with --checks ID,ID (default: all).\n", n);
	return EXIT_CONFORMANT;
}
