#!/usr/bin/env bash
# report.html in a real browser: a short local run writes reports/report.html,
# `conform report --format html --out F` renders the same run again, and
# headless Chromium (offline: no network services, fresh profile) must load
# both without console errors, draw a screenshot of sane size and show the
# check rows and the SVG timeline and charts in its DOM.
# Fails when /usr/bin/chromium is not installed (make deps installs it).
source "$(dirname "$0")/../lib/e2e.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	fail "chromium not installed ($CHROMIUM; Debian package chromium, make deps installs it)"
fi

note "conform run --duration 10s --window 2s --mesh none"
"$CONFORM" run --duration 10s --window 2s --mesh none
rc=$?
d=$(run_dir)
[ -n "$d" ] || fail "no run directory was created"
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "conform run exited $rc, want 0 or 1"
html="$d/reports/report.html"
[ -s "$html" ] || fail "the run wrote no reports/report.html"
check_no_signal_deaths "$d"

note "conform report --format html --out"
out="$E2E_TMP/again.html"
"$CONFORM" report --format html --out "$out"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "conform report --format html exited $rc"
[ -s "$out" ] || fail "conform report --format html wrote nothing"
"$CONFORM" report --format pdf >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown --format must be a usage error (exit 2)"

# the page is self-contained: no script, nothing fetched from anywhere
for f in "$html" "$out"; do
	! grep -qiE '<script|<link|src=|url\(|https:' "$f" || fail "$f refers to something outside"
	[ "$(grep -o 'http://' "$f" | wc -l)" -eq "$(grep -o 'xmlns="http://www.w3.org/2000/svg"' "$f" | wc -l)" ] ||
		fail "$f has a URL other than the SVG namespace"
done

# chromium RUN_NAME URL ARGS...: headless, offline-minded, fresh profile each time
chromium_run() {
	local name=$1 url=$2; shift 2
	local prof
	prof=$(mktemp -d "$E2E_TMP/chromium.XXXXXX")
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --disable-extensions --user-data-dir="$prof" \
		--enable-logging=stderr --v=0 "$@" "$url" \
		>"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err"
	local rc=$?
	[ $rc -eq 0 ] || { tail -n 20 "$E2E_TMP/$name.err"; fail "chromium ($name) exited $rc"; }
}

no_console_errors() {
	if grep -E 'Uncaught|ERROR:CONSOLE|Refused to|Content Security Policy' "$E2E_TMP/$1.err"; then
		fail "console errors while loading the page ($1)"
	fi
}

for f in "$html" "$out"; do
	n=$(basename "$f" .html)
	note "chromium --screenshot $f"
	png="$E2E_TMP/$n.png"
	chromium_run "shot-$n" "file://$f" --screenshot="$png" --window-size=1280,2000 --hide-scrollbars
	[ -s "$png" ] || fail "no screenshot"
	size=$(stat -c %s "$png")
	[ "$size" -gt 20000 ] && [ "$size" -lt 20000000 ] || fail "screenshot of odd size: $size bytes"
	head -c 8 "$png" | od -An -c | grep -q 'P   N   G' || fail "screenshot is not a PNG"
	no_console_errors "shot-$n"
	# width 1280 x height 2000 in the IHDR chunk
	dims=$(od -An -tu1 -j16 -N8 "$png" | tr -s ' ' | sed 's/^ //')
	[ "$dims" = "0 0 5 0 0 0 7 208" ] || fail "screenshot is not 1280x2000 (IHDR $dims)"
	echo "screenshot $png: $size bytes"

	note "chromium --dump-dom $f"
	chromium_run "dom-$n" "file://$f" --dump-dom
	dom="$E2E_TMP/dom-$n.out"
	no_console_errors "dom-$n"
	$PY - "$dom" "$d/reports/report.json" <<'PYEOF' || fail "the DOM lacks what the page must show"
import json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
rep = json.load(open(sys.argv[2]))
assert "<html" in dom[:200] and dom.rstrip().endswith("</html>"), dom[:80]
# one row per catalog check, and the verdict banner
for c in rep["checks"]:
    assert f'<tr class="check" id="check-{c["id"]}">' in dom, c["id"]
assert ("not conformant" if rep["verdict"] == "fail" else "conformant") in dom
# the timeline and at least a success and a latency chart per evaluated check
evaluated = [c for c in rep["checks"] if c["windows"]["total"] > 0]
assert evaluated, "no check was evaluated"
assert dom.count('<svg') >= 1 + 2 * len(evaluated), dom.count('<svg')
assert 'class="timeline"' in dom
assert dom.count('class="chart success"') == len(evaluated)
assert dom.count('class="chart latency"') == len(evaluated)
# every evaluated check has a band with at least one cell, and a drawn line
for c in evaluated:
    assert re.search(r'<rect class="c-(pass|fail|nodata|gap)"', dom), c["id"]
assert '<path class="s-ok"' in dom and '<path class="s-p99"' in dom
for sec in ("summary", "timeline", "charts", "incidents", "events", "environment"):
    assert f'<section id="{sec}">' in dom, sec
print("dom ok:", len(dom), "bytes,", dom.count("<svg"), "svg,", len(evaluated), "checks evaluated")
PYEOF
done
echo "ok"
