#!/usr/bin/env bash
# The isolation matrix (lib/faults/matrix.c), asserted whole on a real mesh:
# one run with every check, every row's fault injected in turn on its
# target. Each row's "fails" checks must fail while its fault is on; a
# window failing anywhere must belong to a check in the "fails" or "may"
# column of a fault active in that window; every other check stays passing
# or inconclusive. Then two faults at once fail the union of their rows and
# nothing else. The split shift comes early (16 s), so split.shift judges the
# weights after it for the rest of the run and split-skew fails it too.
#   MESH_ROWS="retries-off tap-off" test/e2e/mesh_faults.sh   a subset of kinds
#   FAULTS_MESH=NAME test/e2e/mesh_faults.sh   the same matrix on another mesh
#                                              (default haproxy, the local one)
# e2e: long (starts first when no durations are known)
source "$(dirname "$0")/../lib/e2e.sh"

W=4          # window, seconds
RATE=25      # per check: 100 requests a window, enough for the binomial bounds
FOR=$((2 * W))
MESH=${FAULTS_MESH:-haproxy}
BUILD=${BUILD:-build}
MATRIX_TOOL="$(cd "$(dirname "$0")/../.." && pwd)/$BUILD/test/tools/faultmatrix"
[ -x "$MATRIX_TOOL" ] || fail "missing $MATRIX_TOOL (make $BUILD/test/tools/faultmatrix)"
SHIFT_CONFIG="$E2E_TMP/shift.json"
echo '{"mesh_settings": {"shift": {"at": "16s"}}}' >"$SHIFT_CONFIG"
INTERVALS="$E2E_TMP/intervals"
: >"$INTERVALS"

now() { date +%s.%N; }

# fails_grew CHECKS BEFORE_JSON: every check of CHECKS has more failing windows than in BEFORE
fails_grew() {
	status_json 2>/dev/null | $PY -c '
import json, sys
s = json.load(sys.stdin); before = json.loads(sys.argv[2])
f = {c["id"]: c["windows"]["fail"] for c in s["checks"]}
sys.exit(0 if all(f[c] > before.get(c, 0) for c in sys.argv[1].split(",")) else 1)' "$1" "$2"
}
fail_counts() { status_json | $PY -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({c["id"]: c["windows"]["fail"] for c in s["checks"]}))'; }
# settled N0: no fault active, http.basic judged 2 more windows than N0, and
# no check's latest window failed
settled() {
	status_json 2>/dev/null | $PY -c '
import json, sys
s = json.load(sys.stdin); n0 = int(sys.argv[1])
hb = [c for c in s["checks"] if c["id"] == "http.basic"][0]
n = hb["windows"]["pass"] + hb["windows"]["fail"] + hb["windows"]["nodata"] + hb["windows"].get("inconclusive", 0)
ok = not s["faults"] and n >= n0 + 2 and all(not c["recent"] or c["recent"][-1] != "fail" for c in s["checks"] if c["verdict"] != "skip")
sys.exit(0 if ok else 1)' "$1"
}
judged_windows() { status_json | $PY -c '
import json, sys
s = json.load(sys.stdin); w = [c for c in s["checks"] if c["id"] == "http.basic"][0]["windows"]
print(w["pass"] + w["fail"] + w["nodata"] + w.get("inconclusive", 0))'; }

# inject KIND TARGET ARGS: with --for when the kind lasts (not the one-shot kills)
inject() {
	local kind=$1 target=$2 args=$3 forarg="--for ${FOR}s"
	case $kind in kill|sidecar-kill) forarg= ;; esac
	# shellcheck disable=SC2086 # args and forarg are lists of words
	"$CONFORM" fault "$kind" --target "$target" $args $forarg >/dev/null \
		|| fail "conform fault $kind --target $target $args $forarg"
}

