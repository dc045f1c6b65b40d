/*
 * kubecheck.c - drives lib/platform/kubernetes/kubeapi from a shell script
 * (test/e2e/kube_double.sh): one call per run, the answer on stdout, the
 * client's error text on stderr.
 *   kubecheck (--in-cluster ROOT | --server URL [--token T] [--ca F | --insecure]) CMD
 *   CMD: get PATH | list PATH [FIELD_SELECTOR] | apply PATH FILE | delete PATH
 *        | logs NS POD N | why NS POD
 * Exit 0: done; 1: the API call failed; 2: usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "platform/kubernetes/kubeapi.h"
#include "base/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: kubecheck (--in-cluster ROOT | --server URL [--token T] "
		"[--ca F | --insecure]) get PATH | list PATH [FIELDSEL] | apply PATH FILE | "
		"delete PATH | logs NS POD N | why NS POD\n");
	return 2;
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);

	if (s)
		printf("%s\n", s);
	free(s);
}

int main(int argc, char **argv)
{
	struct kube_config c;
	struct kube_client *k = NULL;
	struct kube_error e;
	const char *root = NULL, *srv = NULL, *token = NULL, *ca = NULL, *cmd;
	char err[512], rv[64], why[1024];
	int i, insecure = 0, rc = 1;
	cJSON *out = NULL, *in = NULL;
	char *text = NULL;

	memset(&e, 0, sizeof(e));
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--insecure"))
			insecure = 1;
		else if (i + 1 >= argc)
			return usage();
		else if (!strcmp(argv[i], "--in-cluster"))
			root = argv[++i];
		else if (!strcmp(argv[i], "--server"))
			srv = argv[++i];
		else if (!strcmp(argv[i], "--token"))
			token = argv[++i];
		else if (!strcmp(argv[i], "--ca"))
			ca = argv[++i];
		else
			return usage();
	}
	if (i >= argc || (!root == !srv))
		return usage();
	cmd = argv[i++];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (root) {
		if (kube_config_in_cluster(&c, root, err, sizeof(err))) {
			fprintf(stderr, "kubecheck: %s\n", err);
			goto out;
		}
	} else if (kube_config_explicit(&c, srv, ca, insecure, token)) {
		fprintf(stderr, "kubecheck: bad server or token\n");
		goto out;
	}
	k = kube_client_new(&c);
	if (!k)
		goto out;
	if (!strcmp(cmd, "get") && argc - i == 1) {
		if (kube_get(k, argv[i], &out, &e))
			goto fail;
		print_json(out);
	} else if (!strcmp(cmd, "list") && (argc - i == 1 || argc - i == 2)) {
		const cJSON *it;

		if (kube_list(k, argv[i], NULL, argc - i == 2 ? argv[i + 1] : NULL, &out, rv,
				sizeof(rv), &e))
			goto fail;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(out, "items")) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name");

			printf("%s\n", cJSON_IsString(n) ? n->valuestring : "?");
		}
		printf("resourceVersion %s\n", rv);
	} else if (!strcmp(cmd, "apply") && argc - i == 2) {
		text = file_read(argv[i + 1], 1 << 20, NULL);
		in = text ? cJSON_Parse(text) : NULL;
		if (!in) {
			fprintf(stderr, "kubecheck: %s is not a JSON file\n", argv[i + 1]);
			goto out;
		}
		if (kube_apply(k, argv[i], in, 1, &out, &e))
			goto fail;
		print_json(out);
	} else if (!strcmp(cmd, "delete") && argc - i == 1) {
		if (kube_delete(k, argv[i], "Background", &e))
			goto fail;
	} else if (!strcmp(cmd, "logs") && argc - i == 3) {
		int64_t n;

		if (parse_i64(argv[i + 2], 1, 10000, &n))
			return usage();
		if (kube_logs(k, argv[i], argv[i + 1], NULL, (int)n, 0, &text, &e))
			goto fail;
		fputs(text, stdout);
	} else if (!strcmp(cmd, "why") && argc - i == 2) {
		struct kube_pod_status st;

		if (kube_pod_diagnose(k, argv[i], argv[i + 1], &st, why, sizeof(why), &e))
			goto fail;
		printf("phase %s restarts %ld\n%s\n", st.phase, st.restarts, why);
	} else {
		rc = usage();
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "kubecheck: %s\n", e.text);
out:
	cJSON_Delete(out);
	cJSON_Delete(in);
	free(text);
	kube_client_free(k);
	curl_global_cleanup();
	return rc;
}
