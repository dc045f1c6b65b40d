#!/usr/bin/env bash
# workloads_valgrind.sh - every role of conform-workload, and the collector
# (through the test sink), runs a short loaded session under valgrind and
# must exit 0 after SIGTERM with no memory errors and nothing "definitely
# lost". Faults are switched on to walk the error and delay paths too.
set -u
if [ -n "${SANITIZE:-}" ]; then
	echo "SKIP: valgrind cannot run a sanitizer build (SANITIZE=$SANITIZE); the normal build runs this test"
	exit 0
fi
BIN=${CONFORM_BIN:-$(pwd)/build/bin}
WL="$BIN/conform-workload"
SINK="$BIN/../test/tools/sink"
command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed"; exit 1; }
for f in "$WL" "$SINK"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
T=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)

export CONFORM_TOKEN=valgrind-token-0123456789abcdef
export GRPC_VERBOSITY=NONE

wait_file() { # path timeout_s
	local end=$((SECONDS + $2))
	while [ ! -s "$1" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
json_field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }
stop() { # name pid
	local name=$1 pid=$2 rc end=$((SECONDS + 30))
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then kill -KILL "$pid"; break; fi
		sleep 0.1
	done
	wait "$pid"; rc=$?
	[ $rc -eq 99 ] && fail "$name: valgrind found errors or leaks"
	[ $rc -gt 128 ] && fail "$name died from signal $((rc - 128))"
	[ $rc -ne 0 ] && fail "$name exited $rc"
	echo "ok $name"
}

"${VG[@]}" "$SINK" --port-file "$T/sink.port" >"$T/sink.out" 2>"$T/sink.log" & SINK_PID=$!; PIDS+=($SINK_PID)
"${VG[@]}" "$WL" --role http-server --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
	--ready-file "$T/hs.ready" 2>"$T/hs.log" & HS_PID=$!; PIDS+=($HS_PID)
"${VG[@]}" "$WL" --role grpc-server --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
	--ready-file "$T/gs.ready" 2>"$T/gs.log" & GS_PID=$!; PIDS+=($GS_PID)
wait_file "$T/sink.port" 60 || fail "sink did not start"
wait_file "$T/hs.ready" 60 || fail "http-server not ready"
wait_file "$T/gs.ready" 60 || fail "grpc-server not ready"
COLL=127.0.0.1:$(cat "$T/sink.port")
HS=$(json_field "$T/hs.ready" listen); HA=$(json_field "$T/hs.ready" admin)
GS=$(json_field "$T/gs.ready" listen); GA=$(json_field "$T/gs.ready" admin)

curl -s -o /dev/null -X POST -H "x-conform-token: $CONFORM_TOKEN" -d '{"error_rate":0.3}' \
	"http://$HA/admin/fault" || fail "admin http-server"
curl -s -o /dev/null -X POST -H "x-conform-token: $CONFORM_TOKEN" \
	-d '{"error_rate":0.3,"latency_ms":20}' "http://$GA/admin/fault" || fail "admin grpc-server"

"${VG[@]}" "$WL" --role http-client --collector "$COLL" --ready-file "$T/hc.ready" \
	--flow "check=http.basic,url=http://$HS/echo,rate=20,timeout=1s" \
	--flow "check=http.refused,url=http://127.0.0.1:1/echo,rate=5,timeout=1s" 2>"$T/hc.log" &
HC_PID=$!; PIDS+=($HC_PID)
"${VG[@]}" "$WL" --role grpc-client --collector "$COLL" --ready-file "$T/gc.ready" \
	--flow "check=grpc.basic,target=$GS,method=unary,rate=20,timeout=1s" \
	--flow "check=grpc.stream,target=$GS,method=bidi,rate=20,timeout=1s" \
	--flow "check=grpc.slow,target=$GS,method=unary,rate=5,timeout=200ms,delay=500ms" \
	2>"$T/gc.log" & GC_PID=$!; PIDS+=($GC_PID)
wait_file "$T/hc.ready" 60 || fail "http-client not ready"
wait_file "$T/gc.ready" 60 || fail "grpc-client not ready"
sleep 3   # load duration under valgrind (readiness was polled above)

stop http-client $HC_PID
stop grpc-client $GC_PID
stop sink $SINK_PID
stop http-server $HS_PID
stop grpc-server $GS_PID
PIDS=()
grep -q 'msg="totals" check=http.basic' "$T/hc.log" || fail "http-client logged no totals"
grep -q 'msg="totals" check=grpc.stream' "$T/gc.log" || fail "grpc-client logged no totals"
grep -q 'check=grpc.slow' "$T/sink.out" || fail "sink got no grpc.slow rows"
echo "PASS: all roles and the collector are valgrind-clean"
