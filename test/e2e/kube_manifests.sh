#!/usr/bin/env bash
# kube_manifests.sh - `conform manifests` needs no cluster and prints what a
# run applies: every object validates offline (test/tools/validate, as the
# kustomize overlays do) and keeps conform's rules, the flags shape it
# (--mesh, --namespace, --image) and bad ones are refused with exit 2; then
# real kubectl applies the stream server-side to the API server double
# (through a kubeconfig that points at it, over TLS), twice, and gets the
# objects back; a denied permission makes kubectl fail with the API
# server's Forbidden message.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DOUBLE="$BUILD/test/tools/kubedouble"
V=test/tools/validate
pid=""

stop_double() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=""
	fi
}
trap 'stop_double; e2e_cleanup' EXIT

command -v kubectl >/dev/null || fail "no kubectl (make kube-deps installs it)"
command -v node >/dev/null || fail "node not found; run make deps"
command -v openssl >/dev/null || fail "openssl is needed for the TLS certificates"
[ -d "$V/node_modules/kubernetes-models" ] || fail "npm validators missing; run make manifests-deps"
[ -x "$DOUBLE" ] || fail "build $DOUBLE first"
export NODE_NO_WARNINGS=1

note "offline: every object validates and keeps conform's rules"
KUBECONFIG="$E2E_TMP/no-such-kubeconfig" "$CONFORM" manifests --mesh none >"$E2E_TMP/none.yaml" ||
	fail "conform manifests --mesh none"
"$CONFORM" manifests --platform kubernetes --mesh linkerd >"$E2E_TMP/linkerd.yaml" ||
	fail "conform manifests --mesh linkerd"
for m in none linkerd; do
	node "$V/validate.mjs" --namespace conform "$E2E_TMP/$m.yaml" >"$E2E_TMP/$m.val" ||
		{ cat "$E2E_TMP/$m.val"; fail "$m: schema validation failed"; }
	tail -n 1 "$E2E_TMP/$m.val"
done
# the mesh's routes and policy are not the platform's: rules that need them
# are checked on the kustomize overlay (manifests_validate.sh); here the pods
node "$V/rules.mjs" --mesh none "$E2E_TMP/none.yaml" || fail "none: conform's rules are broken (above)"
count() { grep -c "^kind: $2\$" "$E2E_TMP/$1.yaml"; }
[ "$(count linkerd Deployment)" -eq 6 ] || fail "linkerd: want 6 Deployments (conformd + 5 workloads)"
[ "$(count none Deployment)" -eq 5 ] || fail "none: want 5 Deployments (no http-server-v2)"
[ "$(count linkerd Role)" -eq 2 ] || fail "linkerd: want the Roles conformd and conformd-linkerd"
[ "$(grep -c 'linkerd.io/inject: enabled' "$E2E_TMP/linkerd.yaml")" -eq 5 ] ||
	fail "linkerd: want linkerd.io/inject on the 5 workload pod templates exactly"
grep -q 'linkerd.io/inject: enabled' "$E2E_TMP/none.yaml" && fail "none: something is injected"

note "flags: namespace and image everywhere, bad values refused"
"$CONFORM" manifests --mesh none --namespace conform-ci --image registry.example/conform:9 \
	>"$E2E_TMP/ci.yaml" || fail "conform manifests --namespace --image"
grep -q 'namespace: conform$' "$E2E_TMP/ci.yaml" && fail "--namespace: namespace conform left in"
grep -q 'conformd.conform-ci.svc.cluster.local:9090' "$E2E_TMP/ci.yaml" || fail "--namespace: collector address"
[ "$(grep -c 'image: registry.example/conform:9' "$E2E_TMP/ci.yaml")" -eq 5 ] || fail "--image: not on every pod"
node "$V/validate.mjs" --namespace conform-ci "$E2E_TMP/ci.yaml" >/dev/null || fail "--namespace: invalid"
for bad in "--mesh haproxy" "--platform local" "--namespace Conform" "--image" "--mesh nope"; do
	# shellcheck disable=SC2086
	"$CONFORM" manifests $bad >"$E2E_TMP/out" 2>"$E2E_TMP/err"; rc=$?
	[ $rc -eq 2 ] || fail "manifests $bad: exit $rc, want 2"
	[ -s "$E2E_TMP/out" ] && fail "manifests $bad printed objects"
	echo "refused $bad: $(head -n 1 "$E2E_TMP/err")"
done

note "kubectl applies the stream to the API server double, server-side, twice"
mkdir -p "$E2E_TMP/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$E2E_TMP/tls/key.pem" -out "$E2E_TMP/tls/cert.pem" -days 1 -subj /CN=kubedouble \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl req"
"$DOUBLE" --port-file "$E2E_TMP/port" --token t0ken --tls-cert "$E2E_TMP/tls/cert.pem" \
	--tls-key "$E2E_TMP/tls/key.pem" 2>"$E2E_TMP/double.log" &
pid=$!
wait_for 5 "the double's port" test -s "$E2E_TMP/port"
cat >"$E2E_TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: double
  cluster:
    server: https://127.0.0.1:$(cat "$E2E_TMP/port")
    certificate-authority: $E2E_TMP/tls/cert.pem
contexts:
- name: double
  context: {cluster: double, user: conform, namespace: conform}
current-context: double
users:
- name: conform
  user: {token: t0ken}
EOF
export KUBECONFIG="$E2E_TMP/kubeconfig" HOME="$E2E_TMP"
k() { timeout 60 kubectl --request-timeout=10s "$@"; }
for n in 1 2; do
	k apply --server-side --validate=false -f "$E2E_TMP/linkerd.yaml" >"$E2E_TMP/out" 2>"$E2E_TMP/err" ||
		fail "kubectl apply --server-side ($n): $(cat "$E2E_TMP/err")"
	want=$(grep -c '^kind: ' "$E2E_TMP/linkerd.yaml")
	got=$(grep -c 'serverside-applied$' "$E2E_TMP/out")
	[ "$got" -eq "$want" ] || fail "apply ($n): $got of $want objects applied: $(cat "$E2E_TMP/out")"
done
echo "applied $want objects twice"
k get deployments -n conform -o name >"$E2E_TMP/out" 2>"$E2E_TMP/err" || fail "get deployments: $(cat "$E2E_TMP/err")"
for d in conformd http-server http-server-v2 grpc-server http-client grpc-client; do
	grep -qx "deployment.apps/$d" "$E2E_TMP/out" || fail "deployment $d not there: $(cat "$E2E_TMP/out")"
done
k get rolebinding conformd-linkerd -n conform -o jsonpath='{.subjects[0].name}' >"$E2E_TMP/out" 2>&1 ||
	fail "get rolebinding: $(cat "$E2E_TMP/out")"
[ "$(cat "$E2E_TMP/out")" = conformd ] || fail "rolebinding subject: $(cat "$E2E_TMP/out")"

note "a denied permission: kubectl fails with the API server's message"
curl -sf -k -X POST "https://127.0.0.1:$(cat "$E2E_TMP/port")/_double/deny?verb=patch&resource=deployments&group=apps" >/dev/null ||
	fail "deny control call"
if k apply --server-side --validate=false -f "$E2E_TMP/linkerd.yaml" >"$E2E_TMP/out" 2>"$E2E_TMP/err"; then
	fail "apply with patch on deployments denied succeeded"
fi
grep -q 'cannot patch resource "deployments" in API group "apps"' "$E2E_TMP/err" ||
	fail "forbidden said: $(cat "$E2E_TMP/err")"
stop_double
echo "PASS"
