#!/usr/bin/env bash
# The supervisor: a killed workload is detected, restarted with backoff and
# both show as events in the report. Also: one run at a time (a second start
# is refused with exit 2), status on a live run, and status without a run (3).
source "$(dirname "$0")/../lib/e2e.sh"

"$CONFORM" status >/dev/null 2>&1
[ $? -eq 3 ] || fail "status with no run must exit 3"

"$CONFORM" start --duration 0 --window 5s --mesh none --checks http.basic,grpc.basic,grpc.stream || fail "start failed"
d=$(run_dir)
out=$("$CONFORM" start --duration 0 --mesh none --checks http.basic,grpc.basic,grpc.stream 2>&1)
rc=$?
[ $rc -eq 2 ] || fail "second start exited $rc, want 2"
echo "$out" | grep -qi "already active" || fail "second start message unclear: $out"

wait_for 20 "workloads running" status_has 'all(w["state"]=="running" for w in s["workloads"])'
pid_before=$("$CONFORM" status --json | $PY -c 'import json,sys; print([w["pid"] for w in json.load(sys.stdin)["workloads"] if w["name"]=="http-server"][0])')
"$CONFORM" fault kill --target http-server || fail "kill fault"
wait_for 30 "http-server restarted" \
	status_has '[w for w in s["workloads"] if w["name"]=="http-server" and w["restarts"]>=1 and w["state"]=="running" and w["pid"]!='"$pid_before"']'
# the window of the outage is judged before the run ends
wait_for 20 "a failing http.basic window (the outage)" \
	status_has '[c for c in s["checks"] if c["id"]=="http.basic" and c["windows"]["fail"]>=1]'
"$CONFORM" stop >"$E2E_TMP/stop.out"
rc=$?
cat "$E2E_TMP/stop.out"
# the kill made requests fail while http-server was down: not conformant
[ $rc -eq 1 ] || fail "conform stop after a kill fault exited $rc, want 1 (not conformant)"
check_reports "$d"
check_verdict "$d" http.basic fail
$PY - "$d/reports/report.json" <<'PYEOF' || fail "restart events missing"
import json, sys
r = json.load(open(sys.argv[1]))
ev = [(e["kind"], e["subject"], e["detail"]) for e in r["events"] if e["subject"] == "http-server"]
for e in ev: print(e)
assert any(k == "workload.exit" and "signal 9" in d for k, s, d in ev), "exit by signal 9"
assert any(k == "workload.restart" and "pid" in d for k, s, d in ev), "restart with a new pid"
assert any(k == "fault.start" and "kill" in d for k, s, d in ev), "the kill fault"
PYEOF
check_no_signal_deaths "$d"
"$CONFORM" status >/dev/null 2>&1
[ $? -eq 3 ] || fail "status after stop must exit 3 (no active run)"
echo "ok"
