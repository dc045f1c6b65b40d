/*
 * test_contracts.c - what every adapter and every table row must satisfy,
 * run over the registries, so a new mesh or platform is held to the same
 * contract the day its row is added: slots present, capabilities that agree
 * with the slots and the fault set, and the baseline mesh behaving as the
 * "no mesh" of mesh.h. Also the one-table lists (fault kinds, formats).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "faults/kinds.h"
#include "faults/matrix.h"
#include "harness.h"
#include "mesh/linkerd/linkerd.h"
#include "mesh/mesh.h"
#include "platform/platform.h"
#include "report/report.h"
#include "base/util.h"

TEST(mesh_rows_keep_the_contract)
{
	size_t i, nbuilt = 0;

	ASSERT(mesh_nregistry > 0);
	for (i = 0; i < mesh_nregistry; i++) {
		const struct mesh_entry *e = &mesh_registry[i];
		const struct mesh_ops *o = e->ops;
		unsigned k;

		ASSERT(e->name && *e->name && e->help && *e->help && e->platforms);
		ASSERT(mesh_entry_find(e->name) == e);
		if (!o)
			continue;
		nbuilt++;
		ASSERT_STR_EQ(o->name, e->name);
		ASSERT(o->tap_stats && o->identity_of);
		ASSERT(o->prepare && o->plan && o->start_sidecars && o->identity_header &&
		       o->route && o->configure && o->tap_open && o->tap_read &&
		       o->inject_fault && o->revert_fault && o->tick && o->probe_info &&
		       o->workload_cert &&
		       o->release && o->evidence);
		/* a mesh without proxies has nothing to fault, plan or tap */
		if (!(o->caps & MESH_CAP_PROXIES))
			ASSERT_EQ(o->caps, 0);
		if (!(o->caps & MESH_CAP_PROXIES))
			ASSERT_EQ(o->faults, 0);
		/* a mesh that runs its own sidecars needs a platform that runs helpers */
		for (size_t p = 0; p < platform_nregistry; p++) {
			const struct platform_ops *po = platform_registry[p].ops;

			if (po && (o->caps & MESH_CAP_PLAN) && mesh_runs_on(e, po->name))
				ASSERT(po->caps & PLATFORM_CAP_HELPERS);
		}
		/* the fault set holds mesh kinds only */
		for (k = 0; k < 32; k++)
			if (o->faults & (1u << k)) {
				ASSERT(k < FAULT_NKINDS);
				ASSERT(fault_kind_is_mesh((enum fault_kind)k));
				ASSERT(mesh_can_fault(o, (enum fault_kind)k));
			}
		ASSERT(!mesh_can_fault(o, FAULT_SERVER_ERRORS));
		ASSERT(!mesh_can_fault(o, FAULT_KILL));
		/* the mesh's own view is optional; only proxies can count */
		if (o->view)
			ASSERT(o->caps & MESH_CAP_PROXIES);
	}
	/* the baseline keeps no counts; haproxy's are not read yet; linkerd's are */
	ASSERT(mesh_find("none")->view == NULL);
	ASSERT(mesh_find("haproxy")->view == NULL);
	ASSERT(mesh_linkerd.view != NULL);
	ASSERT(nbuilt >= 3);
	ASSERT(mesh_find("nope") == NULL);
	/* conformd runs it in a cluster (--seed, the platform's client) */
	ASSERT(mesh_find("linkerd") == &mesh_linkerd);
	ASSERT_STR_EQ(mesh_default_for("kubernetes"), "linkerd");
	ASSERT_STR_EQ(mesh_default_for("local"), "haproxy");
	ASSERT(mesh_is_none("none") && mesh_is_none("") && !mesh_is_none("haproxy"));
	/* a mesh this binary lacks (a copied run's report) still counts as a mesh */
	ASSERT(!mesh_is_none("linkerd"));
}

/* A check that cannot be judged without a capability: an adapter lacking
 * it must say why the check has no evidence there. */
