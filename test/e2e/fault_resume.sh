#!/usr/bin/env bash
# fault_resume.sh - faults active when conformd is killed (kill -9) do not
# stay in force forever after `conform start --resume`. On the HAProxy mesh:
# a workload fault (server-errors on http-server) and a mesh fault that
# restarts a sidecar with other certificates (wrong-identity on http-client)
# both end while the monitor is down and must be reverted right after the
# resume (their checks pass again within a few windows); a mesh fault still in
# force at the resume (retries-off on http-client) must be taken over and end
# at its original end time, after which its check passes again.
# e2e: long (starts first when no durations are known)
set -u
. "$(dirname "$0")/../lib/e2e.sh"

W=4          # window, seconds
RATE=25      # per check: enough requests a window for retry.http's bounds
SHORT=10     # the faults that end while the monitor is down (room for a loaded machine
             # between the injection and the kill)
LONG=50      # the one still in force at the resume (>= 20 s after it on a loaded machine)
DOWN=12      # how long the monitor stays dead (> SHORT)
CHECKS=http.basic,mtls.identity,retry.http

note "start a run (--mesh haproxy --checks $CHECKS --window ${W}s)"
"$CONFORM" start --mesh haproxy --checks "$CHECKS" --duration 10m --window ${W}s --rate $RATE \
	>/dev/null || fail "start failed"
RUN=$(run_dir)
[ -d "$RUN" ] || fail "no run dir"
DB="$RUN/conform.db"

passing() {
	status_has "all(any(c['id']==k and c['windows']['pass']>=1 and c['windows']['fail']==0
	                    for c in s['checks']) for k in '$CHECKS'.split(','))"
}
wait_for 40 "every check passing on the healthy mesh" passing

# the fault setting http-server's process holds now (its admin endpoint)
admin_rate() {
	local addr
	addr=$(json_get "$RUN/wl/http-server.ready" "d['admin']") || return 1
	curl -sf --noproxy '*' -H "x-conform-token: $(cat "$RUN/token")" \
		"http://$addr/admin/fault" |
		$PY -c "import json,sys; print(json.load(sys.stdin)['error_rate'])"
}

note "inject: server-errors and wrong-identity for ${SHORT}s, retries-off for ${LONG}s"
"$CONFORM" fault server-errors --target http-server --for ${SHORT}s >/dev/null ||
	fail "fault server-errors"
"$CONFORM" fault wrong-identity --target http-client --for ${SHORT}s >/dev/null ||
	fail "fault wrong-identity"
"$CONFORM" fault retries-off --target http-client --for ${LONG}s >/dev/null ||
	fail "fault retries-off"
[ "$(admin_rate)" = 1 ] || fail "server-errors not in force at http-server: $(admin_rate)"
LONG_UNTIL=$(status_json | $PY -c "import json,sys
f=[f for f in json.load(sys.stdin)['faults'] if f['kind']=='retries-off']
print(f[0]['until'])") || fail "retries-off not listed as active"

note "kill -9 conformd while the three faults are active"
pid=$(cat "$RUN/conformd.pid")
kill -9 "$pid"
wait_for 10 "conformd $pid gone" bash -c "! kill -0 $pid 2>/dev/null"
# the outage itself (not a synchronisation): the short faults end meanwhile
sleep $DOWN
r=$(admin_rate); [ "$r" = 1 ] || fail "server-errors ended without a monitor? (error_rate: ${r:-no answer})"

note "conform start --resume"
"$CONFORM" start --resume >/dev/null || fail "start --resume failed"
wait_for 20 "running after the resume" status_has "s['state'] == 'running'"
RESUMED=$(date +%s)

note "(a) the faults that ended while the monitor was down are reverted at once"
admin_cleared() { [ "$(admin_rate)" = 0 ]; }
wait_for 5 "server-errors cleared at http-server" admin_cleared
$PY - "$DB" <<'PYEOF' || fail "no fault.end 'after monitor restart' events for the overdue faults"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ev = db.execute("select ts, subject, detail from events where kind='fault.end'").fetchall()
for e in ev:
    print("fault.end", e)
for kind, target in (("server-errors", "http-server"), ("wrong-identity", "http-client")):
    assert any(s == target and kind in d and "after monitor restart" in d for _, s, d in ev), kind
PYEOF
status_has "[f['kind'] for f in s['faults']] == ['retries-off']" ||
	fail "after the resume the active faults should be retries-off alone: $(status_json | $PY -c "import json,sys; print(json.load(sys.stdin)['faults'])")"
status_has "abs([f['until'] for f in s['faults']][0] - $LONG_UNTIL) < 0.01" ||
	fail "retries-off lost its end time at the resume"

cat >"$E2E_TMP/passed_after.py" <<'PYEOF'
# passed_after.py DB CHECK FROM N: N passing windows of CHECK start at or after FROM
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("select count(*) from windows where check_id=? and verdict=1 and start_s >= ?",
               (sys.argv[2], float(sys.argv[3]))).fetchone()[0]
sys.exit(0 if n >= int(sys.argv[4]) else 1)
PYEOF
for chk in http.basic mtls.identity; do
	wait_for $((3 * W + 6)) "$chk passing again after the resume" \
		$PY "$E2E_TMP/passed_after.py" "$DB" "$chk" "$RESUMED" 2
	echo "$chk passes again $(($(date +%s) - RESUMED))s after the resume"
done

note "(b) retries-off, still in force at the resume, ends at its original end time"
now=$(date +%s)
left=$($PY -c "import math; print(max(0, math.ceil($LONG_UNTIL - $now)))")
wait_for $((left + 6)) "retries-off ended" status_has "not s['faults']"
$PY - "$DB" "$LONG_UNTIL" <<'PYEOF' || fail "retries-off did not end at its original end time"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
until = float(sys.argv[2])
ev = db.execute("select ts, detail from events where kind='fault.end' and subject='http-client' "
                "and detail like '%expired%'").fetchall()
print("retries-off end:", ev, "until:", until)
assert len(ev) == 1, ev
assert until - 0.01 <= ev[0][0] <= until + 2, (ev[0][0] - until)
PYEOF
wait_for $((3 * W + 6)) "retry.http passing after retries-off ended" \
	$PY "$E2E_TMP/passed_after.py" "$DB" retry.http "$LONG_UNTIL" 1

note "stop"
"$CONFORM" stop >/dev/null; rc=$?
[ "$rc" = 1 ] || fail "stop: exit $rc (want 1: the faults broke promises)"
check_reports "$RUN"
check_no_signal_deaths "$RUN"
$PY - "$DB" "$RESUMED" "$LONG_UNTIL" <<'PYEOF' || fail "retries-off was not in force between the resume and its end"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
resumed, until = float(sys.argv[2]), float(sys.argv[3])
# taken over, not dropped: retry.http failed for it after the resume too
n = db.execute("select count(*) from window_view where check_id='retry.http' and verdict=2 "
               "and reason_text like '%below bound%' and start_s >= ? and end_s <= ?",
               (resumed, until)).fetchone()[0]
print("retry.http windows failed under retries-off after the resume:", n)
assert n >= 1
PYEOF
echo "PASS fault_resume"
