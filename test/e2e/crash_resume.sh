#!/usr/bin/env bash
# crash_resume.sh - kill -9 conformd three times in the middle of a run and
# resume it each time: status says the monitor is down and how to resume
# (exit 3), the workloads keep running and buffering, `conform start
# --resume` takes the run over, and at the end every acked batch is stored
# exactly once, the client totals equal the report's, and the windows of the
# outages are monitor gaps, not failures.
# CRASH_MESH=haproxy runs the same with the HAProxy mesh (http.basic, tap.live).
# e2e: long (starts first when no durations are known)
set -u
. "$(dirname "$0")/../lib/e2e.sh"

MESH=${CRASH_MESH:-none}
if [ "$MESH" = haproxy ]; then
	CHECKS=http.basic,tap.live
else
	CHECKS=http.basic,grpc.basic,grpc.stream
fi

note "start a run (--mesh $MESH --checks $CHECKS)"
"$CONFORM" start --mesh "$MESH" --checks "$CHECKS" --duration 10m --window 5s --rate 20 \
	>/dev/null || fail "start failed"
RUN=$(run_dir)
[ -d "$RUN" ] || fail "no run dir"

batches() { status_json 2>/dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['monitor']['batches'])"; }
pids_alive() {
	$PY - "$RUN/supervisor.json" <<'PYEOF'
import json, os, sys
s = json.load(open(sys.argv[1]))
dead = []
for w in s["workloads"]:
    try:
        os.kill(w["pid"], 0)
    except Exception:
        dead.append(w["name"])
print(" ".join(dead))
sys.exit(1 if dead else 0)
PYEOF
}

for round in 1 2 3; do
	note "round $round: let the monitor take batches, then kill -9 it"
	before=$(batches)
	wait_for 20 "new batches (round $round)" status_has "s['monitor']['batches'] > ${before:-0} + 4"
	pid=$(cat "$RUN/conformd.pid")
	kill -9 "$pid"
	wait_for 10 "conformd $pid gone" bash -c "! kill -0 $pid 2>/dev/null"

	out=$("$CONFORM" status 2>&1); rc=$?
	[ "$rc" = 3 ] || fail "status after the kill: exit $rc, want 3: $out"
	echo "$out" | grep -q "conform start --resume" || fail "status does not name \`conform start --resume\`: $out"
	echo "$out" | grep -q "is down" || fail "status does not say the monitor is down: $out"
	# the outage itself (not a synchronisation): the clients buffer meanwhile
	sleep 3
	dead=$(pids_alive) || fail "workloads died with the monitor: $dead"

	note "round $round: conform start --resume"
	"$CONFORM" start --resume >/dev/null || fail "start --resume failed (round $round)"
	wait_for 20 "running after resume $round" status_has "s['state'] == 'running'"
	newpid=$(cat "$RUN/conformd.pid")
	[ "$newpid" != "$pid" ] || fail "same conformd pid after resume"
	dead=$(pids_alive) || fail "workloads not running after resume: $dead"
done

note "let windows after the last resume be evaluated"
cat >"$E2E_TMP/passed_after.py" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
last = max(int(d.split()[1].split("=")[1]) for (d,) in db.execute(
    "select detail from events where kind='monitor.gap'"))
n = db.execute("select count(*) from windows where check_id='http.basic' and verdict=1 "
               "and start_s >= ?", (last,)).fetchone()[0]
sys.exit(0 if n >= 2 else 1)
PYEOF
wait_for 60 "two passing windows after the last resume" $PY "$E2E_TMP/passed_after.py" "$RUN/conform.db"

stop_conformant "$RUN"

