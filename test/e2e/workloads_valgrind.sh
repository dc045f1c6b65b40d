#!/usr/bin/env bash
# workloads_valgrind.sh - every role of conform-workload, and the collector
# (through the test sink), runs a short loaded session under valgrind and
# must exit 0 after SIGTERM with no memory errors and nothing "definitely
# lost". Faults are switched on to walk the error and delay paths too.
# e2e: alone (valgrind takes a core per process)
set -u
if [ -n "${SANITIZE:-}" ]; then
	echo "SKIP: valgrind cannot run a sanitizer build (SANITIZE=$SANITIZE); the normal build runs this test"
	exit 77
fi
. "$(dirname "$0")/../lib/e2e.sh"
command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed"; exit 1; }
wl_init 30
WL_WRAP=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)

export CONFORM_TOKEN=valgrind-token-0123456789abcdef
export GRPC_VERBOSITY=NONE

wl_start_servers "$T" 60

curl -sSf -o /dev/null -X POST -H "x-conform-token: $CONFORM_TOKEN" -d '{"error_rate":0.3}' \
	"http://$HA/admin/fault" || fail "admin http-server"
curl -sSf -o /dev/null -X POST -H "x-conform-token: $CONFORM_TOKEN" \
	-d '{"error_rate":0.3,"latency_ms":20}' "http://$GA/admin/fault" || fail "admin grpc-server"

wl_start_clients "$T" 60 "check=http.basic,url=http://$HS/echo,rate=20,timeout=1s" \
	"check=http.refused,url=http://127.0.0.1:1/echo,rate=5,timeout=1s" -- \
	"check=grpc.basic,target=$GS,method=unary,rate=20,timeout=1s" \
	"check=grpc.stream,target=$GS,method=bidi,rate=20,timeout=1s" \
	"check=grpc.slow,target=$GS,method=unary,rate=5,timeout=200ms,delay=500ms"
sleep 3   # load duration under valgrind (readiness was polled above)

wl_stop_all 30
grep -q 'msg="totals" check=http.basic' "$T/hc.log" || fail "http-client logged no totals"
grep -q 'msg="totals" check=grpc.stream' "$T/gc.log" || fail "grpc-client logged no totals"
grep -q 'check=grpc.slow' "$T/sink.out" || fail "sink got no grpc.slow rows"
echo "PASS: all roles and the collector are valgrind-clean"
