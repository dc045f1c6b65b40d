#!/usr/bin/env bash
# runs_history.sh - three real short runs in one state dir (one passing, two
# where mtls.identity fails under --mesh none): `conform runs` lists them with
# verdicts and failed counts, `conform history` shows each check's strip and
# since when mtls.identity fails (first run of the streak, first window).
# The runs also write their reports where CI wants them (--junit/--html/--md,
# GITHUB_STEP_SUMMARY), and the last one is a Sonobuoy plugin: its results
# layout (junit.xml, report.json, report.html, results.tar.gz, done) and its
# progress POSTs, recorded by a loopback receiver that refuses bad updates.
source "$(dirname "$0")/../lib/e2e.sh"

ci=$E2E_TMP/ci
mkdir -p "$ci"

note "run 1: http.basic on --mesh none (passes)"
"$CONFORM" run --duration 10s --window 5s --rate 20 --mesh none --checks http.basic \
	>"$E2E_TMP/run1.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$E2E_TMP/run1.out"; fail "run 1 exited $rc, want 0"; }
R1=$(basename "$(run_dir)")

note "run 2: mtls.identity fails without a mesh; reports copied for CI"
: >"$ci/summary.md"
GITHUB_STEP_SUMMARY="$ci/summary.md" "$CONFORM" run --duration 10s --window 5s --rate 20 \
	--mesh none --checks http.basic,mtls.identity \
	--junit "$ci/junit.xml" --html "$ci/report.html" --md "$ci/report.md" >"$E2E_TMP/run2.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$E2E_TMP/run2.out"; fail "run 2 exited $rc, want 1"; }
R2=$(basename "$(run_dir)")
[ "$R2" != "$R1" ] || fail "run 2 has run 1's id"
for f in junit.xml report.html report.md; do
	cmp -s "$ci/$f" "$STATE/runs/$R2/reports/$f" || fail "--${f%%.*} copy of $f differs from the run's"
done
xmllint --noout "$ci/junit.xml" || fail "--junit output is not XML"
cmp -s "$ci/summary.md" "$STATE/runs/$R2/reports/report.md" ||
	fail "GITHUB_STEP_SUMMARY does not hold report.md"

note "run 3: the same failure, as a Sonobuoy plugin"
results=$E2E_TMP/sonobuoy/results
cat >"$E2E_TMP/progress.py" <<'PYEOF'
# a stand-in for the Sonobuoy worker's progress endpoint: POST /progress with
# a JSON ProgressUpdate ({msg,total,completed,failures,errors}); anything else
# is refused the way a strict server would.
import http.server, json, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if 0 < n < 65536 else b""
        try:
            if self.path != "/progress":
                raise ValueError("path " + self.path)
            u = json.loads(body)
            assert isinstance(u["msg"], str) and u["msg"]
            assert isinstance(u["total"], int) and isinstance(u["completed"], int)
            assert 0 <= u["completed"] <= u["total"] + 1
            assert isinstance(u.get("failures", []), list) and isinstance(u.get("errors", []), list)
        except Exception as e:
            self.send_response(400); self.end_headers()
            with open(log + ".rejected", "a") as f: f.write(repr(e) + "\n")
            return
        with open(log, "a") as f: f.write(json.dumps(u) + "\n")
        self.send_response(200); self.end_headers()
    def do_GET(self):
        self.send_response(405); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f: f.write(str(s.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.timeout = 1
import time
end = time.time() + 120
while time.time() < end:
    s.handle_request()
PYEOF
$PY "$E2E_TMP/progress.py" "$E2E_TMP/progress.log" "$E2E_TMP/progress.port" &
recv=$!
trap 'kill $recv 2>/dev/null; e2e_cleanup' EXIT
wait_for 10 "progress receiver" test -s "$E2E_TMP/progress.port"
port=$(cat "$E2E_TMP/progress.port")
# the receiver says no to a malformed update
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"msg":1}' "http://127.0.0.1:$port/progress")
[ "$code" = 400 ] || fail "progress receiver accepted a bad update ($code)"
rm -f "$E2E_TMP/progress.log.rejected"

SONOBUOY_RESULTS_DIR=$results SONOBUOY_PROGRESS_PORT=$port "$CONFORM" run --sonobuoy \
	--duration 15s --window 5s --rate 20 --mesh none --checks http.basic,mtls.identity \
	>"$E2E_TMP/run3.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$E2E_TMP/run3.out"; fail "run 3 exited $rc, want 1"; }
R3=$(basename "$(run_dir)")
kill $recv 2>/dev/null; wait $recv 2>/dev/null

for f in junit.xml report.json report.html results.tar.gz done; do
	[ -s "$results/$f" ] || fail "sonobuoy results lack $f"
done
[ "$(cat "$results/done")" = "$results/results.tar.gz" ] ||
	fail "done names '$(cat "$results/done")', want $results/results.tar.gz"
tar -tzf "$results/results.tar.gz" | sort >"$E2E_TMP/tar.list"
printf 'junit.xml\nreport.html\nreport.json\n' | cmp -s - "$E2E_TMP/tar.list" ||
	fail "results.tar.gz holds: $(tr '\n' ' ' <"$E2E_TMP/tar.list")"
xmllint --noout "$results/junit.xml" || fail "sonobuoy junit.xml is not XML"
grep -q 'mtls.identity' "$results/junit.xml" || fail "junit.xml lacks mtls.identity"
[ ! -s "$E2E_TMP/progress.log.rejected" ] ||
	fail "conform posted updates the receiver refused: $(head -3 "$E2E_TMP/progress.log.rejected")"
