#!/usr/bin/env bash
# retention_prune.sh - bounded growth in a real run: with "retention": "15s"
# conformd deletes per-second rows older than that (once their windows
# are judged) and the dedupe records of batches that old, while every window
# stays and the report's totals still equal what the clients say they sent.
set -u
. "$(dirname "$0")/../lib/e2e.sh"

CHECKS=http.basic,grpc.basic
cat >"$E2E_TMP/conform.json" <<'EOF'
{ "retention": "15s" }
EOF

note "start a run with a 15 s retention"
"$CONFORM" start --config "$E2E_TMP/conform.json" --mesh none --checks "$CHECKS" \
	--duration 10m --window 5s --rate 20 >/dev/null || fail "start failed"
RUN=$(run_dir)
[ -d "$RUN" ] || fail "no run dir"

# pruned: no row older than retention + one window + the prune interval (10 s)
# + slack, and the oldest row is well after the start (loose or packed)
cat >"$E2E_TMP/pruned.py" <<'PYEOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5)
started = db.execute("select started from run").fetchone()[0]
lo = db.execute("select min(second) from agg where substr(workload,1,8) <> 'conformd'").fetchone()[0]
# the rows of judged windows are packed (store schema 4): their oldest too
plo = db.execute("select min(first_s) from agg_pack").fetchone()[0]
lo = min(x for x in (lo, plo, float("inf")) if x is not None)
lo = None if lo == float("inf") else lo
floor = db.execute("select count(*) from batch_floor").fetchone()[0]
sys.exit(0 if lo is not None and lo > started + 10 and floor > 0 else 1)
PYEOF
wait_for 60 "per-second rows older than the retention pruned" \
	$PY "$E2E_TMP/pruned.py" "$RUN/conform.db"

stop_conformant "$RUN"

note "rows and batch records inside the retention only; every window kept"
$PY - "$RUN" "$CHECKS" <<'PYEOF' || fail "pruning kept too much or lost windows"
import json, os, sqlite3, sys
d, checks = sys.argv[1], sys.argv[2].split(",")
db = sqlite3.connect(os.path.join(d, "conform.db"))
started, ended, window_ms = db.execute("select started, ended, window_ms from run").fetchone()
lo = db.execute("select min(second) from agg").fetchone()[0]
plo = db.execute("select min(first_s) from agg_pack").fetchone()[0]
lo = min(x for x in (lo, plo) if x is not None)
blo = db.execute("select min(received) from batches").fetchone()[0]
floors = db.execute("select workload, instance, seq from batch_floor").fetchall()
print(f"run {ended - started:.0f} s; oldest row {lo - started:.0f} s after start, "
      f"{ended - lo:.0f} s before the end; oldest batch record {ended - blo:.0f} s before the end; "
      f"floors {floors}")
# retention 15 s + one 5 s window + the 3 s grace + a 10 s prune interval
assert lo > started + 10, "nothing pruned"
assert ended - lo <= 15 + 5 + 3 + 10 + 5, "rows older than the retention remain"
assert ended - blo <= 15 + 10 + 5, "batch records older than the retention remain"
assert floors, "no dedupe floor recorded"
r = json.load(open(os.path.join(d, "reports", "report.json")))
for c in r["checks"]:
    if c["id"] not in checks:
        continue
    n = db.execute("select count(*), min(idx), max(idx) from windows where check_id=?",
                   (c["id"],)).fetchone()
    print(c["id"], c["verdict"], c["windows"], "stored windows", n)
    assert c["verdict"] == "pass", c["id"]
    assert n[0] == n[2] - n[1] + 1 and n[1] == 0, ("windows lost", c["id"], n)
    assert n[0] * window_ms / 1000.0 >= ended - started - window_ms / 1000.0, n
print("ok")
PYEOF
echo "PASS"
