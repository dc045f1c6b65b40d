#!/usr/bin/env bash
# conformd_tcp.sh - conformd reachable over TCP, as in a cluster: started with
# --api-addr 127.0.0.1:0 and --collector-addr 127.0.0.1:0 it writes the bound
# API port into run.json (api_port), answers /healthz without a token, refuses
# /v1/status without the run's token or with a wrong one (401) and serves it
# with "Authorization: Bearer" or "x-conform-token"; the CLI's client reaches
# it both on the unix socket and at an HTTP base URL with the token; a
# workload reports to the collector given by name (localhost:PORT) and its
# batches land in the store; the local platform refuses a non-loopback
# --api-addr; POST /v1/stop over TCP ends the run cleanly.
set -u
. "$(dirname "$0")/../lib/e2e.sh"

BUILD=${BUILD:-build}
APICALL="$BUILD/test/tools/apicall"
[ -x "$APICALL" ] || fail "$APICALL missing (make test builds it)"
T="$E2E_TMP"
RUN="$T/run"
mkdir -p "$RUN/logs"
chmod 700 "$RUN"
export CONFORM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GRPC_VERBOSITY=ERROR

printf '{"mesh":"none","duration":"0s","window":"2s","rate":5,"checks":{"http.basic":{}}}\n' \
	>"$T/cfg.json"
"$CONFORM" config validate --json "$T/cfg.json" >"$T/resolved.json" ||
	fail "config validate --json failed"
$PY - "$T/resolved.json" "$RUN/run.json" <<'PYEOF' || fail "cannot write run.json"
import json, sys
r = json.load(open(sys.argv[1]))
r["id"] = "e2e-conformd-tcp"
json.dump(r, open(sys.argv[2], "w"))
PYEOF

note "the local platform listens on loopback only"
"$CONFORM_BIN/conformd" --run-dir "$RUN" --api-addr 0.0.0.0:0 2>"$T/refused.log"
rc=$?
[ $rc -eq 2 ] || fail "conformd --api-addr 0.0.0.0:0 on the local platform exited $rc, want 2"
grep -q 'only loopback' "$T/refused.log" || { cat "$T/refused.log"; fail "no loopback message"; }
"$CONFORM_BIN/conformd" --run-dir "$RUN" --collector-addr 127.0.0.1 2>"$T/refused.log"
rc=$?
[ $rc -eq 2 ] || fail "conformd --collector-addr without a port exited $rc, want 2"
grep -q 'no port' "$T/refused.log" || { cat "$T/refused.log"; fail "no 'no port' message"; }

note "conformd --api-addr 127.0.0.1:0 --collector-addr 127.0.0.1:0"
"$CONFORM_BIN/conformd" --run-dir "$RUN" --api-addr 127.0.0.1:0 \
	--collector-addr 127.0.0.1:0 2>"$RUN/logs/conformd.log" &
DPID=$!
trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null; e2e_cleanup' EXIT
port_of() { $PY -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))" \
	"$RUN/run.json" "$1"; }
api_bound() { [ "$(port_of api_port)" -gt 0 ]; }
wait_for 30 "api_port in run.json" api_bound
APORT=$(port_of api_port)
CPORT=$(port_of collector_port)
[ "$CPORT" -gt 0 ] || fail "no collector_port in run.json"
API="http://127.0.0.1:$APORT"
note "api on $API, collector on port $CPORT"

# code METHOD PATH [curl args...]: the HTTP status
code() {
	local m=$1 p=$2
	shift 2
	curl -s --noproxy '*' -m 5 -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$API$p"
}
c=$(code GET /healthz)
[ "$c" = 200 ] || fail "/healthz without a token answered $c, want 200"
grep -qx ok "$T/body" || fail "/healthz body: $(cat "$T/body")"
c=$(code GET /v1/status)
[ "$c" = 401 ] || fail "/v1/status without a token answered $c, want 401"
grep -q 'missing or wrong token' "$T/body" || fail "401 body: $(cat "$T/body")"
c=$(code GET /v1/status -H "Authorization: Bearer wrong$CONFORM_TOKEN")
[ "$c" = 401 ] || fail "/v1/status with a wrong bearer token answered $c, want 401"
c=$(code GET /v1/status -H "x-conform-token: ${CONFORM_TOKEN%?}")
[ "$c" = 401 ] || fail "/v1/status with a truncated token answered $c, want 401"
c=$(code GET /v1/nosuch)
[ "$c" = 401 ] || fail "an unknown route without a token answered $c, want 401"
c=$(code GET /v1/status -H "Authorization: Bearer $CONFORM_TOKEN")
[ "$c" = 200 ] || fail "/v1/status with the bearer token answered $c, want 200"
json_get "$T/body" 'd["run"]["id"]' | grep -qx e2e-conformd-tcp || fail "status: $(cat "$T/body")"
c=$(code GET /v1/status -H "x-conform-token: $CONFORM_TOKEN")
[ "$c" = 200 ] || fail "/v1/status with x-conform-token answered $c, want 200"

