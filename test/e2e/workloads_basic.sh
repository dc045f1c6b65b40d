#!/usr/bin/env bash
# workloads_basic.sh - the sample workloads end to end against the test sink:
# an HTTP and a gRPC server, an HTTP client (http.basic) and a gRPC client
# (grpc.basic unary, grpc.stream bidi) at 20/s each for ~5 s, with an injected
# error_rate 1.0 on the HTTP server half way. Passes when every client's
# logged totals equal what the sink received, per check, exactly; failures
# show up after the fault and only for http.basic; every process exits 0.
set -u
BIN=${CONFORM_BIN:-$(pwd)/build/bin}
WL="$BIN/conform-workload"
SINK="$BIN/../test/tools/sink"
for f in "$WL" "$SINK"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
T=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }

export CONFORM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GRPC_VERBOSITY=ERROR

wait_file() { # path timeout_s
	local end=$((SECONDS + $2))
	while [ ! -s "$1" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}
json_field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }
# stop PID (TERM, then KILL after 10 s); fail if it died from a signal or exited non-zero
stop() { # name pid
	local name=$1 pid=$2 rc end=$((SECONDS + 10))
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then kill -KILL "$pid"; break; fi
		sleep 0.05
	done
	wait "$pid"; rc=$?
	[ $rc -gt 128 ] && fail "$name died from signal $((rc - 128))"
	[ $rc -ne 0 ] && fail "$name exited $rc"
	return 0
}

"$SINK" --port-file "$T/sink.port" >"$T/sink.out" 2>"$T/sink.log" & SINK_PID=$!; PIDS+=($SINK_PID)
"$WL" --role http-server --name http-server --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
	--ready-file "$T/hs.ready" 2>"$T/hs.log" & HS_PID=$!; PIDS+=($HS_PID)
"$WL" --role grpc-server --name grpc-server --version v2 --listen 127.0.0.1:0 \
	--admin 127.0.0.1:0 --ready-file "$T/gs.ready" 2>"$T/gs.log" & GS_PID=$!; PIDS+=($GS_PID)
wait_file "$T/sink.port" 10 || fail "sink did not start"
wait_file "$T/hs.ready" 10 || fail "http-server not ready"
wait_file "$T/gs.ready" 10 || fail "grpc-server not ready"
COLL=127.0.0.1:$(cat "$T/sink.port")
HS=$(json_field "$T/hs.ready" listen); HA=$(json_field "$T/hs.ready" admin)
GS=$(json_field "$T/gs.ready" listen)
[ -n "$HS" ] && [ -n "$HA" ] && [ -n "$GS" ] || fail "ready files lack listen/admin"

"$WL" --role http-client --name http-client --collector "$COLL" --ready-file "$T/hc.ready" \
	--flow "check=http.basic,url=http://$HS/echo,rate=20,timeout=1s" 2>"$T/hc.log" &
HC_PID=$!; PIDS+=($HC_PID)
"$WL" --role grpc-client --name grpc-client --collector "$COLL" --ready-file "$T/gc.ready" \
	--flow "check=grpc.basic,target=$GS,method=unary,rate=20,timeout=1s" \
	--flow "check=grpc.stream,target=$GS,method=bidi,rate=20,timeout=1s" 2>"$T/gc.log" &
GC_PID=$!; PIDS+=($GC_PID)
wait_file "$T/hc.ready" 10 || fail "http-client not ready"
wait_file "$T/gc.ready" 10 || fail "grpc-client not ready"

sleep 2.5   # healthy traffic
code=$(curl -s -o "$T/fault.json" -w '%{http_code}' -X POST -H "x-conform-token: wrong" \
	-d '{"error_rate":1.0}' "http://$HA/admin/fault")
[ "$code" = 401 ] || fail "admin accepted a wrong token ($code)"
code=$(curl -s -o "$T/fault.json" -w '%{http_code}' -X POST -H "x-conform-token: $CONFORM_TOKEN" \
	-d '{"error_rate":1.0}' "http://$HA/admin/fault")
[ "$code" = 200 ] || fail "admin POST answered $code"
curl -s "http://$HA/admin/fault" | grep -q '"error_rate":1' || fail "GET /admin/fault does not show the fault"
sleep 2.5   # traffic under the fault

stop http-client $HC_PID
stop grpc-client $GC_PID
stop sink $SINK_PID
stop http-server $HS_PID
stop grpc-server $GS_PID
PIDS=()

cat "$T/sink.out"
grep -h 'msg="totals"' "$T/hc.log" "$T/gc.log"
n=0
for log in hc:http-client gc:grpc-client; do
	f="$T/${log%%:*}.log"; w=${log#*:}
	while read -r line; do
		check=$(sed -n 's/.* check=\([^ ]*\).*/\1/p' <<<"$line")
		counts=$(sed -n 's/.*\(requests=[0-9]* ok=[0-9]* failed=[0-9]*\).*/\1/p' <<<"$line")
		grep -qx "sink workload=$w check=$check $counts" "$T/sink.out" ||
			fail "$w $check: client says '$counts', sink has '$(grep "check=$check " "$T/sink.out")'"
		n=$((n + 1))
	done < <(grep 'msg="totals"' "$f")
done
[ $n -eq 3 ] || fail "expected 3 totals lines, got $n"
[ "$(grep -c '^sink workload=' "$T/sink.out")" -eq 3 ] || fail "sink saw other checks"

get() { sed -n "s/.*check=$1 .*$2=\([0-9]*\).*/\1/p" "$T/sink.out"; }
[ "$(get http.basic requests)" -ge 60 ] || fail "too few http.basic requests"
[ "$(get http.basic ok)" -gt 0 ] || fail "no http.basic success before the fault"
[ "$(get http.basic failed)" -gt 20 ] || fail "the fault did not show as failures"
for c in grpc.basic grpc.stream; do
	[ "$(get $c requests)" -ge 60 ] || fail "too few $c requests"
	[ "$(get $c failed)" -eq 0 ] || fail "$c failed without a fault"
done
grep -q 'rejected=0' "$T/sink.out" || fail "sink rejected batches"
echo "PASS: totals match the sink for 3 checks; fault seen"
