#!/usr/bin/env bash
# soak.sh - `make soak`: does a long run stay bounded? One real run at an
# elevated rate; every process of it (conformd, every workload, every
# sidecar) is sampled for resident memory (VmRSS) and open file descriptors
# (/proc/PID/fd) every SOAK_INTERVAL seconds into <run-dir>/soak.csv, and the
# database (conform.db + conform.db-wal) into <run-dir>/soak-db.csv.
#
# The rule (D = the run's length, T = the threshold, default 5 %):
#   the first 20 % of D is warm-up. Per process, "start" is the median of
#   the samples taken in the second half of the warm-up (0.1 D .. 0.2 D) and
#   "end" the median of the samples in the last quarter (>= 0.75 D).
#   RSS fails when (end - start) / start is beyond +-T %; fds fail when they
#   moved by more than T % and by more than 2 (a couple of connections more
#   or less is not a leak). A process that disappeared, changed pid (was
#   restarted) or was never sampled fails too, and so does a soak that found
#   no process at all.
# Exit 0 bounded, 1 growth (the offending figures are printed), 2 setup error.
#
#   test/bench/soak.sh [--mesh M] [--rate N] [--window D] [--checks LIST]
#                      [--threshold PCT] [--interval S]
#   test/bench/soak.sh --analyze SOAK_CSV DB_CSV   judge samples of an earlier
#                      soak (SOAK_SECONDS = its length) without starting a run
#   SOAK_SECONDS (default 600), SOAK_THRESHOLD (5), SOAK_INTERVAL (5),
#   SOAK_KEEP=1 keeps the state directory (it is kept anyway on failure);
#   SOAK_DIR=DIR works in DIR (keep its path short: sockets live under it).
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
BUILD=${BUILD:-build}
BIN=${CONFORM_BIN:-$ROOT/$BUILD/bin}
SECS=${SOAK_SECONDS:-600}
THRESH=${SOAK_THRESHOLD:-5}
INTERVAL=${SOAK_INTERVAL:-5}
MESH=haproxy
RATE=200
WINDOW=10s
CHECKS=
ANALYZE=()

while [ $# -gt 0 ]; do
	case $1 in
	--mesh) MESH=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--checks) CHECKS=$2; shift 2 ;;
	--threshold) THRESH=$2; shift 2 ;;
	--interval) INTERVAL=$2; shift 2 ;;
	--analyze) ANALYZE=("$2" "$3"); shift 3 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak: unknown argument $1" >&2; exit 2 ;;
	esac
done
for v in "$SECS" "$INTERVAL"; do
	[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] || { echo "soak: bad seconds '$v'" >&2; exit 2; }
