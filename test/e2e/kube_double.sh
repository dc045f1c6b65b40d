#!/usr/bin/env bash
# kube_double.sh - the Kubernetes API client and the API server double over
# TLS: the client's in-cluster configuration (a service account directory,
# KUBERNETES_SERVICE_HOST/PORT, the CA checked), a wrong CA refused as
# "cluster unreachable", and real kubectl against the double through a
# generated kubeconfig: get, server-side apply (twice), a Forbidden answer
# kubectl prints as the API server's, and an unreachable server.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DOUBLE="$BUILD/test/tools/kubedouble"
CHECK="$BUILD/test/tools/kubecheck"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conform-kube.XXXXXX")
pid=""
fails=0

cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ "$fails" -eq 0 ]; then rm -rf "$tmp"; else echo "kept: $tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
note() { echo "--- $*"; }

[ -x "$DOUBLE" ] && [ -x "$CHECK" ] || { echo "FAIL: build $DOUBLE and $CHECK first"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl is needed for the TLS certificates"; exit 1; }

# a self-signed certificate for 127.0.0.1 is the server's and its own CA
mkcert() { # DIR
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$1/key.pem" -out "$1/cert.pem" -days 1 -subj /CN=kubedouble \
		-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
mkcert "$tmp/tls" || { echo "FAIL: openssl req"; exit 1; }
mkcert "$tmp/other" || { echo "FAIL: openssl req"; exit 1; }

"$DOUBLE" --port-file "$tmp/port" --token t0ken-for-tests --tls-cert "$tmp/tls/cert.pem" \
	--tls-key "$tmp/tls/key.pem" 2>"$tmp/double.log" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "FAIL: kubedouble wrote no port"; exit 1; }
port=$(cat "$tmp/port")
url="https://127.0.0.1:$port"

note "in-cluster configuration: service account files, CA checked"
sa="$tmp/sa"
mkdir -p "$sa"
printf 't0ken-for-tests\n' >"$sa/token"
cp "$tmp/tls/cert.pem" "$sa/ca.crt"
printf 'conform' >"$sa/namespace"
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$port
cat >"$tmp/ns.json" <<'EOF'
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"conform"}}
EOF
"$CHECK" --in-cluster "$sa" apply /api/v1/namespaces/conform "$tmp/ns.json" >"$tmp/out" 2>"$tmp/err" ||
	fail "in-cluster apply of the namespace: $(cat "$tmp/err")"
"$CHECK" --in-cluster "$sa" list /api/v1/namespaces >"$tmp/out" 2>"$tmp/err" ||
	fail "in-cluster list: $(cat "$tmp/err")"
grep -qx conform "$tmp/out" || fail "namespace conform not listed: $(cat "$tmp/out")"
grep -qx default "$tmp/out" || fail "namespace default not listed: $(cat "$tmp/out")"

note "a server whose certificate the CA did not sign: unreachable, said so"
cp "$tmp/other/cert.pem" "$sa/ca.crt"
start=$SECONDS
if "$CHECK" --in-cluster "$sa" list /api/v1/namespaces >"$tmp/out" 2>"$tmp/err"; then
	fail "a wrong CA was accepted"
fi
grep -q "cluster unreachable at $url" "$tmp/err" || fail "wrong-CA error: $(cat "$tmp/err")"
grep -qi "certificate" "$tmp/err" || fail "wrong-CA error does not say certificate: $(cat "$tmp/err")"
[ $((SECONDS - start)) -le 10 ] || fail "wrong-CA error took $((SECONDS - start)) s"
cp "$tmp/tls/cert.pem" "$sa/ca.crt"

note "a name that does not resolve: unreachable, within seconds"
start=$SECONDS
if "$CHECK" --server https://no-such-host.invalid:443 --token x list /api/v1/pods 2>"$tmp/err"; then
	fail "an unresolvable server answered"
fi
grep -q "cluster unreachable at https://no-such-host.invalid:443: .*resolve" "$tmp/err" ||
	fail "unresolvable server error: $(cat "$tmp/err")"
[ $((SECONDS - start)) -le 10 ] || fail "unresolvable server error took $((SECONDS - start)) s"

note "no service account: not in a cluster"
if KUBERNETES_SERVICE_HOST= "$CHECK" --in-cluster "$sa" list /api/v1/namespaces 2>"$tmp/err"; then
	fail "in-cluster without KUBERNETES_SERVICE_HOST worked"
fi
grep -q "KUBERNETES_SERVICE_HOST" "$tmp/err" || fail "not-in-cluster error: $(cat "$tmp/err")"
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

# make test installs kubectl (Debian's kubernetes-client): its absence is a failure
command -v kubectl >/dev/null || { echo "FAIL: no kubectl (make kube-deps installs it)"; exit 1; }