note "every acked batch stored once, no gaps in the sequence"
$PY - "$RUN" <<'PYEOF' || fail "batches table does not match what the clients acked"
import glob, os, re, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect(os.path.join(d, "conform.db"))
seen = 0
for log in glob.glob(os.path.join(d, "logs", "*client*.log")):
    name = os.path.basename(log)[:-4]
    if name.endswith((".in", ".out")):
        continue
    done = [l for l in open(log, errors="replace") if "reporter done" in l]
    assert len(done) == 1, (name, "reporter done lines", len(done))
    kv = dict(re.findall(r"(\w+)=(\S+)", done[0]))
    sent, acked, dropped = int(kv["batches"]), int(kv["acked"]), int(kv["dropped"])
    rows = db.execute("select instance, count(*), min(seq), max(seq) from batches "
                      "where workload=? group by instance", (name,)).fetchall()
    print(f"{name}: sent={sent} acked={acked} dropped={dropped} stored={rows}")
    assert dropped == 0 and acked == sent, name
    assert len(rows) == 1, (name, "one client instance expected", rows)
    inst, count, lo, hi = rows[0]
    assert (count, lo, hi) == (acked, 1, acked), (name, "gap or extra batch")
    seen += 1
assert seen >= 1
counters = dict(db.execute("select name, value from counters").fetchall())
print("counters:", counters)
acc = db.execute("select count(*) from batches where substr(workload,1,8) <> 'conformd'").fetchone()[0]
stored = db.execute("select count(*) from batches").fetchone()[0]
print("client batches stored:", acc, "all batches stored:", stored)
# every accepted batch is one stored row (none lost, none twice); a batch
# resent after a kill -9 (committed, ack lost) is counted as a duplicate and
# stored no second time
accepted = counters.get("batches.accepted", 0)
duplicate = counters.get("batches.duplicate", 0)
assert accepted == stored, ("batches.accepted", accepted, "stored rows", stored)
assert 0 <= duplicate <= acc, ("batches.duplicate", duplicate)
PYEOF

note "the outages are monitor gaps, not failures"
$PY - "$RUN" "$CHECKS" <<'PYEOF' || fail "gap windows wrong"
import json, os, sqlite3, sys
d, checks = sys.argv[1], sys.argv[2].split(",")
db = sqlite3.connect(os.path.join(d, "conform.db"))
gaps = [tuple(int(p.split("=")[1]) for p in det.split())
        for (det,) in db.execute("select detail from events where kind='monitor.gap' order by id")]
resumes = db.execute("select count(*) from events where kind='monitor.resume'").fetchone()[0]
print("gaps:", gaps, "resumes:", resumes)
assert len(gaps) == 3 and resumes == 3
for f, t in gaps:
    assert 0 <= t - f <= 60, (f, t)
# each gap starts where the dead monitor's stored tap lines end, less the
# tap's allowed delay (state_gap_from), not at a fixed lead
import re
logged = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(os.path.join(d, "logs", "conformd.log"),
          errors="replace") if 'msg="monitor gap"' in l]
assert len(logged) == 3, ("monitor gap log lines", len(logged))
delay = json.load(open(os.path.join(d, "run.json")))["mesh_settings"]["tap_max_delay_ms"] / 1000
for g in logged:
    print("gap from", g["from"], "tap stored through", g["tap_stored_through"], "delay", delay)
    frm, mark = float(g["from"]), float(g["tap_stored_through"])
    if os.environ.get("CRASH_MESH", "none") != "none":
        assert mark > 0, ("no tap mark stored by the dead monitor", g)
        assert frm <= mark - delay + 1e-3, ("the gap starts after the tap mark less its delay", g)
r = json.load(open(os.path.join(d, "reports", "report.json")))
for c in r["checks"]:
    if c["id"] not in checks:
        continue
    print(c["id"], c["verdict"], c["windows"], c["reason"])
    assert c["verdict"] == "pass", c["id"]
    assert c["windows"]["fail"] == 0, c["id"]
for chk in checks:
    for idx, s, e, v, reason in db.execute(
            "select idx, start_s, end_s, verdict, reason_text from window_view where check_id=?", (chk,)):
        overlaps = any(f < e and (t > s or (t == f and f >= s)) for f, t in gaps)
        if overlaps:
            assert "monitor was down" in reason, (chk, idx, reason)
        else:
            assert "monitor was down" not in reason, (chk, idx, reason)
print("ok")
PYEOF

echo "PASS crash_resume ($MESH)"