done
[[ "$THRESH" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "soak: bad threshold '$THRESH'" >&2; exit 2; }

# analyze CSV DBCSV NCHECKS FINAL_DB: the table, the database figures and the
# verdict of the rule above; exit status 0 bounded, 1 not
analyze() {
	python3 - "$1" "$2" "$SECS" "$THRESH" "$3" "$4" "$RATE" <<'EOF'
import csv, statistics, sys

path, dbpath, secs, thresh, nchecks, final_db, rate = sys.argv[1:8]
secs, thresh, nchecks, final_db = int(secs), float(thresh), int(nchecks), int(final_db)
rows = list(csv.DictReader(open(path)))
if not rows:
    print("SOAK FAIL: sampling found no processes")
    sys.exit(1)

times = sorted({int(r["t_s"]) for r in rows})
warm = 0.2 * secs
procs = {}
for r in rows:
    procs.setdefault(r["process"], []).append(
        (int(r["t_s"]), int(r["pid"]), int(r["rss_kb"]), int(r["fds"])))

def pick(samples, lo, hi):
    s = [x for x in samples if lo <= x[0] <= hi]
    if not s:   # too few samples in the span: the one nearest to it
        mid = (lo + hi) / 2
        s = [min(samples, key=lambda x: abs(x[0] - mid))]
    return s

fails = []
print()
print("%-24s %9s %9s %8s %8s %5s %5s %8s" % ("process", "rss0_kB", "rss1_kB", "growth", "late", "fds0",
                                             "fds1", "samples"))
for name in sorted(procs, key=lambda n: (n != "conformd", n)):
    s = sorted(procs[name])
    start = pick(s, 0.1 * secs, warm)
    end = pick(s, 0.75 * secs, secs)
    r0 = statistics.median(x[2] for x in start)
    r1 = statistics.median(x[2] for x in end)
    f0 = statistics.median(x[3] for x in start)
    f1 = statistics.median(x[3] for x in end)
    g = (r1 - r0) * 100.0 / r0 if r0 else 0.0
    # informational: still growing late (last quarter vs 0.4-0.5 D), or a plateau?
    rm = statistics.median(x[2] for x in pick(s, 0.4 * secs, 0.5 * secs))
    late = (r1 - rm) * 100.0 / rm if rm else 0.0
    print("%-24s %9.0f %9.0f %+7.1f%% %+7.1f%% %5.0f %5.0f %8d" % (name, r0, r1, g, late, f0, f1,
                                                                 len(s)))
    if abs(g) > thresh:
        fails.append(f"{name}: RSS {r0:.0f} -> {r1:.0f} kB ({g:+.1f}%, limit +-{thresh:g}%)")
    fg = (f1 - f0) * 100.0 / f0 if f0 else 0.0
    # fds: growth only. A fall is a late warm-up's catch-up connections
    # closing (a client behind its schedule on a loaded machine opens many at
    # once), not a leak; a leak only grows.
    if fg > thresh and f1 - f0 > 2:
        fails.append(f"{name}: fds {f0:.0f} -> {f1:.0f} ({fg:+.1f}%, limit +{thresh:g}% and 2)")
    pids = sorted({x[1] for x in s})
    if len(pids) > 1:
        fails.append(f"{name}: pid changed during the soak ({', '.join(map(str, pids))}): restarted")
    if s[-1][0] < times[-1]:
        fails.append(f"{name}: gone after t={s[-1][0]}s (last sample at t={times[-1]}s)")
    if s[0][0] > warm:
        fails.append(f"{name}: first seen at t={s[0][0]}s, after the warm-up")

db = [(int(r["t_s"]), int(r["db_bytes"]), int(r["wal_bytes"])) for r in csv.DictReader(open(dbpath))]
print()
print("database over time (conform.db + conform.db-wal):")
print("%8s %12s %12s %12s" % ("t_s", "db_bytes", "wal_bytes", "total"))
step = max(1, len(db) // 10)
shown = db[::step]
if db and shown[-1] != db[-1]:
    shown.append(db[-1])
for t, d, w in shown:
    print("%8d %12d %12d %12d" % (t, d, w, d + w))
if final_db:
    print("%8s %12d %12s %12d" % ("stopped", final_db, "-", final_db))
if nchecks and secs:
    per_s = final_db / (nchecks * secs)
    print(f"database: {final_db} bytes for {nchecks} checks x {secs} s at {rate} req/s per check:"
          f" {per_s:.0f} B per check-second, {per_s * 3600 / 1e6:.2f} MB per check-hour,"
          f" {per_s * 86400 / 1e6:.1f} MB per check-day (extrapolated)")

print()
print("late = RSS of the last quarter vs 0.4..0.5 of the run (not judged): near 0 is a"
      " plateau, positive is still growing")
print(f"rule: start = median of samples in {0.1 * secs:.0f}..{warm:.0f} s (end of the warm-up),"
      f" end = median of samples in {0.75 * secs:.0f}..{secs} s (last quarter);"
      f" fail when RSS moves beyond +-{thresh:g}%, or fds grow beyond +{thresh:g}% and by more than 2")
if fails:
    for f in fails:
        print("SOAK FAIL: " + f)
    sys.exit(1)
print(f"SOAK OK: {len(procs)} processes bounded over {secs} s")
EOF
}

if [ ${#ANALYZE[@]} -eq 2 ]; then   # judge samples taken before, nothing started
	analyze "${ANALYZE[0]}" "${ANALYZE[1]}" 0 0
	exit $?
fi

[ -x "$BIN/conform" ] && [ -x "$BIN/conformd" ] || { echo "soak: missing $BIN/conform (make)" >&2; exit 2; }

KEEP=${SOAK_KEEP:-0}
if [ -n "${SOAK_DIR:-}" ]; then   # the caller's directory, the caller's to remove
	mkdir -p "$SOAK_DIR" || exit 2
	W=$(cd "$SOAK_DIR" && pwd)
	KEEP=1
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/conform-soak.XXXXXX")
fi
STATE="$W/state"
export NO_COLOR=1

cleanup() {
	local pid
	if [ -L "$STATE/current" ]; then
		timeout 60 "$BIN/conform" stop --state-dir "$STATE" >/dev/null 2>&1
	fi
	# a monitor that did not stop is ours to end, by its pid
	for f in "$STATE"/runs/*/conformd.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null)
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then echo "soak: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "soak: ${SECS}s, --mesh $MESH --rate $RATE --window $WINDOW${CHECKS:+ --checks $CHECKS}," \
	"sample every ${INTERVAL}s, threshold +-${THRESH}%"
args=(start --duration 0 --mesh "$MESH" --rate "$RATE" --window "$WINDOW" --state-dir "$STATE")
[ -n "$CHECKS" ] && args+=(--checks "$CHECKS")
if ! timeout 120 "$BIN/conform" "${args[@]}" >"$W/start.log" 2>&1; then
	echo "soak: conform start failed:" >&2
	tail -n 20 "$W/start.log" >&2
	KEEP=1
	exit 2
fi
RUN=$(readlink -f "$STATE/current")
CSV="$RUN/soak.csv"
DBCSV="$RUN/soak-db.csv"
echo "t_s,process,pid,rss_kb,fds" >"$CSV"
echo "t_s,db_bytes,wal_bytes" >"$DBCSV"
echo "soak: run $RUN"

fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }

# one sample of every process of the run at elapsed second $1
sample() {
	local t=$1 name pid rss fds
	{
		pid=$(cat "$RUN/conformd.pid" 2>/dev/null)
		[ -n "$pid" ] && echo "conformd $pid"
		timeout 10 "$BIN/conform" status --json --state-dir "$STATE" 2>/dev/null |
			python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for w in s.get("workloads", []):
    if w.get("pid") and w.get("state") == "running":
        print(w["name"], w["pid"])
'
	} | while read -r name pid; do
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)
		fds=$(ls -1 "/proc/$pid/fd" 2>/dev/null | wc -l)
		[ -n "$rss" ] && [ "$fds" -gt 0 ] && echo "$t,$name,$pid,$rss,$fds"
	done >>"$CSV"
	echo "$t,$(fsize "$RUN/conform.db"),$(fsize "$RUN/conform.db-wal")" >>"$DBCSV"
}

# one progress line a minute on a long wait: elapsed, processes sampled,
# conformd's RSS and the store's size at the latest sample
progress() {
	local t=$1
	awk -F, -v t="$t" -v secs="$SECS" -v db="$(fsize "$RUN/conform.db")" '
		$1 == t { n++; if ($2 == "conformd") rss = $4 }
		END { printf "soak: %ds of %ds: %d processes, conformd %.1f MB, store %.1f MB\n",
			t, secs, n, rss / 1024, db / 1048576 }' "$CSV"
}

t0=$(date +%s)
next=0
next_progress=60
while :; do
	now=$(date +%s)
	el=$((now - t0))
	if [ "$el" -ge "$next" ]; then
		sample "$el"
		next=$((next + INTERVAL))
		if [ "$el" -ge "$next_progress" ] && [ "$el" -lt "$SECS" ]; then
			progress "$el"
			next_progress=$((next_progress + 60))
		fi
	fi
	[ "$el" -ge "$SECS" ] && break
	# sleep up to the next sample time: this is the sampling period itself
	sleep "$(python3 -c "import time; print(max(0.05, $t0 + $next - time.time()))")"
done

nchecks=$(timeout 10 "$BIN/conform" status --json --state-dir "$STATE" 2>/dev/null |
	python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(1 for c in s["checks"] if c.get("state") != "skip"))' 2>/dev/null)
echo "soak: stopping the run"
timeout 120 "$BIN/conform" stop --state-dir "$STATE" >"$W/stop.log" 2>&1
stop_rc=$?
# after a clean stop the WAL is checkpointed into conform.db: its size is the data
final_db=$(( $(fsize "$RUN/conform.db") + $(fsize "$RUN/conform.db-wal") ))
echo "soak: conform stop exited $stop_rc: $(head -n 1 "$W/stop.log")"

analyze "$CSV" "$DBCSV" "${nchecks:-0}" "$final_db"
rc=$?
[ $rc -ne 0 ] && KEEP=1
if [ "$KEEP" = 1 ]; then echo "soak: samples in $CSV"; else echo "soak: SOAK_KEEP=1 keeps the samples ($(basename "$CSV"))"; fi
exit $rc
