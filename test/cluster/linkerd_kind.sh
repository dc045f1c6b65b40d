#!/usr/bin/env bash
# linkerd_kind.sh - `make test-cluster`: conform on a real cluster with
# Linkerd, the steps of README "On Kubernetes". With KUBECONFIG pointing at a
# reachable cluster it uses that one (Linkerd and the Gateway API CRDs must
# be installed, the image loadable); otherwise it makes a kind cluster
# (conform-test), installs the Gateway API CRDs, Linkerd and viz with the
# linkerd CLI, loads the image with `kind load image-archive`, and deletes
# the cluster at the end. The scenario:
#   1. a healthy run on --mesh linkerd: every selected check passes (exit 0)
#   2. the same on --mesh none: the mesh checks fail (exit 1)
#   3. every row of Linkerd's isolation matrix (build/test/tools/faultmatrix
#      --mesh linkerd, lib/faults/matrix.c) in turn on one linkerd run: each
#      fault's "fails" checks fail while it is on (their failing-window
#      counts grow), and the run ends not conformant
# Without kind, linkerd or a cluster it says what is missing and exits 0
# (skipped), so `make test` stays the gate where no cluster can run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CONFORM="$PWD/$BUILD/bin/conform"
CLUSTER=${CONFORM_TEST_CLUSTER:-conform-test}
DURATION=${CONFORM_TEST_DURATION:-3m}
NS=${CONFORM_TEST_NAMESPACE:-conform}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conform-cluster.XXXXXX")
made_cluster=0
fails=0

skip() { echo "test-cluster: skipped: $*"; rm -rf "$tmp"; exit 0; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
note() { echo "--- $*"; }
cleanup() {
	if [ "$made_cluster" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
		kind delete cluster --name "$CLUSTER" >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

command -v kubectl >/dev/null || skip "no kubectl (make kube-deps)"
[ -x "$CONFORM" ] || { echo "FAIL: $CONFORM not built; run make"; exit 1; }

if [ -n "${KUBECONFIG:-}" ] && kubectl --request-timeout 5s get --raw /version >/dev/null 2>&1; then
	note "using the cluster KUBECONFIG points at ($(kubectl config current-context))"
else
	for t in kind linkerd docker; do
		command -v "$t" >/dev/null || skip "no reachable cluster and no $t to make one (needs kind, docker and the linkerd CLI; see README \"On Kubernetes\")"
	done
	docker info >/dev/null 2>&1 || skip "no reachable cluster and docker does not answer"
	note "a kind cluster $CLUSTER"
	kind create cluster --name "$CLUSTER" --wait 120s || { echo "FAIL: kind create cluster"; exit 1; }
	made_cluster=1
	export KUBECONFIG="$tmp/kubeconfig"
	kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG" || { echo "FAIL: kind get kubeconfig"; exit 1; }
	note "Gateway API CRDs, Linkerd and viz (linkerd install)"
	linkerd install --crds | kubectl apply -f - || { echo "FAIL: linkerd install --crds"; exit 1; }
	linkerd install | kubectl apply -f - || { echo "FAIL: linkerd install"; exit 1; }
	linkerd check || { echo "FAIL: linkerd check"; exit 1; }
	linkerd viz install | kubectl apply -f - || { echo "FAIL: linkerd viz install"; exit 1; }
	linkerd viz check || { echo "FAIL: linkerd viz check"; exit 1; }
	note "the image, without a registry: make image, kind load image-archive"
	make image || { echo "FAIL: make image"; exit 1; }
	kind load image-archive --name "$CLUSTER" "$BUILD/image/conform-image.tar" ||
		{ echo "FAIL: kind load image-archive"; exit 1; }
fi
export CONFORM_STATE_DIR="$tmp/state"

run() { # MESH EXPECTED_EXIT [CHECKS]: a conform run, its exit code checked
	local mesh=$1 want=$2 checks=${3:-}
	kubectl delete namespace "$NS" --wait=true --ignore-not-found >/dev/null
	"$CONFORM" run --platform kubernetes --mesh "$mesh" --namespace "$NS" \
		--duration "$DURATION" ${checks:+--checks "$checks"} \
		--junit "$tmp/junit-$mesh.xml" >"$tmp/run-$mesh.out" 2>&1
	rc=$?
	cat "$tmp/run-$mesh.out"
	[ "$rc" = "$want" ] || fail "conform run --mesh $mesh: exit $rc, want $want"
}

note "1. a healthy run on Linkerd: green"
run linkerd 0

note "2. --mesh none: the mesh checks red"
run none 1
for c in mtls.identity mtls.enforced; do
	grep -E "^  $c +fail" "$tmp/run-none.out" >/dev/null || fail "--mesh none: $c did not fail"
done

note "3. every fault of Linkerd's isolation matrix caught, one after another on one run"
MATRIX="$PWD/$BUILD/test/tools/faultmatrix"
[ -x "$MATRIX" ] || make "$BUILD/test/tools/faultmatrix" >/dev/null || fail "build faultmatrix"
W=10
status_json() { "$CONFORM" status --json 2>/dev/null; }
fail_counts() { status_json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({c["id"]: c["windows"]["fail"] for c in s["checks"]}))'; }
fails_grew() { # CHECKS BEFORE_JSON
	status_json | python3 -c '
import json, sys
s = json.load(sys.stdin); before = json.loads(sys.argv[2])
f = {c["id"]: c["windows"]["fail"] for c in s["checks"]}
sys.exit(0 if all(f.get(c, 0) > before.get(c, 0) for c in sys.argv[1].split(",")) else 1)' "$1" "$2"
}
kubectl delete namespace "$NS" --wait=true --ignore-not-found >/dev/null
"$CONFORM" start --platform kubernetes --mesh linkerd --namespace "$NS" --duration 0 \
	--window ${W}s || fail "start for the faults"
sleep $((6 * W))
while IFS='|' read -r kind target args must may; do
	[ -n "$kind" ] || continue
	before=$(fail_counts) || { fail "status during the faults"; break; }
	forarg="--for $((4 * W))s"
	case $kind in kill|sidecar-kill) forarg= ;; esac
	note "$kind on $target: $must must fail${may:+ ($may may)}"
	# shellcheck disable=SC2086 # args and forarg are lists of words
	"$CONFORM" fault "$kind" --target "$target" $args $forarg || { fail "fault $kind"; continue; }
	caught=0
	for _ in $(seq 1 $((8 * W / 5))); do
		sleep 5
		if fails_grew "$must" "$before"; then caught=1; break; fi
	done
	[ $caught = 1 ] || fail "$kind on $target: $must did not fail"
	sleep $((6 * W))   # the fault ends (--for) or its pod is back; the checks recover
done < <("$MATRIX" --mesh linkerd)
"$CONFORM" stop >"$tmp/fault.out" 2>&1
rc=$?
cat "$tmp/fault.out"
[ "$rc" = 1 ] || fail "a run with faults: exit $rc, want 1"

kubectl delete namespace "$NS" --ignore-not-found >/dev/null
if [ "$fails" -gt 0 ]; then
	echo "test-cluster: $fails failure(s)"
	exit 1
fi
echo "test-cluster: ok"
