#!/usr/bin/env bash
# linkerd_fixtures.sh - the Linkerd proxy metric fixtures
# (test/fixtures/linkerd/*.prom) are checked by Prometheus' own parser
# (promtool, from the prometheus package scripts/deps.sh installs), so the
# unit tests' numbers rest on text a real scraper accepts. promtool exits 1
# on a parse error and 3 on lint remarks only (names the proxy does not
# choose, e.g. response_latency_ms), so 0 and 3 pass. A malformed control
# input must be refused, or this test proves nothing.
set -u
cd "$(dirname "$0")/../.." || exit 2
command -v promtool >/dev/null || { echo "promtool missing: run scripts/deps.sh" >&2; exit 1; }
fail=0
n=0
for f in test/fixtures/linkerd/*.prom; do
	out=$(promtool check metrics <"$f" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
		echo "FAIL $f: promtool exit $rc: $out"
		fail=1
	else
		echo "ok $f"
	fi
done
[ $n -ge 7 ] || { echo "FAIL: only $n fixtures found"; fail=1; }
if printf 'request_total{tls="true" 1\n' | promtool check metrics >/dev/null 2>&1; then
	echo "FAIL: promtool accepted a malformed control line"
	fail=1
fi
exit $fail
