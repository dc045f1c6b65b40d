#!/usr/bin/env bash
# A healthy run on the HAProxy mesh: every check passes, the split shift is
# reported with the time it took to converge, client totals equal report
# totals, and the run exits 0. Also the statistical checks' bounds do not cry
# wolf: at an elevated rate (40 req/s, 200 requests per window) no split or
# retry window fails. (This run also stands for the statistics scenario that
# had a run of its own: one healthy run, shared.)
# e2e: long (starts first when no durations are known)
source "$(dirname "$0")/../lib/e2e.sh"

DUR=${MESH_HEALTHY_DURATION:-60s}
"$CONFORM" run --duration "$DUR" --window 5s --mesh haproxy --rate 40 >"$E2E_TMP/run.out"
rc=$?
cat "$E2E_TMP/run.out"
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
# the statistical checks at 200 requests per window (their false-alarm rate
# over 10^5 windows is test_power's): judged in most windows, none failing
for c in r["checks"]:
    if c["id"] in ("split.weights", "retry.http"):
        assert c["windows"]["fail"] == 0, c
        assert c["windows"]["pass"] >= 8, c
        assert c["requests"]["total"] >= 2000, c
shift = [c for c in r["checks"] if c["id"] == "split.shift"][0]
assert "converged" in shift["reason"], shift["reason"]
assert not bad, bad
assert r["verdict"] == "pass"
PYEOF
[ $rc -eq 0 ] || fail "conform run on a healthy mesh exited $rc, want 0"
# checks judged on handshakes, probes, certificates or events show a dash, not
# "0 requests"; the summary says what FAILED counts (timeout.http's own 504s)
grep -Eq '^mtls\.identity +pass +[0-9]+/0/[0-9]+/0 +- +- +-$' "$E2E_TMP/run.out" ||
	fail "summary: mtls.identity row should show - for requests, failed and p99"
grep -Eq '^timeout\.http +pass +[0-9/]+ +[1-9][0-9]* +[1-9][0-9]* ' "$E2E_TMP/run.out" ||
	fail "summary: timeout.http row should count its requests and its provoked 504s"
grep -q "failures it provokes" "$E2E_TMP/run.out" || fail "summary: no legend for FAILED"
grep -Eq '^\| mtls\.identity .* \| - \| - \| all [0-9]+ requests arrived' "$d/reports/report.md" ||
	fail "report.md: mtls.identity row should show - and its reason"
grep -Eq '^\| timeout\.http .* slow requests cut with 504' "$d/reports/report.md" ||
	fail "report.md: timeout.http row should give its reason"
check_totals "$d"
check_no_signal_deaths "$d"
echo "ok"
