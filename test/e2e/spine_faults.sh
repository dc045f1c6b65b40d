#!/usr/bin/env bash
# Faults make checks fail for the right reason: server-errors at rate 1.0 on
# http-server fails http.basic naming HTTP 5xx, on grpc-server fails grpc.basic
# naming the gRPC error status; the untouched grpc.stream still passes; the
# run exits 1; faults are events in the report.
source "$(dirname "$0")/../lib/e2e.sh"

"$CONFORM" start --duration 0 --window 5s --mesh none --checks http.basic,grpc.basic,grpc.stream --rate 20 || fail "start failed"
d=$(run_dir)
wait_for 30 "first passing window of http.basic" \
	status_has '[c for c in s["checks"] if c["id"]=="http.basic" and c["windows"]["pass"]>=1]'

note "inject server-errors on both servers"
"$CONFORM" fault server-errors --target http-server --rate 1.0 || fail "fault on http-server"
"$CONFORM" fault server-errors --target grpc-server --rate 1.0 || fail "fault on grpc-server"
# within two windows both checks must have a failing window
wait_for 25 "http.basic and grpc.basic failing" \
	status_has 'all(c["windows"]["fail"]>=1 for c in s["checks"] if c["id"] in ("http.basic","grpc.basic"))'

"$CONFORM" stop
rc=$?
[ $rc -eq 1 ] || fail "stop exited $rc, want 1 (not conformant)"
check_reports "$d"
check_verdict "$d" http.basic fail "HTTP 5xx"
check_verdict "$d" grpc.basic fail "gRPC error"
check_verdict "$d" grpc.stream pass
$PY - "$d/reports/report.json" <<'PYEOF' || fail "fault events missing"
import json, sys
r = json.load(open(sys.argv[1]))
kinds = [(e["kind"], e["subject"]) for e in r["events"]]
assert ("fault.start", "http-server") in kinds, kinds
assert ("fault.start", "grpc-server") in kinds, kinds
assert r["verdict"] == "fail"
PYEOF
grep -q "<failure" "$d/reports/junit.xml" || fail "junit.xml has no <failure>"
check_totals "$d"
check_no_signal_deaths "$d"
echo "ok"