n=$(wc -l <"$E2E_TMP/progress.log" 2>/dev/null || echo 0)
[ "$n" -ge 2 ] || fail "want >= 2 progress updates in a 15 s run of 5 s windows, got $n"
$PY - "$E2E_TMP/progress.log" "$R3" <<'PYEOF' || fail "progress updates"
import json, sys
ups = [json.loads(l) for l in open(sys.argv[1])]
assert all(sys.argv[2] in u["msg"] for u in ups), ups
assert all(u["total"] == 3 for u in ups), ups
done = [u["completed"] for u in ups]
assert done == sorted(done), done
# failures are the failing checks' ids; the last update follows the reports
assert all(set(u["failures"]) <= {"mtls.identity"} for u in ups), ups
assert ups[-1]["completed"] == 3 and ups[-1]["failures"] == ["mtls.identity"], ups[-1]
assert "finished, not conformant" in ups[-1]["msg"], ups[-1]
PYEOF

note "report.html: link to the previous run's report and a strip per check"
$PY - "$STATE/runs" "$R1" "$R2" "$R3" <<'PYEOF' || fail "report.html history"
import html.parser, os, sys
runs, ids = sys.argv[1], sys.argv[2:5]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.prev = None; self.row = None; self.strips = {}
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "a" and a.get("class") == "prev":
            self.prev = a["href"]
        if tag == "tr" and a.get("class") == "hist":
            self.row = a["id"][len("hist-"):]; self.strips[self.row] = []
        if tag == "rect" and self.row and a.get("class", "").startswith("c-"):
            self.strips[self.row].append(a["class"][2:])
    def handle_endtag(self, tag):
        if tag == "tr": self.row = None
def parse(i):
    p = P(); p.feed(open(os.path.join(runs, ids[i], "reports", "report.html")).read()); return p
p1, p2, p3 = parse(0), parse(1), parse(2)
assert p1.prev is None and not p1.strips, (p1.prev, p1.strips)
assert p2.prev == "../../%s/reports/report.html" % ids[0], p2.prev
assert p3.prev == "../../%s/reports/report.html" % ids[1], p3.prev
# the link leads to a report that exists, relative to the linking one
assert os.path.isfile(os.path.join(runs, ids[2], "reports", p3.prev)), p3.prev
assert p3.strips == {"http.basic": ["pass", "pass", "pass"],
                     "mtls.identity": ["skip", "fail", "fail"]}, p3.strips
assert p2.strips == {"http.basic": ["pass", "pass"], "mtls.identity": ["skip", "fail"]}, p2.strips
PYEOF

note "conform runs"
"$CONFORM" runs >"$E2E_TMP/runs.txt" || fail "conform runs exited $?"
cat "$E2E_TMP/runs.txt"
"$CONFORM" runs --json >"$E2E_TMP/runs.json" || fail "conform runs --json exited $?"
$PY - "$E2E_TMP/runs.json" "$R1" "$R2" "$R3" <<'PYEOF' || fail "runs --json"
import json, sys
d = json.load(open(sys.argv[1]))
runs = d["runs"]
assert [r["id"] for r in runs] == sys.argv[2:5], runs
want = [("pass", 1, 0), ("fail", 2, 1), ("fail", 2, 1)]
for r, (v, n, f) in zip(runs, want):
    assert (r["verdict"], r["checks"], r["failed"]) == (v, n, f), r
    assert r["platform"] == "local" and r["mesh"] == "none", r
    assert r["started"] and r["duration_s"] >= 9, r
PYEOF
grep -q "^$R2 .* fail .* 1 of 2" "$E2E_TMP/runs.txt" || fail "runs text lacks run 2's failure"

note "conform history"
"$CONFORM" history >"$E2E_TMP/history.txt"
rc=$?
cat "$E2E_TMP/history.txt"
[ $rc -eq 1 ] || fail "history exited $rc, want 1 (mtls.identity fails in the latest run)"
grep -q "^http.basic  *PPP  never failed" "$E2E_TMP/history.txt" || fail "http.basic strip"
grep -q "^grpc.basic" "$E2E_TMP/history.txt" && fail "history shows grpc.basic, which no run judged"
grep -q "^mtls.identity  *-FF  failing since run $R2, window " "$E2E_TMP/history.txt" ||
	fail "mtls.identity: want -FF failing since run $R2"
"$CONFORM" history mtls.identity --last 2 --json >"$E2E_TMP/history.json"
rc=$?
[ $rc -eq 1 ] || fail "history mtls.identity --json exited $rc, want 1"
$PY - "$E2E_TMP/history.json" "$R2" "$R3" <<'PYEOF' || fail "history --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["runs"] == sys.argv[2:4], d["runs"]
(c,) = d["checks"]
assert c["id"] == "mtls.identity" and c["verdicts"] == ["fail", "fail"], c
lf = c["latest_failure"]
assert lf["run"] == sys.argv[3] and lf["first_run"] == sys.argv[2], lf
w = lf["first_window"]
assert w["idx"] >= 0 and w["start"].endswith("Z") and "mesh" in w["reason"], w
PYEOF
"$CONFORM" history http.basic >/dev/null || fail "history http.basic exited $?, want 0"
"$CONFORM" history no.such >/dev/null 2>&1
[ $? -eq 2 ] || fail "history with an unknown check should exit 2"
echo "ok"
