/*
 * test_kube_objects.c - the objects the kubernetes platform applies are the
 * manifests': what objects.c builds for the default run is compared, field
 * by field where both set one, with what `kubectl kustomize` renders of
 * manifests/kubernetes/none and linkerd (test/tools/kube_objects_diff.py
 * names the field that differs), and the comparison is shown to say no.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "base/util.h"
#include "config/run.h"
#include "platform/kubernetes/objects.h"
#include "platform/kubernetes/yaml.h"

static char tmpdir[256];

/* run a shell command; its exit status, or -1 */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return st < 0 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static int write_json(const char *path, const cJSON *o)
{
	char *text = cJSON_Print(o);
	int rc;

	if (!text)
		return -1;
	rc = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return rc;
}

static cJSON *find(cJSON *arr, const char *kind, const char *name)
{
	cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(md, "name");

		if (cJSON_IsString(k) && cJSON_IsString(n) && !strcmp(k->valuestring, kind) &&
		    !strcmp(n->valuestring, name))
			return o;
	}
	return NULL;
}

/* build the default run's objects for mesh, render the overlay, compare;
 * returns the script's exit status (its output goes to OUT) */
static int compare_overlay(const char *mesh, void (*mutate)(cJSON *), const char *outname)
{
	struct run_config c;
	struct kube_run r;
	char err[256], built[512], rendered[512], out[512], cmd[2048];
	cJSON *arr;
	int rc;

	run_config_defaults(&c);
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), mesh);
	arr = kube_obj_all(&r, &c, err, sizeof(err));
	if (!arr) {
		fprintf(stderr, "kube_obj_all: %s\n", err);
		return -1;
	}
	if (mutate)
		mutate(arr);
	str_fmt(built, sizeof(built), "%s/built-%s.json", tmpdir, mesh);
	str_fmt(rendered, sizeof(rendered), "%s/rendered-%s.yaml", tmpdir, mesh);
	str_fmt(out, sizeof(out), "%s/%s", tmpdir, outname);
	rc = write_json(built, arr);
	cJSON_Delete(arr);
	if (rc < 0)
		return -1;
	str_fmt(cmd, sizeof(cmd), "kubectl kustomize manifests/kubernetes/%s > %s 2>/dev/null",
		mesh, rendered);
	if (sh(cmd) != 0) {
		fprintf(stderr, "kubectl kustomize manifests/kubernetes/%s failed\n", mesh);
		return -1;
	}
	str_fmt(cmd, sizeof(cmd), "python3 test/tools/kube_objects_diff.py %s %s > %s 2>&1",
		built, rendered, out);
	rc = sh(cmd);
	if (rc) {
		char *text = file_read(out, 1 << 16, NULL);

		fprintf(stderr, "%s: objects.c and the kustomize overlay differ:\n%s", mesh,
			text ? text : "(no output)\n");
		free(text);
	}
	return rc;
}

TEST(same_as_kustomize_none)
{
	ASSERT_EQ(compare_overlay("none", NULL, "diff-none.txt"), 0);
}

TEST(same_as_kustomize_linkerd)
{
	ASSERT_EQ(compare_overlay("linkerd", NULL, "diff-linkerd.txt"), 0);
}

/* the comparison must be able to fail: a probe port and an annotation changed */
static cJSON *jget(cJSON *o, const char *path)
{
	char buf[256], *k, *save = NULL;

	str_copy(buf, sizeof(buf), path);
	for (k = strtok_r(buf, ".", &save); o && k; k = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, (int)strtol(k, NULL, 10))
				     : cJSON_GetObjectItemCaseSensitive(o, k);
	return o;
}

static void break_probe(cJSON *arr)
{
	cJSON *hg = jget(find(arr, "Deployment", "http-server-v2"),
			 "spec.template.spec.containers.0.readinessProbe.httpGet");

	cJSON_ReplaceItemInObjectCaseSensitive(hg, "port", cJSON_CreateString("admin"));
}

