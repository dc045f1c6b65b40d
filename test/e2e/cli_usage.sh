#!/usr/bin/env bash
# cli_usage.sh - the conform CLI's usage contract without a monitor: every
# verb's help exits 0 and names its flags; usage errors exit 2 and name the
# offending word; a missing run exits 3; `checks --json` is valid JSON.
set -u
BIN=${CONFORM_BIN:-"$(pwd)/build/bin"}
C="$BIN/conform"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -x "$C" ] || { echo "no conform binary at $C"; exit 1; }

# run_c EXPECTED_RC CMD... : runs conform, keeps stdout/stderr in $tmp/out, $tmp/err
run_c() {
	local want=$1; shift
	"$C" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -ge 128 ]; then
		fail "conform $* died from signal $((rc - 128))"
	elif [ "$rc" -ne "$want" ]; then
		fail "conform $*: exit $rc, want $want; stderr: $(head -c 300 "$tmp/err")"
	fi
	return 0
}
out_has() { grep -qF -- "$1" "$tmp/out" || fail "stdout of '$2' lacks '$1'"; }
err_has() { grep -qF -- "$1" "$tmp/err" || fail "stderr of '$2' lacks '$1'"; }

# the verb list
run_c 0
for v in start status stop run report checks fault version help; do out_has "$v" "conform"; done
run_c 0 help
out_has "exit codes" "conform help"

# every verb's help, both spellings, names the verb's flags
declare -A flags=(
	[start]="--platform --mesh --duration --window --rate --checks --state-dir --json"
	[status]="--json --state-dir"
	[stop]="--state-dir"
	[run]="--duration --window --rate --checks --mesh --platform --state-dir"
	[report]="--format --out --run --state-dir"
	[checks]="--mesh --json"
	[fault]="--target --rate --code --ms --for --state-dir"
	[version]="--help"
	[help]="--help"
)
for v in "${!flags[@]}"; do
	for form in "help $v" "$v --help" "$v -h"; do
		# shellcheck disable=SC2086
		run_c 0 $form
		out_has "usage: conform $v" "conform $form"
		for f in ${flags[$v]}; do out_has "$f" "conform $form"; done
	done
done
run_c 0 fault --help
for k in server-errors server-latency kill; do out_has "$k" "conform fault --help"; done

# usage errors: exit 2, the offending word in the message, a hint line
run_c 2 frobnicate
err_has "frobnicate" "conform frobnicate"
err_has "hint:" "conform frobnicate"
run_c 2 help frobnicate
err_has "frobnicate" "conform help frobnicate"
run_c 2 start --frobnicate --state-dir "$tmp/s"
err_has "--frobnicate" "start --frobnicate"
err_has "conform: " "start --frobnicate"
run_c 2 status --duration 10s --state-dir "$tmp/s"
err_has "--duration" "status --duration"
run_c 2 start --duration 10parsecs --state-dir "$tmp/s"
err_has "10parsecs" "start --duration 10parsecs"
err_has "--duration" "start --duration 10parsecs"
run_c 2 run --duration 0 --state-dir "$tmp/s"
err_has "--duration" "run --duration 0"
run_c 2 run --state-dir "$tmp/s"
err_has "--duration" "run without --duration"
run_c 2 start --window 2500ms --state-dir "$tmp/s"
err_has "2500ms" "start --window 2500ms"
run_c 2 start --checks http.basic,no.such.check --state-dir "$tmp/s"
err_has "no.such.check" "start --checks no.such.check"
err_has "valid ids" "start --checks no.such.check"
run_c 2 start --mesh linkerd --state-dir "$tmp/s"
err_has "linkerd" "start --mesh linkerd"
err_has "runs on kubernetes, not on the local platform" "start --mesh linkerd"
err_has "add --platform kubernetes" "start --mesh linkerd"
run_c 2 report --format pdf --state-dir "$tmp/s"
err_has "pdf" "report --format pdf"
run_c 2 fault explode --target http-server --state-dir "$tmp/s"
err_has "explode" "fault explode"
run_c 2 fault server-errors --state-dir "$tmp/s"
err_has "--target" "fault without --target"
run_c 2 version extra
err_has "extra" "version extra"
# nothing was created by the refused starts
[ -e "$tmp/s/runs" ] && fail "a refused start created $tmp/s/runs"

# environment errors: no run in an empty state directory -> exit 3
mkdir -p "$tmp/empty"
run_c 3 status --state-dir "$tmp/empty"
err_has "no active run" "status (empty state dir)"
err_has "hint:" "status (empty state dir)"
CONFORM_STATE_DIR="$tmp/empty" run_c 3 status
run_c 3 stop --state-dir "$tmp/empty"
run_c 3 fault kill --target http-server --state-dir "$tmp/empty"
run_c 3 report --state-dir "$tmp/empty"

# a conform without conformd next to it (and no CONFORM_BIN): exit 3 naming it
mkdir -p "$tmp/lonely"
cp "$C" "$tmp/lonely/conform"
env -u CONFORM_BIN "$tmp/lonely/conform" start --state-dir "$tmp/s2" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 3 ] || fail "start without conformd: exit $rc, want 3"
grep -qF "conformd not found" "$tmp/err" || fail "start without conformd: $(cat "$tmp/err")"
[ -e "$tmp/s2/runs" ] && fail "start without conformd created a run"

# checks: text and JSON
run_c 0 checks
out_has "http.basic" "checks"
run_c 0 checks --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d, list) and d and all("id" in c and "needs_mesh" in c for c in d)' <"$tmp/out" ||
	fail "checks --json is not a JSON list of checks"

