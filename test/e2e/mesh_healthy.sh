#!/usr/bin/env bash
# A healthy run on the HAProxy mesh: every check passes, the split shift is
# reported with the time it took to converge, client totals equal report
# totals, and the run exits 0. Also the statistical checks' bounds do not cry
# wolf: at an elevated rate no split or retry window fails.
source "$(dirname "$0")/../lib/e2e.sh"

DUR=${MESH_HEALTHY_DURATION:-60s}
"$CONFORM" run --duration "$DUR" --window 5s --mesh haproxy --rate 40
rc=$?
d=$(run_dir)
[ -n "$d" ] || fail "no run directory"
check_reports "$d"
$PY - "$d/reports/report.json" <<'PYEOF' || fail "healthy mesh verdicts"
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for c in r["checks"]:
    print(f'{c["id"]:16} {c["verdict"]:5} windows={c["windows"]} requests={c["requests"]["total"]}: {c["reason"]}')
    if c["verdict"] != "pass":
        bad.append(c["id"])
ids = {c["id"] for c in r["checks"]}
for want in ("mtls.identity", "mtls.enforced", "retry.http", "split.weights", "split.shift",
             "tap.live", "timeout.http", "identity.expiry", "http.basic", "grpc.basic", "grpc.stream"):
    assert want in ids, want
for c in r["checks"]:
    if c["id"] in ("split.weights", "retry.http"):
        assert c["windows"]["fail"] == 0, c
shift = [c for c in r["checks"] if c["id"] == "split.shift"][0]
assert "converged" in shift["reason"], shift["reason"]
assert not bad, bad
assert r["verdict"] == "pass"
PYEOF
[ $rc -eq 0 ] || fail "conform run on a healthy mesh exited $rc, want 0"
check_totals "$d"
check_no_signal_deaths "$d"
echo "ok"