static void drop_object(cJSON *arr)
{
	cJSON *s = find(arr, "Service", "http-retry");
	cJSON *md = cJSON_GetObjectItemCaseSensitive(s, "metadata");

	cJSON_ReplaceItemInObjectCaseSensitive(md, "name", cJSON_CreateString("http-retries"));
}

static void drop_field(cJSON *arr)
{
	cJSON_DeleteItemFromObjectCaseSensitive(jget(find(arr, "Deployment", "conformd"), "spec"),
						"strategy");
}

TEST(comparison_says_no)
{
	char path[512], *text;

	ASSERT_EQ(compare_overlay("linkerd", break_probe, "diff-broken.txt"), 1);
	str_fmt(path, sizeof(path), "%s/diff-broken.txt", tmpdir);
	text = file_read(path, 1 << 16, NULL);
	ASSERT(text);
	ASSERT_CONTAINS(text, "Deployment/http-server-v2: .spec.template.spec.containers"
			"[http-server].readinessProbe.httpGet.port: \"admin\" != \"http\"");
	free(text);
	ASSERT_EQ(compare_overlay("none", drop_object, "diff-missing.txt"), 1);
	str_fmt(path, sizeof(path), "%s/diff-missing.txt", tmpdir);
	text = file_read(path, 1 << 16, NULL);
	ASSERT(text);
	ASSERT_CONTAINS(text, "Service/http-retries: built, but kustomize renders no such object");
	free(text);
	/* a field the manifests set and the C forgot */
	ASSERT_EQ(compare_overlay("none", drop_field, "diff-field.txt"), 1);
	str_fmt(path, sizeof(path), "%s/diff-field.txt", tmpdir);
	text = file_read(path, 1 << 16, NULL);
	ASSERT(text);
	ASSERT_CONTAINS(text, "Deployment/conformd: .spec.strategy: not built, kustomize renders "
			"{\"type\": \"Recreate\"}");
	free(text);
}

TEST(run_labels_and_mesh)
{
	struct run_config c;
	struct kube_run r;
	char err[256];
	cJSON *arr, *d, *tmd, *sel;
	const cJSON *ann;

	run_config_defaults(&c);
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), "linkerd");
	str_copy(r.run_id, sizeof(r.run_id), "20261206-072100-3fa2");
	str_copy(r.namespace, sizeof(r.namespace), "conform-ci");
	arr = kube_obj_run(&r, &c, err, sizeof(err));
	ASSERT(arr);
	d = find(arr, "Deployment", "http-client");
	ASSERT(d);
	tmd = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "spec"), "template"), "metadata");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tmd,
		"labels"), KUBE_LABEL_RUN)->valuestring, "20261206-072100-3fa2");
	ann = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tmd,
		"annotations"), "linkerd.io/inject");
	ASSERT(cJSON_IsString(ann));
	ASSERT_STR_EQ(ann->valuestring, "enabled");
	/* never in a selector: a Deployment's selector is immutable */
	sel = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "spec"), "selector"), "matchLabels");
	ASSERT(!cJSON_GetObjectItemCaseSensitive(sel, KUBE_LABEL_RUN));
	/* the namespace goes everywhere, the collector's name included */
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d,
		"metadata"), "namespace")->valuestring, "conform-ci");
	{
		char *text = cJSON_PrintUnformatted(d);

		ASSERT_CONTAINS(text, "conformd.conform-ci.svc.cluster.local:9090");
		ASSERT_CONTAINS(text, "http-server-v1.conform-ci.svc.cluster.local:8080");
		free(text);
	}
	/* only the namespace of a non-linkerd run says inject: disabled */
	ASSERT(!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		find(arr, "Namespace", "conform-ci"), "metadata"), "annotations"));
	cJSON_Delete(arr);
}

