/*
 * test_faults_resume.c - the fault state file a resumed conformd reads:
 * what one registry leaves behind when it dies without ending its faults,
 * the next one reverts (overdue) or takes over until the original end time;
 * a malformed file or entry never brings a fault back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults/faults.h"
#include "harness.h"
#include "platform/platform.h"
#include "base/util.h"

/* ---- a mesh that only records what it was asked ---- */

static char mesh_log[1024];
static int mesh_dummy;

static int fake_inject(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen)
{
	size_t n = strlen(mesh_log);

	(void)m;
	(void)err;
	(void)errlen;
	snprintf(mesh_log + n, sizeof(mesh_log) - n, "+%s/%s ", fault_kind_name(f->kind), f->target);
	return 0;
}

static int fake_revert(struct mesh *m, const struct mesh_fault *f, char *err, size_t errlen)
{
	size_t n = strlen(mesh_log);

	(void)m;
	(void)err;
	(void)errlen;
	snprintf(mesh_log + n, sizeof(mesh_log) - n, "-%s/%s ", fault_kind_name(f->kind), f->target);
	return 0;
}

static const struct mesh_ops fake_mesh = {
	.name = "fake", .caps = MESH_CAP_PROXIES, .faults = ~0u,
	.inject_fault = fake_inject, .revert_fault = fake_revert,
};

/* ---- a platform whose workloads are never reachable ---- */

static int fake_addresses(struct platform *p, const char *name, struct workload_addr *out)
{
	(void)p;
	(void)name;
	(void)out;
	return -EAGAIN;
}

static const struct platform_ops fake_plat = { .name = "fake", .addresses = fake_addresses };

static char dir[64], path[128];

static struct faults *registry(void)
{
	struct faults *f = faults_new(&fake_plat, NULL, NULL, "tok");

	if (f) {
		faults_set_mesh(f, &fake_mesh, (struct mesh *)&mesh_dummy);
		if (faults_set_state_file(f, path) < 0) {
			faults_free(f);
			f = NULL;
		}
	}
	return f;
}

static int apply(struct faults *f, const char *body, double now, struct fault *out)
{
	struct fault_req r;
	char err[256];

	if (fault_parse_text(body, strlen(body), &r, err, sizeof(err)) < 0)
		return -1;
	return faults_apply(f, &r, now, out, err, sizeof(err));
}

static void write_state(const char *text)
{
	ASSERT_EQ(file_write_atomic(path, text, strlen(text), 0600), 0);
}

TEST(overdue_reverted_running_taken_over)
{
	struct faults *f = registry(), *g;
	struct fault out, list[4];

	ASSERT(f);
	mesh_log[0] = '\0';
	ASSERT_EQ(apply(f, "{\"kind\":\"retries-off\",\"target\":\"http-client\",\"for_s\":10}",
			100.0, &out), 0);
	ASSERT_EQ(out.id, 1);
	ASSERT_EQ(apply(f, "{\"kind\":\"tap-off\",\"target\":\"http-client\",\"for_s\":50}",
			100.0, &out), 0);
	ASSERT_EQ(apply(f, "{\"kind\":\"mtls-off\",\"target\":\"http-server\"}", 100.0, &out), 0);
	ASSERT_STR_EQ(mesh_log, "+retries-off/http-client +tap-off/http-client "
		      "+mtls-off/http-server ");
	/* the monitor dies: nothing is ended */
	faults_free(f);

	mesh_log[0] = '\0';
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 120.0), 1);
	ASSERT_STR_EQ(mesh_log, "-retries-off/http-client ");
	ASSERT_UEQ(faults_list(g, list, ARRAY_SIZE(list)), 2);
	ASSERT_EQ(list[0].id, 2);
	ASSERT_NEAR(list[0].until, 150.0, 1e-9);
	ASSERT_NEAR(list[0].started, 100.0, 1e-9);
	ASSERT_EQ(list[1].id, 3);
	ASSERT_NEAR(list[1].until, 0, 1e-9);   /* until the run ends */
	/* the taken-over one ends at its original end time, not before */
	ASSERT_EQ(faults_expire(g, 149.9), 0);
	ASSERT_EQ(faults_expire(g, 150.0), 1);
	ASSERT_STR_EQ(mesh_log, "-retries-off/http-client -tap-off/http-client ");
	/* ids go on from where the dead monitor stopped */
	ASSERT_EQ(apply(g, "{\"kind\":\"split-skew\",\"target\":\"http-client\"}", 151.0, &out), 0);
	ASSERT_EQ(out.id, 4);
	faults_end_all(g, 160.0);
	faults_free(g);

	/* a clean end leaves nothing to take over */
	mesh_log[0] = '\0';
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 170.0), 0);
	ASSERT_UEQ(faults_list(g, list, ARRAY_SIZE(list)), 0);
	ASSERT_STR_EQ(mesh_log, "");
	faults_free(g);
}