# row NAME FAILS MAY KIND TARGET ARGS [KIND TARGET ARGS]: inject, see FAILS
# fail, wait until everything settled, record the interval for the verdict audit
row() {
	local name=$1 fails=$2 may=$3; shift 3
	local before t0 t1 n0 s0=$SECONDS
	note "row: $name: must fail $fails${may:+, may fail $may}; nothing else"
	before=$(fail_counts) || fail "status"
	n0=$(judged_windows)
	t0=$(now)
	while [ $# -ge 3 ]; do inject "$1" "$2" "$3"; shift 3; done
	wait_for $((2 * W + 6)) "$fails failing under $name" fails_grew "$fails" "$before"
	echo "$name: $fails failed within $((SECONDS - s0))s"
	n0=$(judged_windows)
	wait_for $((FOR + 4 * W + 20)) "the run to settle after $name" settled "$n0"
	t1=$(now)
	echo "$name|$fails|$may|$t0|$t1" >>"$INTERVALS"
}

# ---- phase 1: every row on one run ----------------------------------------
note "conform start --config (shift at 16s) --window ${W}s --mesh $MESH --rate $RATE (every check)"
"$CONFORM" start --config "$SHIFT_CONFIG" --duration 0 --window ${W}s --mesh "$MESH" --rate $RATE \
	>/dev/null || fail "start"
d=$(run_dir)
wait_for 60 "every check passing on the healthy mesh" status_has \
	'all(c["windows"]["pass"] >= 1 and c["windows"]["fail"] == 0 for c in s["checks"] if c["verdict"] != "skip")'

rows=0
while IFS='|' read -r kind target args fails may; do
	[ -n "$kind" ] || continue
	if [ -n "${MESH_ROWS:-}" ] && [[ " $MESH_ROWS " != *" $kind "* ]]; then continue; fi
	row "$kind on $target" "$fails" "$may" "$kind" "$target" "$args"
	rows=$((rows + 1))
done < <("$MATRIX_TOOL")
[ $rows -gt 0 ] || fail "no matrix row selected"

if [ -z "${MESH_ROWS:-}" ]; then
	# two faults at once: the union of their rows, nothing else
	row "retries-off + tap-off on http-client" "retry.http,tap.live" "" \
		retries-off http-client "" tap-off http-client ""
fi

"$CONFORM" stop >/dev/null
rc=$?
[ $rc -eq 1 ] || fail "stop exited $rc, want 1 (checks failed under the faults)"
check_no_signal_deaths "$d"

# ---- phase 2: the verdict audit, window by window ---------------------------
$PY - "$d/conform.db" "$INTERVALS" "$W" <<'PYEOF' || fail "isolation matrix violated (above)"
import sqlite3, sys
db, ivf, w = sys.argv[1], sys.argv[2], int(sys.argv[3])
iv = []
for line in open(ivf):
    name, fails, may, t0, t1 = line.rstrip("\n").split("|")
    iv.append((name, set(fails.split(",")), set(filter(None, may.split(","))), float(t0), float(t1)))
con = sqlite3.connect(db)
rows = con.execute("SELECT check_id, idx, start_s, end_s, verdict, reason_text FROM window_view"
                   " ORDER BY idx").fetchall()
bad = []
for check, idx, s, e, v, why in rows:
    if v != 2:
        continue
    # a window that overlaps a fault (begun before its end, ended after its start)
    active = [x for x in iv if s < x[4] and e > x[3]]
    allowed = set().union(*[x[1] | x[2] for x in active]) if active else set()
    if check not in allowed:
        bad.append(f"{check} window {idx} [{s}, {e}) failed under "
                   f"{[x[0] for x in active] or 'no fault'}: {why}")
for name, fails, may, t0, t1 in iv:
    for c in fails:
        if not any(r[0] == c and r[4] == 2 and r[2] < t1 and r[3] > t0 for r in rows):
            bad.append(f"{name}: {c} never failed while it was on")
    inc = sorted({r[0] for r in rows if r[4] == 4 and r[2] < t1 and r[3] > t0})
    print(f"{name}: failed {sorted(fails)}; inconclusive {inc}")
for b in bad:
    print("VIOLATION:", b)
sys.exit(1 if bad else 0)
PYEOF

# the report names the faults' checks only, and lists inconclusive ones with a cause
$PY - "$d/reports/report.json" <<'PYEOF' || fail "report.json"
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["checks"]:
    if c["verdict"] == "inconclusive":
        assert c["cause"], c
    print(f"{c['id']}: {c['verdict']}")
assert r["verdict"] == "fail"
PYEOF

echo "ok"
