#!/usr/bin/env bash
# workloads_basic.sh - the sample workloads end to end against the test sink:
# an HTTP and a gRPC server, an HTTP client (http.basic) and a gRPC client
# (grpc.basic unary, grpc.stream bidi) at 20/s each for ~5 s, with an injected
# error_rate 1.0 on the HTTP server half way. Passes when every client's
# logged totals equal what the sink received, per check, exactly; failures
# show up after the fault and only for http.basic; every process exits 0.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
wl_init 15

export CONFORM_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GRPC_VERBOSITY=ERROR

wl_start_servers "$T" 10
wl_start_clients "$T" 10 "check=http.basic,url=http://$HS/echo,rate=20,timeout=1s" -- \
	"check=grpc.basic,target=$GS,method=unary,rate=20,timeout=1s" \
	"check=grpc.stream,target=$GS,method=bidi,rate=20,timeout=1s"

sleep 2.5   # healthy traffic
code=$(curl -s -o "$T/fault.json" -w '%{http_code}' -X POST -H "x-conform-token: wrong" \
	-d '{"error_rate":1.0}' "http://$HA/admin/fault")
[ "$code" = 401 ] || fail "admin accepted a wrong token ($code)"
code=$(curl -s -o "$T/fault.json" -w '%{http_code}' -X POST -H "x-conform-token: $CONFORM_TOKEN" \
	-d '{"error_rate":1.0}' "http://$HA/admin/fault")
[ "$code" = 200 ] || fail "admin POST answered $code"
curl -s "http://$HA/admin/fault" | grep -q '"error_rate":1' || fail "GET /admin/fault does not show the fault"
sleep 2.5   # traffic under the fault

wl_stop_all 10

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