/* the annotation key of the http-client pod template of the run c, or NULL */
static const char *pod_annotation(const struct kube_run *r, const struct run_config *c,
				  const char *key, char *buf, size_t len)
{
	char err[256];
	cJSON *arr = kube_obj_run(r, c, err, sizeof(err));
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(find(arr, "Deployment", "http-client"), "spec"),
		"template"), "metadata"), "annotations"), key);
	const char *v = NULL;

	if (cJSON_IsString(a)) {
		str_copy(buf, len, a->valuestring);
		v = buf;
	}
	cJSON_Delete(arr);
	return v;
}

/*
 * The inbound policy as the run needs it: all-authenticated when it judges
 * mtls.enforced, the cluster's own default when it does not, what the
 * config says when it says; the admin port (conformd's control channel)
 * skipped by the proxy whatever the policy.
 */
TEST(inbound_policy_per_run)
{
	static const char *const pol = "config.linkerd.io/default-inbound-policy";
	struct run_config c;
	struct kube_run r;
	char buf[64];

	run_config_defaults(&c);
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), "linkerd");
	ASSERT_STR_EQ(pod_annotation(&r, &c, pol, buf, sizeof(buf)), "all-authenticated");
	ASSERT_STR_EQ(pod_annotation(&r, &c, "config.linkerd.io/skip-inbound-ports", buf,
				     sizeof(buf)), "9901");
	/* no mtls.enforced in the run: the cluster's default stays */
	c.nchecks = 2;
	str_copy(c.checks[0], sizeof(c.checks[0]), "http.basic");
	str_copy(c.checks[1], sizeof(c.checks[1]), "mtls.identity");
	ASSERT(pod_annotation(&r, &c, pol, buf, sizeof(buf)) == NULL);
	ASSERT_STR_EQ(pod_annotation(&r, &c, "config.linkerd.io/skip-inbound-ports", buf,
				     sizeof(buf)), "9901");
	/* said in the config: as said */
	str_copy(c.m.inbound_policy, sizeof(c.m.inbound_policy), "deny");
	ASSERT_STR_EQ(pod_annotation(&r, &c, pol, buf, sizeof(buf)), "deny");
	run_config_defaults(&c);
	str_copy(c.m.inbound_policy, sizeof(c.m.inbound_policy), "cluster");
	ASSERT(pod_annotation(&r, &c, pol, buf, sizeof(buf)) == NULL);
	/* never without the mesh */
	str_copy(r.mesh, sizeof(r.mesh), "none");
	run_config_defaults(&c);
	ASSERT(pod_annotation(&r, &c, pol, buf, sizeof(buf)) == NULL);
	ASSERT(pod_annotation(&r, &c, "config.linkerd.io/skip-inbound-ports", buf,
			      sizeof(buf)) == NULL);
}

