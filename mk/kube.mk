# ---- kube (lib/platform/kubernetes/, test/tools/kubedouble.c, kubecheck.c) ----
# The Kubernetes API client is compiled with the rest of lib/ (lib/platform/
# kubernetes/). Its tests run a
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
	  { echo "conform: cannot install kubectl (Debian package kubernetes-client)" >&2; exit 3; }; }
test unit: kube-deps
# ---- end kube ----
