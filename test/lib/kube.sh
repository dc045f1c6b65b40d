# shellcheck shell=bash disable=SC2034
# kube.sh - what the e2e scripts against the API server double
# (test/tools/kubedouble) share: the tools, a private directory removed at
# exit (kept on failure or with KEEP=1), the double started on a free port,
# a kubeconfig that points at it, and Linkerd's control plane as the adapter
# reads it. Source it, then call kube_e2e_init.
#
# Processes a script starts are ended at exit when their PIDs are in the
# variables named by KUBE_PIDS (the double's, dpid, always is).

# kube_e2e_init NAME: BUILD, DOUBLE, CHECK, APICALL, CONFORM, CONFORMD and
# tmp (a new directory named after NAME); fail and note; every tool built
set -u
kube_e2e_init() {
	cd "$(dirname "$0")/../.." || exit 1
	BUILD=${BUILD:-build}
	DOUBLE="$BUILD/test/tools/kubedouble"
	CHECK="$BUILD/test/tools/kubecheck"
	APICALL="$BUILD/test/tools/apicall"
	CONFORM="$PWD/$BUILD/bin/conform"
	CONFORMD="$PWD/$BUILD/bin/conformd"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/conform-$1.XXXXXX")
	dpid=""
	KUBE_PIDS="${KUBE_PIDS:-} dpid"
	trap kube_cleanup EXIT
	trap 'exit 143' TERM
	local b
	for b in "$DOUBLE" "$CHECK" "$APICALL" "$CONFORM" "$CONFORMD"; do
		[ -x "$b" ] || { echo "FAIL: $b not built; run make"; exit 1; }
	done
}

kube_cleanup() {
	local v p
	for v in $KUBE_PIDS; do
		p=${!v:-}
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}

fail() { echo "FAIL: $*"; KEEP=1; [ -n "${log:-}" ] && tail -n 30 "$log"; exit 1; }
note() { echo "--- $*"; }

# kube_need TOOL...: a tool make deps / make kube-deps installs is there
kube_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || fail "$t is needed (make deps, make kube-deps)"
	done
}

# kube_double_start tls|plain TOKEN [ARGS...]: the double with an admin
# TOKEN (over TLS with a certificate of its own in $tmp/tls when tls), its
# log in $tmp/double.log; sets dpid, port, url, and kc/ctl (kubecheck and the
# double's control routes, as the admin)
kube_double_start() {
	local mode=$1 tls=()
	KUBE_TOKEN=$2
	shift 2
	if [ "$mode" = tls ]; then
		kube_need openssl
		mkdir -p "$tmp/tls"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$tmp/tls/key.pem" -out "$tmp/tls/cert.pem" -days 1 -subj /CN=kubedouble \
			-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl req"
		tls=(--tls-cert "$tmp/tls/cert.pem" --tls-key "$tmp/tls/key.pem")
	fi
	"$DOUBLE" --port-file "$tmp/port" --token "$KUBE_TOKEN" ${tls[@]+"${tls[@]}"} "$@" \
		2>"$tmp/double.log" &
	dpid=$!
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	[ -s "$tmp/port" ] || fail "kubedouble wrote no port"
	port=$(cat "$tmp/port")
	if [ "$mode" = tls ]; then
		url="https://127.0.0.1:$port"
		KUBE_CA=(--ca "$tmp/tls/cert.pem")
		KUBE_CURL_CA=(--cacert "$tmp/tls/cert.pem")
	else
		url="http://127.0.0.1:$port"
		KUBE_CA=()
		KUBE_CURL_CA=()
	fi
}
kc() { "$CHECK" --server "$url" --token "$KUBE_TOKEN" ${KUBE_CA[@]+"${KUBE_CA[@]}"} "$@"; }
ctl() { curl -fsS ${KUBE_CURL_CA[@]+"${KUBE_CURL_CA[@]}"} -X POST "$url/_double/$1" -o /dev/null; }

# kube_kubeconfig FILE SERVER TOKEN [NAMESPACE]: a kubeconfig for kubectl
# (the CA of a TLS double)
kube_kubeconfig() {
	local ns=""
	[ -n "${4:-}" ] && ns=", namespace: $4"
	cat >"$1" <<KCEOF
apiVersion: v1
kind: Config
clusters:
- name: double
  cluster:
    server: $2
    certificate-authority: $tmp/tls/cert.pem
contexts:
- name: double
  context: {cluster: double, user: conform$ns}
current-context: double
users:
- name: conform
  user: {token: $3}
KCEOF
}

# kube_linkerd_218: Linkerd 2.18's control plane as the adapter finds it
# (the namespace and linkerd-config as its chart writes it)
kube_linkerd_218() {
	printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"linkerd"}}' >"$tmp/l5dns.json"
	kc apply /api/v1/namespaces/linkerd "$tmp/l5dns.json" >/dev/null || fail "namespace linkerd"
	cat >"$tmp/l5dcfg.json" <<'L5EOF'
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"linkerd-config","namespace":"linkerd"},
 "data":{"values":"clusterDomain: cluster.local\nidentityTrustDomain: cluster.local\nlinkerdVersion: stable-2.18.0\n"}}
L5EOF
	kc apply /api/v1/namespaces/linkerd/configmaps/linkerd-config "$tmp/l5dcfg.json" >/dev/null ||
		fail "linkerd-config"
}

# kube_conformd_as_pod TOKEN RUNDIR: conformd as its pod runs it, once the
# CLI has applied the Secret conform-run (waited for; its token and run.json
# as --seed), authenticated by TOKEN, its volume RUNDIR; sets cpid and aport
# and points the double's service proxy for conformd:api at it
kube_conformd_as_pod() {
	local token=$1 rundir=$2
	for _ in $(seq 150); do
		kc get /api/v1/namespaces/conform/secrets/conform-run >"$tmp/secret" 2>/dev/null && break
		sleep 0.2
	done
	[ -s "$tmp/secret" ] || fail "no Secret conform-run was applied: $(cat "$tmp/err")"
	mkdir -p "$tmp/seed"
	python3 - "$tmp/secret" "$tmp/seed" <<'PYEOF' || fail "the Secret has no token and run.json"
import base64, json, sys
s = json.load(open(sys.argv[1]))
assert "stringData" not in s, "stringData read back"
for k in ("token", "run.json"):
    open(sys.argv[2] + "/" + k, "wb").write(base64.b64decode(s["data"][k]))
PYEOF
	(
		export CONFORM_KUBE_SERVER="$url" CONFORM_KUBE_TOKEN="$token"
		export CONFORM_KUBE_CA="$tmp/tls/cert.pem" CONFORM_KUBE_NAMESPACE=conform
		CONFORM_TOKEN=$(cat "$tmp/seed/token")
		export CONFORM_TOKEN
		exec "$CONFORMD" --run-dir "$rundir" --seed "$tmp/seed" --api-addr 127.0.0.1:0 \
			--collector-addr 127.0.0.1:0 >"$tmp/conformd.log" 2>&1
	) &
	cpid=$!
	aport=""
	for _ in $(seq 100); do
		aport=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['api_port'])" \
			"$rundir/run.json" 2>/dev/null)
		[ -n "$aport" ] && [ "$aport" != 0 ] && break
		sleep 0.2
	done
	[ -n "$aport" ] && [ "$aport" != 0 ] ||
		fail "conformd did not serve its API: $(tail -5 "$tmp/conformd.log")"
	ctl "service-backend?namespace=conform&name=conformd&port=api&addr=127.0.0.1:$aport" ||
		fail "service-backend"
}
