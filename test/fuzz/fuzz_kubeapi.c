/*
 * fuzz_kubeapi.c - libFuzzer target for what the Kubernetes API client reads
 * from the API server outside a watch: error answers (Status or anything
 * else) and pod/event objects. The first byte picks: even, the rest is an
 * error body for kube_error_from_answer with a status code from byte 1;
 * odd, the rest is "<pod JSON>\0<event list JSON>" for kube_pod_status_read
 * and kube_pod_why. Every text must stay NUL-terminated within its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "platform/kubernetes/kubeapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, why[256];
	struct kube_error e;
	struct kube_pod_status st;
	cJSON *pod, *ev;
	size_t n;
	int i;

	if (size < 2)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (!(data[0] & 1)) {
		kube_error_from_answer(&e, 100 + data[1] * 2, s + 1, "GET", "https://x/api/v1");
		FUZZ_CHECK(memchr(e.text, '\0', sizeof(e.text)) != NULL);
		FUZZ_CHECK(memchr(e.causes, '\0', sizeof(e.causes)) != NULL);
		FUZZ_CHECK(e.text[0] != '\0');
	} else {
		n = strlen(s);
		pod = cJSON_Parse(s);
		ev = n + 1 < size - 1 ? cJSON_Parse(s + n + 1) : NULL;
		if (kube_pod_status_read(pod, &st) == 0) {
			FUZZ_CHECK(st.ncontainers >= 0 && st.ncontainers <= KUBE_POD_CONTAINERS);
			for (i = 0; i < st.ncontainers; i++)
				FUZZ_CHECK(memchr(st.c[i].reason, '\0', sizeof(st.c[i].reason)) != NULL);
		}
		kube_pod_why(pod, ev, why, sizeof(why));
		FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
		cJSON_Delete(pod);
		cJSON_Delete(ev);
	}
	free(s);
	return 0;
}
