#!/usr/bin/env bash
# The shipped alerting rules tell the same truth as the verdicts: a real
# Prometheus (Debian's) scrapes conformd's /metrics on loopback with
# manifests/monitoring/alerts.yaml, its `for:` and ranges shortened. On a
# healthy run with every check no alert fires (checks judged on identities,
# probes and certificates have no request series of their own, and must not
# look like "no traffic"); under retries-off, ConformCheckFailing fires for
# retry.http and nothing else does.
# e2e: alone (measures time)
source "$(dirname "$0")/../lib/e2e.sh"

command -v prometheus >/dev/null || fail "prometheus not installed (make deps installs it)"
MON="$(cd "$(dirname "$0")/../.." && pwd)/manifests/monitoring"
P="$E2E_TMP/prom"
mkdir -p "$P/data"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
PPORT=$(free_port)

# the shipped rules with minutes made seconds, so a test can wait them out
sed -e 's/for: 10m/for: 8s/; s/for: 5m/for: 6s/; s/for: 2m/for: 4s/' \
    -e 's/\[10m\]/[20s]/g; s/\[5m\]/[10s]/g' "$MON/alerts.yaml" >"$P/rules.yaml"
grep -q 'for: 8s' "$P/rules.yaml" || fail "could not shorten the rules"
promtool check rules "$P/rules.yaml" >/dev/null || fail "promtool check rules"
cat >"$P/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$P/rules.yaml"]
scrape_configs:
  - job_name: conform
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF

# 4 s windows: conformd probes every 2 s, so every window of the probe-judged
# checks holds a probe
note "conform start --mesh haproxy --window 4s --metrics-addr 127.0.0.1:$MPORT (every check)"
"$CONFORM" start --duration 0 --window 4s --rate 20 --mesh haproxy \
	--metrics-addr "127.0.0.1:$MPORT" >/dev/null || fail "start"
d=$(run_dir)
wait_for 60 "every check passing" status_has \
	'all(c["windows"]["pass"] >= 1 and c["windows"]["fail"] == 0 for c in s["checks"] if c["verdict"] != "skip")'

prometheus --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$P/log" 2>&1 &
PROM=$!
trap 'kill -TERM $PROM 2>/dev/null; wait $PROM 2>/dev/null; e2e_cleanup' EXIT

alerts() { curl -sf --max-time 5 "http://127.0.0.1:$PPORT/api/v1/alerts"; }
# firing [pending]: "name/check" of each alert in that state, sorted
firing() {
	alerts | $PY -c '
import json, sys
a = json.load(sys.stdin)["data"]["alerts"]
states = sys.argv[1:] or ["firing"]
print(" ".join(sorted(x["labels"]["alertname"] + "/" + x["labels"].get("check", "-")
                      for x in a if x["state"] in states)))' "$@"
}
scraped() {
	curl -sf --max-time 5 "http://127.0.0.1:$PPORT/api/v1/query?query=up%7Bjob%3D%22conform%22%7D" |
		$PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and r[0]["value"][1]=="1" else 1)'
}
wait_for 30 "prometheus scraping conformd" scraped

note "healthy: no alert may fire in 30s (the longest for: is 8s, the longest range 20s)"
end=$((SECONDS + 30))
pend=
while [ $SECONDS -lt $end ]; do
	f=$(firing) || fail "alerts API"
	[ -z "$f" ] || { cat "$P/log"; fail "alerts firing on a healthy run: $f"; }
	p=$(firing pending) && [ -n "$p" ] && pend="$pend $p"
	sleep 1
done
echo "healthy: no alert fired in 30s${pend:+ (pending at times:$pend)}"

note "retries-off on http-client: ConformCheckFailing for retry.http, nothing else"
"$CONFORM" fault retries-off --target http-client >/dev/null || fail "fault retries-off"
has_retry_alert() { [ "$(firing)" = "ConformCheckFailing/retry.http" ]; }
wait_for 40 "ConformCheckFailing/retry.http firing" has_retry_alert
# and nothing else starts firing while the fault goes on
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do
	f=$(firing) || fail "alerts API"
	[ "$f" = "ConformCheckFailing/retry.http" ] || fail "under retries-off, firing: $f"
	sleep 1
done
echo "under retries-off: $(firing)"
"$CONFORM" stop >/dev/null
check_no_signal_deaths "$d"
echo "ok"
