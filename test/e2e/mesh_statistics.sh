#!/usr/bin/env bash
# The statistical checks do not cry wolf: a healthy run of a few minutes at
# an elevated rate (hundreds of requests per window) on the HAProxy mesh has
# zero failing windows for split.weights, split.shift and retry.http, whose
# bounds are exact binomial bounds at alpha = 1e-6 per window.
# e2e: alone (its bounds are judged at a high rate: no CPU contention)
source "$(dirname "$0")/../lib/e2e.sh"

DUR=${MESH_STATS_DURATION:-120s}
"$CONFORM" run --duration "$DUR" --window 5s --mesh haproxy --rate 100 \
	--checks split.weights,split.shift,retry.http
rc=$?
d=$(run_dir)
[ -n "$d" ] || fail "no run directory"
check_reports "$d"
$PY - "$d/reports/report.json" <<'PYEOF' || fail "a statistical check failed a window on a healthy mesh"
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["checks"]:
    if c["verdict"] == "skip":
        continue
    print(f'{c["id"]:14} {c["verdict"]:5} windows={c["windows"]} requests={c["requests"]["total"]}: {c["reason"]}')
    assert c["windows"]["fail"] == 0, c["id"]
    assert c["windows"]["pass"] >= 10, c["id"]   # judged, not only "no data"
    assert c["requests"]["total"] >= 5000 or c["id"] == "split.shift", c["id"]
PYEOF
[ $rc -eq 0 ] || fail "run exited $rc, want 0"
check_no_signal_deaths "$d"
echo "ok"
