# ---- kube (lib/platform/kubernetes/, test/tools/kubedouble.c, kubecheck.c) ----
# The Kubernetes API client is compiled with the rest of lib/. Its tests run a
# protocol double of the API server (test/tools/kubedouble) and real kubectl
# against it: test/e2e/kube_double.sh. kubectl comes from Debian's
# kubernetes-client when no kubectl is installed yet (a newer one is kept).
.PHONY: kube-deps
kube-deps:
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "conform: installing kubernetes-client (kubectl) for the kube tests" >&2; \
	  if [ "$$(id -u)" = 0 ]; then S=; else S=sudo; fi; \
	  $$S apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends kubernetes-client >/dev/null 2>&1 || \
	  { $$S apt-get update -q >/dev/null && $$S apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends kubernetes-client; } || \
	  echo "conform: kubectl missing; the kubectl part of e2e/kube_double is skipped" >&2; }
test unit: kube-deps
# lib/*/*.c is compiled by the Makefile; this folder is one level deeper
# ($^ drops duplicates should the Makefile's wildcard reach it one day).
KUBE_SRCS := $(sort $(wildcard lib/platform/kubernetes/*.c))
$(LIBA): $(call obj,$(KUBE_SRCS))
# the fuzz build (make fuzz, fuzz-smoke) needs the same objects in its library
$(FUZZ_LIBA): $(patsubst %.c,$(FUZZ)/obj/%.o,$(KUBE_SRCS))
# ---- end kube ----
