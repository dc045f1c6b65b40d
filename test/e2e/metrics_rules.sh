#!/usr/bin/env bash
# GET /metrics of a real conformd, and the monitoring assets built on it:
# the exposition parses (HELP/TYPE before samples, cumulative histograms
# ending at +Inf == _count), agrees with `conform status`, and every metric
# that manifests/monitoring/alerts.yaml and grafana-dashboard.json use is
# really served. Then `promtool check metrics` on what was served, `promtool check rules`, and a rule unit test proving the
# failing-check and monitor-down alerts fire.
source "$(dirname "$0")/../lib/e2e.sh"

MON="$(cd "$(dirname "$0")/../.." && pwd)/manifests/monitoring"
[ -f "$MON/alerts.yaml" ] && [ -f "$MON/grafana-dashboard.json" ] || fail "monitoring assets missing"

note "conform start --duration 60s --window 2s --mesh none --checks http.basic,grpc.basic,grpc.stream"
"$CONFORM" start --duration 60s --window 2s --mesh none --checks http.basic,grpc.basic,grpc.stream >/dev/null || fail "conform start failed"
d=$(run_dir)
[ -S "$d/conformd.sock" ] || fail "no API socket in $d"
wait_for 30 "every check evaluated at least one window" \
	status_has "all(c['windows']['pass'] + c['windows']['fail'] + c['windows']['nodata'] > 0 for c in s['checks'] if c['verdict'] != 'skip')"

m="$E2E_TMP/metrics.txt"
hdr="$E2E_TMP/metrics.hdr"
# status before and after the scrape: every count must lie between the two
"$CONFORM" status --json >"$E2E_TMP/before.json" || fail "conform status failed"
curl -sf --max-time 10 --unix-socket "$d/conformd.sock" -D "$hdr" http://conformd/metrics -o "$m" ||
	fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$hdr" || { cat "$hdr"; fail "wrong content type"; }
"$CONFORM" status --json >"$E2E_TMP/after.json" || fail "conform status failed"
head -n 12 "$m"

note "parse the exposition, compare with status"
$PY - "$m" "$E2E_TMP/before.json" "$E2E_TMP/after.json" <<'PYEOF' || fail "the exposition is not what it must be"
import json, math, re, sys
text = open(sys.argv[1]).read()
st = json.load(open(sys.argv[2]))
st2 = json.load(open(sys.argv[3]))
after = {c["id"]: c for c in st2["checks"]}
assert text.endswith("\n")
types, helps, samples, seen_families = {}, set(), [], []
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
def family(name):
    if name in types:
        return name
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[: -len(suf)]) == "histogram":
            return name[: -len(suf)]
    return None
for line in text.splitlines():
    if line.startswith("# HELP "):
        helps.add(line.split()[2]); continue
    if line.startswith("# TYPE "):
        _, _, n, t = line.split()
        assert n not in types, "TYPE twice: " + n
        types[n] = t; continue
    if line.startswith("#"):
        continue
    mm = sample_re.match(line)
    assert mm, "bad line: " + line
    name, labels, value = mm.group(1), mm.group(3) or "", mm.group(4)
    f = family(name)
    assert f and f in helps, "no HELP/TYPE before " + name
    if seen_families and seen_families[-1] != f:
        assert f not in seen_families, "samples of %s not grouped" % f
    if not seen_families or seen_families[-1] != f:
        seen_families.append(f)
    lab = dict((k, v) for k, v, _ in label_re.findall(labels))
    v = math.inf if value == "+Inf" else float(value)
    samples.append((name, lab, v))
def get(name, **lab):
    r = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in lab.items())]
    assert len(r) == 1, (name, lab, r)
    return r[0]