note "kubectl against the double: $(kubectl version --client 2>/dev/null | head -n 1)"
kubeconfig() { # FILE SERVER
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: double
  cluster:
    server: $2
    certificate-authority: $tmp/tls/cert.pem
contexts:
- name: double
  context: {cluster: double, user: conform, namespace: conform}
current-context: double
users:
- name: conform
  user: {token: t0ken-for-tests}
EOF
}
kubeconfig "$tmp/kubeconfig" "$url"
export KUBECONFIG="$tmp/kubeconfig" HOME="$tmp"   # kubectl's discovery cache stays in $tmp
k() { timeout 30 kubectl --request-timeout=10s "$@"; }

k get pods -n conform >"$tmp/out" 2>"$tmp/err" || fail "kubectl get pods: $(cat "$tmp/err")"
grep -q "No resources found in conform namespace" "$tmp/out" "$tmp/err" ||
	fail "kubectl get pods said: $(cat "$tmp/out" "$tmp/err")"

cat >"$tmp/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: conform-state
  namespace: conform
data:
  phase: deployed
EOF
for n in 1 2; do
	k apply --server-side --validate=false -f "$tmp/cm.yaml" >"$tmp/out" 2>"$tmp/err" ||
		fail "kubectl apply --server-side ($n): $(cat "$tmp/err")"
	grep -q "configmap/conform-state serverside-applied" "$tmp/out" ||
		fail "kubectl apply ($n) said: $(cat "$tmp/out")"
done
"$CHECK" --server "$url" --token t0ken-for-tests --ca "$tmp/tls/cert.pem" \
	get /api/v1/namespaces/conform/configmaps/conform-state >"$tmp/out" 2>"$tmp/err" ||
	fail "get after kubectl apply: $(cat "$tmp/err")"
grep -q '"phase":[[:space:]]*"deployed"' "$tmp/out" || fail "applied data missing: $(cat "$tmp/out")"
k get configmaps -n conform >"$tmp/out" 2>"$tmp/err" || fail "kubectl get cm: $(cat "$tmp/err")"
grep -q "^conform-state" "$tmp/out" || fail "kubectl get cm: $(cat "$tmp/out")"

note "custom resources (Linkerd policy, Gateway API): apply, get, delete, NotFound"
cat >"$tmp/policy.yaml" <<'EOF'
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: echo-http
  namespace: conform
spec:
  podSelector:
    matchLabels: {app: echo}
  port: http
  proxyProtocol: HTTP/1
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: split
  namespace: conform
spec:
  parentRefs: [{group: core, kind: Service, name: http-server, port: 8080}]
  rules:
  - backendRefs: [{name: http-server, port: 8080, weight: 90}, {name: http-server-v2, port: 8080, weight: 10}]
EOF
k apply --server-side --validate=false -f "$tmp/policy.yaml" >"$tmp/out" 2>"$tmp/err" ||
	fail "kubectl apply of custom resources: $(cat "$tmp/err")"
grep -q "server.policy.linkerd.io/echo-http serverside-applied" "$tmp/out" ||
	fail "kubectl apply Server said: $(cat "$tmp/out")"
k get servers.policy.linkerd.io,httproutes.gateway.networking.k8s.io -n conform >"$tmp/out" 2>"$tmp/err" ||
	fail "kubectl get custom resources: $(cat "$tmp/err")"
grep -q "httproute.gateway.networking.k8s.io/split" "$tmp/out" || fail "kubectl get said: $(cat "$tmp/out")"
k delete httproutes.gateway.networking.k8s.io split -n conform >"$tmp/out" 2>"$tmp/err" ||
	fail "kubectl delete: $(cat "$tmp/err")"
if k get httproutes.gateway.networking.k8s.io split -n conform >"$tmp/out" 2>"$tmp/err"; then
	fail "deleted HTTPRoute still there"
fi
grep -q 'Error from server (NotFound): httproutes.gateway.networking.k8s.io "split" not found' "$tmp/err" ||
	fail "kubectl get deleted said: $(cat "$tmp/err")"

note "a denied permission: kubectl prints the API server's Forbidden message"
curl -s -X POST "$url/_double/deny?verb=list&resource=pods&namespace=conform" \
	--cacert "$tmp/tls/cert.pem" >/dev/null || fail "deny control call"
if k get pods -n conform >"$tmp/out" 2>"$tmp/err"; then fail "kubectl get pods was not denied"; fi
grep -q 'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:conform:conform" cannot list resource "pods" in API group "" in the namespace "conform"' "$tmp/err" ||
	fail "kubectl forbidden said: $(cat "$tmp/err")"

note "an unreachable server: kubectl's own error"
kubeconfig "$tmp/kubeconfig.off" "https://127.0.0.1:1"
if KUBECONFIG="$tmp/kubeconfig.off" k get pods -n conform >"$tmp/out" 2>"$tmp/err"; then
	fail "kubectl against a closed port succeeded"
fi
grep -q "The connection to the server 127.0.0.1:1 was refused" "$tmp/err" ||
	fail "kubectl unreachable said: $(cat "$tmp/err")"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -lt 128 ] || fail "kubedouble died from signal $((rc - 128))"
[ "$rc" -eq 0 ] || fail "kubedouble exited $rc"
[ "$fails" -eq 0 ] || { tail -n 20 "$tmp/double.log"; exit 1; }
echo "ok"
