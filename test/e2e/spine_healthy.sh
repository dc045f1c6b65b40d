#!/usr/bin/env bash
# A healthy ~20 s local run without a mesh: all three spine checks pass, the
# run exits 0, the three reports parse and carry the documented fields, and the
# clients' own request totals equal the report's totals exactly.
source "$(dirname "$0")/../lib/e2e.sh"

note "conform run --duration 20s --window 5s --mesh none --checks http.basic,grpc.basic,grpc.stream"
"$CONFORM" run --duration 20s --window 5s --mesh none --checks http.basic,grpc.basic,grpc.stream --rate 20
rc=$?
d=$(run_dir)
[ -n "$d" ] || fail "no run directory was created"
[ $rc -eq 0 ] || { tail -n 30 "$d/logs/conformd.log"; fail "conform run exited $rc, want 0"; }
check_reports "$d"
for c in http.basic grpc.basic grpc.stream; do
	check_verdict "$d" "$c" pass
done
# each check had real traffic: 20 req/s for ~20 s
$PY - "$d/reports/report.json" <<'PYEOF' || fail "too little traffic"
import json, sys
r = json.load(open(sys.argv[1]))
spine = [c for c in r["checks"] if c["verdict"] != "skip"]
assert sorted(c["id"] for c in spine) == ["grpc.basic", "grpc.stream", "http.basic"], spine
for c in spine:
    print(c["id"], c["requests"], c["windows"])
    assert c["requests"]["total"] >= 200, c["id"]
    assert c["requests"]["failed"] == 0, c["id"]
    assert c["windows"]["pass"] >= 3, c["id"]
assert r["run"]["mesh"] == "none"
assert r["run"]["duration_s"] >= 19
PYEOF
check_totals "$d"
check_no_signal_deaths "$d"
# junit: one testcase per check, none failed
$PY - "$d/reports/junit.xml" <<'PYEOF' || fail "junit.xml content"
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
cases = s.findall("testcase")
assert len(cases) >= 3, len(cases)
assert not any(c.find("failure") is not None for c in cases)
PYEOF
grep -q "http.basic" "$d/reports/report.md" || fail "report.md lacks the checks table"
[ ! -L "$STATE/current" ] || fail "current still names a finished run"
echo "ok"