# histograms: cumulative, +Inf == _count
for c in st["checks"]:
    if c["verdict"] == "skip":
        continue
    if c["state"] == "skip":
        continue
    b = [(float(l["le"]) if l["le"] != "+Inf" else math.inf, v) for n, l, v in samples
         if n == "conform_request_duration_seconds_bucket" and l["check"] == c["id"]]
    assert b and b[-1][0] == math.inf, c["id"]
    assert all(b[i][0] < b[i + 1][0] and b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), b
    assert b[-1][1] == get("conform_request_duration_seconds_count", check=c["id"])
    # the same run as status just before and just after: counts lie between
    a = after[c["id"]]
    assert get("conform_check_state", check=c["id"]) in (0, 1, 2)
    for r in ("pass", "fail", "nodata"):
        assert c["windows"][r] <= get("conform_check_windows_total", check=c["id"], result=r) <= a["windows"][r], (c["id"], r)
    total = sum(v for n, l, v in samples if n == "conform_requests_total" and l["check"] == c["id"])
    assert 0 < c["requests"]["total"] <= total <= a["requests"]["total"], (c["id"], total, c["requests"])
    assert c["requests"]["ok"] <= get("conform_requests_total", check=c["id"], outcome="ok") <= a["requests"]["ok"]
run = st["run"]
assert get("conform_run_info", run_id=run["id"], platform=run["platform"], mesh=run["mesh"]) == 1
assert get("conform_monitor_up") == 1
assert get("conform_run_final") == 0
assert run["elapsed_s"] - 0.01 <= get("conform_run_elapsed_seconds") <= st2["run"]["elapsed_s"] + 0.01
assert get("conform_batches_total", result="accepted") > 0
print("exposition ok:", len(samples), "samples,", len(types), "families")
PYEOF

note "every metric of alerts.yaml and the dashboard is served"
$PY - "$m" "$MON/alerts.yaml" "$MON/grafana-dashboard.json" <<'PYEOF' || fail "the monitoring assets use metrics /metrics does not serve"
import json, re, sys
served = set()
for line in open(sys.argv[1]):
    if not line.startswith("#"):
        served.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
json.load(open(sys.argv[3]))   # the dashboard is valid JSON
for path in sys.argv[2:]:
    used = set(re.findall(r"\bconform_[a-z0-9_]+\b", open(path).read()))
    assert used, "no conform metric in " + path
    missing = sorted(used - served)
    print(path.split("/")[-1], "uses", sorted(used))
    assert not missing, "%s uses metrics that are not served: %s" % (path, missing)
PYEOF

command -v promtool >/dev/null 2>&1 ||
	fail "promtool not installed (Debian package prometheus; make deps installs it)"
{
	note "promtool check metrics / check rules / test rules"
	# promtool lints names and help too; it prints problems and exits non-zero
	promtool check metrics <"$m" || fail "promtool check metrics"
	promtool check rules "$MON/alerts.yaml" || fail "promtool check rules"
	cp "$MON/alerts.yaml" "$E2E_TMP/alerts.yaml"
	cat >"$E2E_TMP/alerts_test.yaml" <<'EOF'
rule_files: [alerts.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'conform_check_state{job="conform",check="http.basic"}'
        values: '1 1 2 2 2 2 2 2 2 2'
      - series: 'conform_check_state{job="conform",check="grpc.basic"}'
        values: '1 1 1 1 1 1 1 1 1 1'
      - series: 'conform_run_info{job="conform",run_id="r1",platform="local",mesh="none"}'
        values: '1x10'
      - series: 'conform_monitor_up{job="conform"}'
        values: '1x10'
      - series: 'up{job="conform"}'
        values: '1 1 1 1 0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 5m
        alertname: ConformCheckFailing
        exp_alerts: []
      - eval_time: 8m
        alertname: ConformCheckFailing
        exp_alerts:
          - exp_labels: {severity: page, job: conform, check: http.basic}
            exp_annotations:
              summary: "conform: http.basic failing for 5 minutes"
              description: "Check http.basic of run r1 has failed every window for at least 5 minutes: the mesh is not keeping this promise. `conform report --format html` shows when it started and why."
      - eval_time: 7m
        alertname: ConformMonitorDown
        exp_alerts:
          - exp_labels: {severity: page, job: conform}
            exp_annotations:
              summary: "conform: the monitor (conformd) is down"
              description: "Prometheus cannot scrape conformd for 2 minutes; no check is being judged."
      - eval_time: 9m
        alertname: ConformMonitorAbsent
        exp_alerts: []
EOF
	(cd "$E2E_TMP" && promtool test rules alerts_test.yaml) || fail "promtool test rules"
}

note "conform stop"
"$CONFORM" stop >/dev/null || fail "conform stop failed"
[ -s "$d/reports/report.html" ] || fail "stop wrote no report.html"
check_no_signal_deaths "$d"
echo "ok"
