/*
 * cmd_fault.c - `conform fault KIND --target NAME ...`: inject a fault into a
 * workload of the active run through conformd, which records it as an event
 * so the report can tie failing windows to the fault that caused them.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "control/apiclient.h"
#include "cli.h"
#include "base/util.h"

int cmd_fault(const struct cli_opts *o)
{
	struct cli_run r;
	struct cli_error e;
	struct api_response resp;
	struct dynbuf body = DYNBUF_INIT(4096);
	char err[512], hint[PATH_MAX + 64], d[32];
	long status;
	cJSON *j = NULL;
	const cJSON *id;
	int rc;

	if (o->nargs > 1)
		return cli_fail(EXIT_USAGE, "write `conform fault KIND --target NAME`",
				"fault takes one KIND, got also '%s'", o->args[1]);
	if (cliflags_fault_body(o->nargs ? o->args[0] : NULL, o, &body, &e)) {
		dynbuf_release(&body);
		return cli_usage_fail(&e);
	}
	if ((rc = cli_current_run(o, &r)))
		goto out;
	if (r.state != RUN_STATE_RUNNING) {
		snprintf(hint, sizeof(hint), "`conform status` says more; its log is "
			 "%s/logs/conformd.log", r.dir);
		rc = cli_fail(EXIT_ENV, hint, "the monitor of run %s is not running (%s)", r.id,
			      run_state_name(r.state));
		goto out;
	}
	if (api_call(&r.ep, "POST", "/v1/faults", body.buf, 0, &resp, err, sizeof(err))) {
		rc = cli_fail(EXIT_ENV, NULL, "cannot reach the monitor of run %s: %s", r.id, err);
		goto out;
	}
	status = resp.status;
	if (status != 201 && status != 200) {
		api_error_text(&resp, err, sizeof(err));
		api_response_release(&resp);
		rc = cli_fail(status >= 400 && status < 500 ? EXIT_USAGE : EXIT_ENV,
			      "`conform status` lists the workloads; `conform help fault` the kinds",
			      "fault %s on %s refused: %s", o->args[0], o->target, err);
		goto out;
	}
	if (o->json) {
		printf("%s%s", resp.body, resp.len && resp.body[resp.len - 1] == '\n' ? "" : "\n");
	} else {
		j = cJSON_ParseWithLength(resp.body, resp.len);
		id = cJSON_GetObjectItemCaseSensitive(j, "id");
		printf("injected fault");
		if (cJSON_IsNumber(id))
			printf(" #%lld", (long long)id->valuedouble);
		printf(": %s on %s", o->args[0], o->target);
		if (!strcmp(o->args[0], "server-errors"))
			printf(", %.0f%% of requests", 100.0 * ((o->set & CLI_F_FAULT_RATE) ?
							      o->fault_rate : 1.0));
		if (o->set & CLI_F_CODE)
			printf(" with %lld", (long long)o->code);
		if (o->set & CLI_F_MS)
			printf(", +%lld ms", (long long)o->ms);
		if (strcmp(o->args[0], "kill"))
			printf(", %s", o->for_ms ? dur_format(o->for_ms, d, sizeof(d)) :
			       "until the run ends");
		printf("\n");
	}
	api_response_release(&resp);
	rc = EXIT_CONFORMANT;
out:
	cJSON_Delete(j);
	dynbuf_release(&body);
	return rc;
}