# checks --mesh M: each check's evidence with M or why it has none, for
# every mesh of the registry whatever its platform (linkerd: kubernetes only)
run_c 0 checks --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert all("evidence" not in c and "skipped_reason" not in c for c in d)' <"$tmp/out" ||
	fail "checks --json without --mesh carries evidence"
evidence_py='
import json, sys
m, d = sys.argv[1], json.load(sys.stdin)
assert isinstance(d, list) and len(d) >= 10
for c in d:
    ev, sk = c["evidence"], c["skipped_reason"]
    assert (ev is None) != (sk is None), c["id"]
    assert isinstance(ev or sk, str) and len(ev or sk) > 10, c["id"]
    if not c["needs_mesh"]:
        assert ev, c["id"]
    if m == "none" and c["needs_mesh"]:
        assert sk and sk.startswith("no mesh"), c["id"]
    if m != "none":
        assert ev, c["id"]
by = {c["id"]: c for c in d}
if m == "linkerd":
    assert "identity_cert_expiration_timestamp_seconds" in by["identity.expiry"]["evidence"]
    assert "l5d-client-id" in by["mtls.identity"]["evidence"]
'
for m in haproxy linkerd none; do
	run_c 0 checks --mesh "$m"
	out_has "EVIDENCE with --mesh $m" "checks --mesh $m"
	run_c 0 checks --mesh "$m" --json
	python3 -c "$evidence_py" "$m" <"$tmp/out" ||
		fail "checks --mesh $m --json: not one evidence or skipped_reason per check"
done
run_c 0 checks --mesh none
out_has "no evidence: no mesh: no proxy asserts a verified client identity" "checks --mesh none"
out_has "fails the 8 checks without evidence" "checks --mesh none"
run_c 2 checks --mesh istio
err_has "istio" "checks --mesh istio"
err_has "hint:" "checks --mesh istio"
run_c 2 checks --platform kubernetes
err_has "--platform" "checks --platform"

# version
run_c 0 version
grep -Eq '^conform [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "version: $(cat "$tmp/out")"

# no colour codes when stdout is not a terminal
run_c 0 checks
grep -q $'\033' "$tmp/out" && fail "colour codes on a pipe"

# every list in --help comes from its one table: all 11 fault kinds, all 4
# report formats, every mesh and platform (the README's tables say the same)
run_c 0 fault --help
for k in server-errors server-latency kill mtls-off wrong-identity retries-off split-skew \
	tap-off timeout-off sidecar-kill cert-expiring; do
	out_has "  $k" "conform fault --help"
done
[ "$(grep -cE '^  [a-z-]+( --[a-z]+.*)? {2,}' "$tmp/out")" -ge 11 ] ||
	fail "conform fault --help: fewer than 11 kind lines"
run_c 0 help report
for f in json junit md html; do out_has "  $f " "conform help report"; done
run_c 0 help start
for m in haproxy none linkerd; do out_has " $m " "conform help start (--mesh)"; done
for p in local kubernetes; do out_has " $p " "conform help start (--platform)"; done
run_c 2 report --format pdf
err_has "json, junit, md or html" "report --format pdf"
for k in $(sed -n 's/^| `\([a-z-]*\)[ `].*/\1/p' "$(dirname "$0")/../../README.md" | sort -u); do
	case $k in server-*|kill|mtls-off|wrong-identity|retries-off|split-skew|tap-off|timeout-off|sidecar-kill|cert-expiring) ;;
	*) continue ;;
	esac
	run_c 0 fault --help
	out_has "  $k" "conform fault --help (README names $k)"
done

# conform tap: recorded `linkerd viz tap -o json` output as conform sees it
# (test/fixtures/linkerd/tap-events.json: 9 events, 3 requests, one response
# whose request is not in it); what is not that output exits 2 naming the line
fx="$(dirname "$0")/../fixtures/linkerd/tap-events.json"
run_c 0 tap "$fx"
out_has "9 events, 3 requests (2 inbound, 1 outbound); 3 carry conform's x-request-id" "tap"
out_has "verified client identity: 1, without: 1; responses whose request is not in the recording: 1" "tap"
out_has "http-client.conform.serviceaccount.identity.linkerd.cluster.local" "tap"
grep -q '^outbound  POST    /conform.v1.Echo/Unary' "$tmp/out" || fail "tap: the gRPC request's line"
"$C" tap - --json <"$fx" >"$tmp/out" 2>"$tmp/err" || fail "tap - --json: exit $?"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['summary']
assert d['events'] == 9 and s['requests'] == 3 and len(d['requests']) == 3, d
assert s['inbound_verified_identity'] == 1 and s['responses_without_request'] == 1, s" \
	"$tmp/out" || fail "tap --json: not the fixture's counts"
head -n 20 "$fx" >"$tmp/cut.json"
run_c 2 tap "$tmp/cut.json"
err_has "the input ends inside a tap event" "tap (truncated)"
printf 'req id=1:0 proxy=out src=10.0.0.1:1 dst=10.0.0.2:2 tls=true :method=GET\n' >"$tmp/text.tap"
run_c 2 tap "$tmp/text.tap"
err_has "line 1: text outside a tap event" "tap (text mode output)"
printf '{"source": {"ip": 7}}\n' >"$tmp/bad.json"
run_c 2 tap "$tmp/bad.json"
err_has "bad.json: line 1:" "tap (wrong shape)"
run_c 2 tap "$tmp/no-such.json"
err_has "cannot read" "tap (missing file)"
run_c 2 tap
err_has "expected one FILE" "tap (no file)"

if [ "$fails" -gt 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "cli usage: all good"
exit 0