TEST(workload_fault_overdue)
{
	struct faults *g;
	struct fault list[4];

	/* on record before its push: a resume ends it even if the workload
	 * cannot be reached now (faults_expire tries to clear it again) */
	write_state("{\"version\":1,\"next_id\":8,\"faults\":[{\"id\":7,\"kind\":\"server-errors\","
		    "\"target\":\"http-server\",\"rate\":1,\"code\":503,\"ms\":0,\"for_s\":5,"
		    "\"started\":100,\"until\":105}]}");
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 106.0), 1);
	ASSERT_UEQ(faults_list(g, list, ARRAY_SIZE(list)), 0);
	ASSERT_EQ(faults_expire(g, 112.0), 0);
	faults_free(g);
}

TEST(malformed_state)
{
	struct faults *g;
	struct fault list[4];

	unlink(path);
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 100.0), 0);   /* no file: nothing was active */
	faults_free(g);

	write_state("{\"version\":1,\"faults\":[");
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 100.0), -EINVAL);
	ASSERT_UEQ(faults_list(g, list, ARRAY_SIZE(list)), 0);
	faults_free(g);

	write_state("{\"version\":2,\"next_id\":3,\"faults\":[]}");
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 100.0), -EINVAL);
	faults_free(g);

	/* bad entries are dropped one by one, the good one is kept */
	mesh_log[0] = '\0';
	write_state("{\"version\":1,\"next_id\":9,\"faults\":["
		    "{\"id\":1,\"kind\":\"kill\",\"target\":\"http-server\",\"started\":1,\"until\":1},"
		    "{\"id\":2,\"kind\":\"tap-off\",\"target\":\"../etc\",\"started\":1,\"until\":500},"
		    "{\"id\":3,\"kind\":\"tap-off\",\"target\":\"http-client\",\"started\":1},"
		    "{\"id\":4,\"kind\":\"tap-off\",\"target\":\"http-client\",\"started\":1,"
		    "\"until\":500,\"extra\":1},"
		    "{\"id\":5.5,\"kind\":\"tap-off\",\"target\":\"http-client\",\"started\":1,"
		    "\"until\":500},"
		    "{\"id\":6,\"kind\":\"tap-off\",\"target\":\"http-client\",\"for_s\":499,"
		    "\"started\":1,\"until\":500}]}");
	g = registry();
	ASSERT(g);
	ASSERT_EQ(faults_resume(g, 100.0), 0);
	ASSERT_UEQ(faults_list(g, list, ARRAY_SIZE(list)), 1);
	ASSERT_EQ(list[0].id, 6);
	ASSERT_STR_EQ(mesh_log, "");
	faults_free(g);
}

int main(void)
{
	char tmpl[] = "/tmp/conform-faults-XXXXXX";

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	str_copy(dir, sizeof(dir), tmpl);
	str_fmt(path, sizeof(path), "%s/faults.json", dir);
	RUN(overdue_reverted_running_taken_over);
	RUN(workload_fault_overdue);
	RUN(malformed_state);
	unlink(path);
	rmdir(dir);
	TEST_MAIN_END();
}