TEST(checks_and_errors)
{
	struct kube_run r;
	struct workload_spec s;
	char err[256], addr[128];
	cJSON *arr;

	kube_run_defaults(&r);
	ASSERT_EQ(kube_run_check(&r, err, sizeof(err)), 0);
	str_copy(r.namespace, sizeof(r.namespace), "Conform");
	ASSERT_EQ(kube_run_check(&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "namespace \"Conform\"");
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), "haproxy");
	ASSERT_EQ(kube_run_check(&r, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "expected none or linkerd");
	kube_run_defaults(&r);
	ASSERT_EQ(kube_route_address(&r, "split", addr, sizeof(addr)), 0);
	ASSERT_STR_EQ(addr, "http-server.conform.svc.cluster.local:8080");
	ASSERT_EQ(kube_route_address(&r, "nowhere", addr, sizeof(addr)), -1);
	memset(&s, 0, sizeof(s));
	str_copy(s.name, sizeof(s.name), "outbound-http-client");
	str_copy(s.role, sizeof(s.role), "sidecar");
	arr = cJSON_CreateArray();
	ASSERT_EQ(kube_obj_workload(&r, &s, arr, err, sizeof(err)), -1);
	ASSERT_CONTAINS(err, "does not run on kubernetes");
	ASSERT_EQ(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
}

/* emit docs as one YAML stream, load it with PyYAML, compare with the JSON */
static int yaml_round_trip(const cJSON *docs, const char *name)
{
	struct dynbuf b = DYNBUF_INIT(1 << 22);
	char y[512], j[512], cmd[2048];
	const cJSON *d;
	int rc = 0;

	cJSON_ArrayForEach(d, docs) {
		if (d != docs->child && dynbuf_adds(&b, "---\n"))
			rc = -1;
		if (kube_yaml_emit(d, &b))
			rc = -1;
	}
	str_fmt(y, sizeof(y), "%s/%s.yaml", tmpdir, name);
	str_fmt(j, sizeof(j), "%s/%s.json", tmpdir, name);
	if (rc || !b.buf || file_write_atomic(y, b.buf, b.len, 0600) || write_json(j, docs)) {
		dynbuf_release(&b);
		return -1;
	}
	dynbuf_release(&b);
	str_fmt(cmd, sizeof(cmd), "python3 -c 'import json, sys, yaml\n"
		"a = json.load(open(sys.argv[1]))\n"
		"b = list(yaml.safe_load_all(open(sys.argv[2])))\n"
		"[print(\"differs: %%r != %%r\" %% (x, y), file=sys.stderr) for x, y in zip(a, b) if x != y]\n"
		"sys.exit(0 if a == b else 1)' %s %s", j, y);
	return sh(cmd);
}

TEST(yaml_loads_back_the_same)
{
	struct run_config c;
	struct kube_run r;
	char err[256];
	cJSON *arr, *odd;

	run_config_defaults(&c);
	kube_run_defaults(&r);
	str_copy(r.mesh, sizeof(r.mesh), "linkerd");
	arr = kube_obj_all(&r, &c, err, sizeof(err));
	ASSERT(arr);
	ASSERT_EQ(yaml_round_trip(arr, "objects"), 0);
	cJSON_Delete(arr);
	/* strings YAML would read as something else, and odd shapes */
	odd = cJSON_Parse("[{\"a\":[\"yes\",\"No\",\"on\",\"off\",\"y\",\"null\",\"~\",\"\","
		"\"1\",\"0.5\",\"1e3\",\"0x1F\",\"-\",\"- x\",\"a: b\",\"#c\",\"x #c\","
		"\"multi\\nline\",\"tab\\there\",\"q\\\"uote\",\"\\\\back\",\"\u00fcber\","
		"\"{x}\",\"[x]\",\"*ref\",\"&anchor\",\"!tag\",\"%pct\",\"@at\",\"`bt\","
		"\" lead\",\"trail \",\"50m\",\"true\",\"2026-12-06\",\"12:30\",\"a:\",\"a:b\",\"http://x:1/y\",\"a::\"],"
		"\"yes\":1,\"k:v\":2,\"1\":true,\"\":null,\"n\":-2.5,\"big\":123456789012,"
		"\"e\":{},\"l\":[],\"ll\":[[1,[2,{}]],[],[{\"k\":[{}]}]],"
		"\"m\":[{\"x\":1,\"y\":{\"z\":[1,2]}}]},\"plain\",[],{},3,false]");
	ASSERT(odd);
	ASSERT_EQ(yaml_round_trip(odd, "odd"), 0);
	cJSON_Delete(odd);
}

int main(void)
{
	str_fmt(tmpdir, sizeof(tmpdir), "%s/conform-kobj-XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(same_as_kustomize_none);
	RUN(same_as_kustomize_linkerd);
	RUN(inbound_policy_per_run);
	RUN(comparison_says_no);
	RUN(run_labels_and_mesh);
	RUN(checks_and_errors);
	RUN(yaml_loads_back_the_same);
	{
		char cmd[512];

		str_fmt(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (!h_failed)
			sh(cmd);
		else
			fprintf(stderr, "kept %s\n", tmpdir);
	}
	TEST_MAIN_END();
}