note "the CLI's client: HTTP base URL with the token, and the unix socket"
"$APICALL" --url "$API/" --token "$CONFORM_TOKEN" GET /v1/status >"$T/out" ||
	fail "apicall over HTTP: no answer"
head -n 1 "$T/out" | grep -qx 'status 200' || fail "apicall over HTTP: $(head -c 300 "$T/out")"
grep -q '"e2e-conformd-tcp"' "$T/out" || fail "apicall over HTTP: not the status object"
"$APICALL" --url "$API" --token "not-the-token" GET /v1/status >"$T/out" ||
	fail "apicall with a wrong token: no answer"
head -n 1 "$T/out" | grep -qx 'status 401' || fail "apicall with a wrong token: $(head -n 1 "$T/out")"
"$APICALL" --unix "$RUN/conformd.sock" GET /v1/status >"$T/out" ||
	fail "apicall on the unix socket: no answer"
head -n 1 "$T/out" | grep -qx 'status 200' || fail "apicall on the socket: $(head -n 1 "$T/out")"
"$APICALL" --url "http://127.0.0.1:1" --token x GET /healthz >/dev/null 2>"$T/err" &&
	fail "apicall to a closed port claimed an answer"
grep -q 'apicall: http://127.0.0.1:1: ' "$T/err" || fail "closed port error: $(cat "$T/err")"

note "a workload reports to the collector by name (localhost:$CPORT)"
srv_ready() { [ -s "$RUN/wl/http-server.ready" ]; }
wait_for 30 "http-server ready" srv_ready
HS=$(json_get "$RUN/wl/http-server.ready" 'd["listen"]')
"$CONFORM_BIN/conform-workload" --role http-client --name named-client \
	--collector "localhost:$CPORT" --batch-interval 500ms \
	--flow "check=http.basic,url=http://$HS/echo,rate=10,timeout=1s" 2>"$T/named.log" &
WPID=$!
acked() {
	$PY - "$RUN/conform.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=5)
n = db.execute("select count(*) from batches where workload = 'named-client'").fetchone()[0]
sys.exit(0 if n >= 2 else 1)
PYEOF
}
wait_for 30 "two batches of named-client in the store" acked
kill -TERM $WPID
wait $WPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/named.log"; fail "the named-client workload exited $rc"; }
grep 'msg="reporter done"' "$T/named.log" | grep -q 'rejected=0' ||
	{ cat "$T/named.log"; fail "the collector rejected batches of named-client"; }
grep -q 'unacked batches left' "$T/named.log" &&
	{ cat "$T/named.log"; fail "named-client left unacked batches"; }

note "POST /v1/stop over TCP ends the run"
c=$(code POST /v1/stop -H "x-conform-token: $CONFORM_TOKEN" -H 'Content-Type: application/json' -d '{}')
[ "$c" = 202 ] || fail "POST /v1/stop answered $c, want 202"
end=$((SECONDS + 60))
while kill -0 $DPID 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
kill -0 $DPID 2>/dev/null && fail "conformd still running 60 s after POST /v1/stop"
wait $DPID
rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$RUN/logs/conformd.log"; fail "conformd exited $rc, want 0"; }
[ -e "$RUN/conformd.sock" ] && fail "conformd.sock left behind"
curl -s --noproxy '*' -m 2 -o /dev/null "$API/healthz" && fail "the TCP API still answers after exit"
check_reports "$RUN"
check_no_signal_deaths "$RUN"
echo "ok: conformd over TCP"