static const struct {
	const char *check;
	unsigned cap;
} check_needs[] = {
	{ "mtls.identity", MESH_CAP_IDENTITY },
	{ "mtls.enforced", MESH_CAP_PROBES },
	{ "identity.expiry", MESH_CAP_PROBES },
	{ "tap.live", MESH_CAP_TAP },
	{ "split.shift", MESH_CAP_WEIGHTS },
};

/* Every built-in adapter answers for every catalog check (`conform checks
 * --mesh M`): a line of evidence, or why there is none; never silence. */
TEST(every_mesh_answers_for_every_check)
{
	const struct check_desc *const *all;
	size_t n, i, c, k;

	all = catalog_all(&n);
	ASSERT(n >= 10);
	for (i = 0; i < mesh_nregistry; i++) {
		const struct mesh_ops *o = mesh_registry[i].ops;
		const char *line = "unset";

		if (!o)
			continue;
		for (c = 0; c < n; c++) {
			int rc = o->evidence(all[c]->id, &line);

			if (rc != 0 && rc != -ENOTSUP)
				H_FAIL("mesh %s has no evidence row for check %s (rc %d)", o->name,
				       all[c]->id, rc);
			if (!line || strlen(line) < 10 || strchr(line, '\n'))
				H_FAIL("mesh %s, check %s: no one-line answer", o->name, all[c]->id);
			/* without proxies, a mesh check has nothing to rest on;
			 * the checks of the apps' own traffic always have */
			if (!(o->caps & MESH_CAP_PROXIES))
				ASSERT_EQ(rc, all[c]->needs_mesh ? -ENOTSUP : 0);
			if (!all[c]->needs_mesh)
				ASSERT_EQ(rc, 0);
			for (k = 0; k < sizeof(check_needs) / sizeof(check_needs[0]); k++)
				if (!strcmp(check_needs[k].check, all[c]->id) &&
				    !(o->caps & check_needs[k].cap))
					ASSERT_EQ(rc, -ENOTSUP);
		}
		line = "unset";
		ASSERT_EQ(o->evidence("no.such", &line), -ENOENT);
		ASSERT(line == NULL);
	}
	/* the table names catalog checks only */
	for (k = 0; k < sizeof(check_needs) / sizeof(check_needs[0]); k++)
		ASSERT(catalog_find(check_needs[k].check) != NULL);
}

/* every slot of platform.h filled, and the name set */
static int platform_ops_complete(const struct platform_ops *o)
{
	return o && o->name && *o->name && o->prepare && o->start && o->stop && o->poll &&
	       o->kill && o->restart && o->addresses && o->log_path && o->list && o->release &&
	       o->adopt;
}

/* The kubernetes platform: its table and its registry row. */
TEST(kubernetes_ops_keep_the_contract)
{
	const struct platform_entry *e = platform_entry_find("kubernetes");

	ASSERT(platform_ops_complete(&platform_kubernetes));
	ASSERT_STR_EQ(platform_kubernetes.name, "kubernetes");
	/* pods are no processes of this machine; sidecars are the mesh's there */
	ASSERT_EQ(platform_kubernetes.caps & (PLATFORM_CAP_PROCESSES | PLATFORM_CAP_HELPERS), 0);
	ASSERT(e && e->ops == &platform_kubernetes);
	ASSERT(platform_find("kubernetes") == &platform_kubernetes);
	/* a mesh that plans its own sidecars cannot run on it */
	for (size_t i = 0; i < mesh_nregistry; i++) {
		const struct mesh_ops *m = mesh_registry[i].ops;

		if (m && (m->caps & MESH_CAP_PLAN))
			ASSERT(!mesh_runs_on(&mesh_registry[i], "kubernetes"));
	}
}

TEST(platform_rows_keep_the_contract)
{
	size_t i, nbuilt = 0;

	for (i = 0; i < platform_nregistry; i++) {
		const struct platform_entry *e = &platform_registry[i];
		const struct platform_ops *o = e->ops;

		ASSERT(e->name && *e->name && e->help && *e->help);
		ASSERT(platform_entry_find(e->name) == e);
		if (!o)
			continue;
		nbuilt++;
		ASSERT_STR_EQ(o->name, e->name);
		ASSERT(platform_ops_complete(o));
	}
	ASSERT(nbuilt >= 1);
	/* every built-in platform has a built-in mesh to run */
	for (i = 0; i < platform_nregistry; i++)
		if (platform_registry[i].ops)
			ASSERT(mesh_find(mesh_default_for(platform_registry[i].name)) != NULL);
}

/* Every slot of an adapter without a mesh answers as mesh.h says. */
TEST(baseline_mesh_behaves_as_no_mesh)
{
	const struct mesh_ops *o = mesh_find("none");
	struct run_config cfg;
	struct mesh_env env;
	struct mesh *m = NULL;
	struct mesh_plan plan;
	struct mesh_feature f;
	struct mesh_fault mf;
	struct mesh_tap_stats ts;
	struct mesh_probe_info pi;
	char out[64], err[256];
	int64_t na = 0;

	ASSERT(o);
	run_config_defaults(&cfg);
	memset(&env, 0, sizeof(env));
	env.cfg = &cfg;
	ASSERT_EQ(o->prepare(&env, &m, err, sizeof(err)), 0);
	ASSERT(m);
	ASSERT_EQ(o->plan(m, &plan, err, sizeof(err)), -ENOTSUP);
	ASSERT(o->identity_header(m) && *o->identity_header(m));
	ASSERT_EQ(o->route(m, "http-server", "127.0.0.1:8080", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "127.0.0.1:8080");
	memset(&f, 0, sizeof(f));
	f.kind = MESH_SPLIT;
	ASSERT(o->configure(m, &f, err, sizeof(err)) < 0);
	ASSERT_EQ(o->tap_open(m, err, sizeof(err)), -ENOTSUP);
	ASSERT(*err);
	ASSERT_EQ(o->tap_read(m, 0, NULL, NULL), -ENOTSUP);
	o->tap_stats(m, &ts);
	ASSERT_EQ(ts.received + ts.parsed + ts.rejected, 0);
	ASSERT_EQ(o->identity_of(m, "http-client", out, sizeof(out)), -ENOTSUP);
	memset(&mf, 0, sizeof(mf));
	mf.kind = FAULT_MTLS_OFF;
	ASSERT(o->inject_fault(m, &mf, err, sizeof(err)) < 0);
	ASSERT_EQ(o->probe_info(m, &pi), -ENOTSUP);
	ASSERT(o->workload_cert(m, "http-client", out, sizeof(out), &na) < 0);
	o->tick(m);
	o->release(m);
	o->release(NULL);
}

/* A missing dependency is one line saying what and how to install it. */
TEST(mesh_dependencies_through_the_adapter)
{
	const struct mesh_ops *o = mesh_find("haproxy");
	char err[256] = "";

	ASSERT(o && o->check_deps);
	setenv("CONFORM_HAPROXY", "/nonexistent/haproxy", 1);
	ASSERT_EQ(o->check_deps(err, sizeof(err)), -ENOENT);
	ASSERT_CONTAINS(err, "install");
	ASSERT(!strchr(err, '\n'));
	unsetenv("CONFORM_HAPROXY");
	ASSERT_EQ(o->check_deps(err, sizeof(err)), 0);   /* make deps installs it */
}

TEST(fault_kind_table)
{
	char names[512];
	struct dynbuf b = DYNBUF_INIT(1 << 16);
	size_t i, j;

	ASSERT(FAULT_NKINDS <= 32);   /* mesh_ops.faults is a 32-bit set */
	for (i = 0; i < FAULT_NKINDS; i++) {
		const struct fault_kind_info *fi = &fault_kinds[i];
		char breaks[512];

		ASSERT_EQ(fi->kind, i);
		ASSERT(fi->name && fi->help && *fi->help && fi->usage);
		/* every kind has a row in the isolation matrix */
		ASSERT(*fault_kind_breaks(fi->kind, breaks, sizeof(breaks)));
		ASSERT(fi->targets != 0);
		ASSERT(fault_kind_find(fi->name) == fi);
		ASSERT_STR_EQ(fault_kind_name(fi->kind), fi->name);
		for (j = 0; j < i; j++)
			ASSERT(strcmp(fault_kinds[j].name, fi->name));
	}
	ASSERT(fault_kind_find("nope") == NULL);
	ASSERT_STR_EQ(fault_kind_name((enum fault_kind)99), "unknown");
	fault_kind_names(names, sizeof(names), ", ");
	ASSERT_EQ(fault_kinds_usage(&b), 0);
	for (i = 0; i < FAULT_NKINDS; i++) {
		ASSERT(strstr(names, fault_kinds[i].name));
		ASSERT(strstr(b.buf, fault_kinds[i].name));
		ASSERT(strstr(b.buf, fault_kinds[i].help));
	}
	dynbuf_release(&b);
}

/*
 * A mesh that injects faults itself has a matrix whose rows are exactly the
 * kinds it can apply: its mesh faults (mesh_ops.faults) and the app and
 * platform ones, every target named by a row a workload the kind takes, and
 * every row's checks real catalog ids. A refused kind has no row, so a
 * report never names it as a cause there.
 */
TEST(every_fault_injecting_mesh_has_its_matrix)
{
	for (size_t i = 0; i < mesh_nregistry; i++) {
		const struct mesh_ops *o = mesh_registry[i].ops;
		const struct fault_row *row;
		size_t n = 0, r;

		if (!o || !o->faults)
			continue;
		for (size_t k = 0; k < FAULT_NKINDS; k++) {
			const struct fault_kind_info *fi = &fault_kinds[k];
			int can = fi->by != FAULT_BY_MESH || (o->faults & (1u << k));
			size_t nrow = 0;

			for (r = 0; (row = fault_matrix_next(o->name, &r));)
				nrow += row->kind == fi->kind;
			if (can != (nrow > 0))
				H_FAIL("%s: %s %s but has %zu matrix rows", o->name, fi->name,
				       can ? "is applied" : "is refused", nrow);
		}
		for (r = 0; (row = fault_matrix_next(o->name, &r)); n++) {
			char list[512], *save = NULL;

			snprintf(list, sizeof(list), "%s,%s", row->fails, row->may);
			for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save))
				if (!catalog_find(id))
					H_FAIL("%s: row %s on %s names unknown check %s", o->name,
					       fault_kind_name(row->kind), row->target, id);
			ASSERT(*row->fails);
		}
		ASSERT(n > 0);
	}
}

TEST(report_format_table)
{
	char names[128];
	size_t i, j;

	ASSERT(report_nformats >= 4);
	for (i = 0; i < report_nformats; i++) {
		const struct report_format *f = &report_formats[i];

		ASSERT(f->name && f->file && f->content_type && f->help && f->render);
		ASSERT(report_format_find(f->name) == f);
		for (j = 0; j < i; j++) {
			ASSERT(strcmp(report_formats[j].name, f->name));
			ASSERT(strcmp(report_formats[j].file, f->file));
		}
	}
	ASSERT(report_format_find("pdf") == NULL && report_format_find(NULL) == NULL);
	report_format_names(names, sizeof(names), ", ", " or ");
	ASSERT_STR_EQ(names, "json, junit, md or html");
}

int main(void)
{
	RUN(mesh_rows_keep_the_contract);
	RUN(every_mesh_answers_for_every_check);
	RUN(platform_rows_keep_the_contract);
	RUN(kubernetes_ops_keep_the_contract);
	RUN(baseline_mesh_behaves_as_no_mesh);
	RUN(mesh_dependencies_through_the_adapter);
	RUN(fault_kind_table);
	RUN(every_fault_injecting_mesh_has_its_matrix);
	RUN(report_format_table);
	TEST_MAIN_END();
}
