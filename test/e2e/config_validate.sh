#!/usr/bin/env bash
# config_validate.sh - the run config file from the outside: `conform config
# validate` accepts docs/conform.example.json and shows what it resolves to;
# broken variants of it exit 2 with one line naming the file, the field path
# and what was expected (did you mean, line and column); start and run refuse
# the same files before starting anything; and a real short run started with
# --config carries the file's settings, with flags given winning, all the way
# into run.json and the check's verdict.
source "$(dirname "$0")/../lib/e2e.sh"

EXAMPLE="$(cd "$(dirname "$0")/../.." && pwd)/docs/conform.example.json"
T="$E2E_TMP/cfg"
mkdir -p "$T"
[ -s "$EXAMPLE" ] || fail "no example config at $EXAMPLE"

# run_c EXPECTED_RC CMD... : conform with stdout/stderr kept in $T/out, $T/err
run_c() {
	local want=$1 rc; shift
	"$CONFORM" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -lt 128 ] || fail "conform $* died from signal $((rc - 128))"
	[ "$rc" -eq "$want" ] || fail "conform $*: exit $rc, want $want; stderr: $(head -c 400 "$T/err")"
}
out_has() { grep -qF -- "$1" "$T/out" || fail "stdout of '$2' lacks '$1': $(head -c 600 "$T/out")"; }
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr of '$2' lacks '$1': $(head -c 600 "$T/err")"; }

# variant NAME PYTHON : a copy of the example changed by PYTHON (d = the document)
variant() {
	$PY - "$EXAMPLE" "$T/$1" "$2" <<'PYEOF' || fail "cannot write variant $1"
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=2)
PYEOF
}

note "the example validates and every section shows"
run_c 0 config validate "$EXAMPLE"
out_has "$EXAMPLE: valid" "config validate"
for s in "duration          30m" "window            5s" "http.basic (objective 99.5%)" \
	"fall 3, rise 4, window objective 99.9%, incident tolerance 20s" "retention         2d" \
	"127.0.0.1:9464" "x-conform-client-id" "v1 80, v2 20" "at 10m to v1 40, v2 60" \
	"3 attempts" "route 400ms" "max delay 3s" "trust domain example.org" \
	"keep runs         14" "junit copy        results/junit.xml" \
	"html copy         results/report.html" "md copy           results/report.md"; do
	out_has "$s" "config validate"
done
[ ! -s "$T/err" ] || fail "config validate wrote to stderr: $(cat "$T/err")"
run_c 0 config validate "$EXAMPLE" --json
$PY - "$T/out" <<'PYEOF' || fail "config validate --json is not the resolved run.json form"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["duration_ms"] == 1800000 and d["window_ms"] == 5000, d
assert d["objectives"] == {"http.basic": 0.995, "grpc.basic": 0.98}, d["objectives"]
assert d["verdicts"] == {"fall": 3, "rise": 4, "window_objective": 0.999,
                         "incident_tolerance_ms": 20000, "strict": False}, d["verdicts"]
assert d["retention_s"] == 172800
assert d["mesh_settings"]["shift_at_ms"] == 600000
assert d["outputs"] == {"keep_runs": 14, "junit": "results/junit.xml",
                        "html": "results/report.html", "md": "results/report.md"}, d["outputs"]
PYEOF

note "broken variants: exit 2, file + path + expectation on one line"
variant split.json 'd["mesh_settings"]["split"]["v1"] = "ninety"'
variant fal.json 'd["verdicts"]["fal"] = d["verdicts"].pop("fall")'
variant check.json 'd["checks"]["http.basc"] = d["checks"].pop("http.basic")'
variant dur.json 'd["window"] = "1500ms"'
variant obj.json 'd["checks"]["retry.http"] = {"objective": 0.9}'
variant cross.json 'd["mesh_settings"]["timeout"]["slow"] = "100ms"'
printf '{\n  "rate": 2,\n  "window": "10s",\n}\n' >"$T/comma.json"
printf '[1, 2]\n' >"$T/array.json"
declare -A want=(
	[split.json]="$T/split.json: mesh_settings.split.v1: expected an integer 0..256, got \"ninety\""
	[fal.json]="$T/fal.json: verdicts.fal: unknown field (did you mean \"fall\"?)"
	[check.json]="$T/check.json: checks[\"http.basc\"]: unknown check (did you mean \"http.basic\"?)"
	[dur.json]="$T/dur.json: window: expected a duration in whole seconds, 1s..1d, like \"10s\", got \"1500ms\""
	[obj.json]="$T/obj.json: checks[\"retry.http\"].objective: retry.http has no adjustable objective"
	[cross.json]="$T/cross.json: mesh_settings.timeout.slow: 100ms is not longer than the route timeout (400ms)"
	[comma.json]="$T/comma.json: line 4, column 1: invalid JSON: expected a field name after ',', got '}' (a trailing comma?)"
	[array.json]="$T/array.json: expected a JSON object { ... } at the top level, got an array"
	[missing.json]="$T/missing.json: cannot read: No such file or directory"
)
for f in "${!want[@]}"; do
	run_c 2 config validate "$T/$f"
	err_has "conform: ${want[$f]}" "config validate $f"
	[ ! -s "$T/out" ] || fail "config validate $f printed a summary for a bad file"
done

note "start and run refuse the same files before starting anything"
run_c 2 start --config "$T/fal.json"
err_has "conform: ${want[fal.json]}" "start --config fal.json"
run_c 2 run --config "$T/split.json" --duration 10s
err_has "conform: ${want[split.json]}" "run --config split.json"
run_c 2 start --config "$T/missing.json"
err_has "${want[missing.json]}" "start --config missing.json"
run_c 2 start --config "$T"
err_has "$T: cannot read" "start --config DIR"
[ ! -d "$STATE/runs" ] || [ -z "$(ls -A "$STATE/runs")" ] || fail "a refused config created a run"

note "usage of the verb"
run_c 2 config
err_has "config: missing subcommand" "config"
run_c 2 config valdate "$EXAMPLE"
err_has "unknown subcommand 'valdate'" "config valdate"
err_has "did you mean" "config valdate"
run_c 2 config validate
err_has "expected one FILE" "config validate"
for form in "config --help" "help config"; do
	# shellcheck disable=SC2086
	run_c 0 $form
	out_has "usage: conform config validate FILE" "conform $form"
	out_has "docs/config.md" "conform $form"
done
run_c 0 start --help
out_has "--config FILE" "start --help"
run_c 0 run --help
out_has "--config FILE" "run --help"

note "a real run from a file: the file's settings, flags given win"
cat >"$T/run.json" <<'EOF'
{
  "mesh": "none",
  "duration": "4s",
  "window": "2s",
  "rate": 3,
  "checks": { "http.basic": { "objective": 0.5 } },
  "verdicts": { "fall": 1, "incident_tolerance": "1s" },
  "retention": "1h"
}
EOF
run_c 0 config validate "$T/run.json"
run_c 0 start --config "$T/run.json" --rate 7
d=$(run_dir)
[ -n "$d" ] || fail "no run directory was created"
$PY - "$d/run.json" <<'PYEOF' || fail "run.json does not carry the file and the flag"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mesh"] == "none", r["mesh"]            # the file's, though local means haproxy
assert r["duration_ms"] == 4000 and r["window_ms"] == 2000, r
assert r["rate"] == 7, r["rate"]                 # the flag beats the file's 3
assert r["checks"] == ["http.basic"], r["checks"]
assert r["objectives"] == {"http.basic": 0.5}, r["objectives"]
assert r["verdicts"]["fall"] == 1 and r["verdicts"]["incident_tolerance_ms"] == 1000, r["verdicts"]
assert r["verdicts"]["rise"] == 2                # a default the file left alone
assert r["retention_s"] == 3600
PYEOF
# the run ends by itself after the file's 4 s
wait_for 60 "the run to finish" status_has 's.get("state") == "finished"'
run_c 0 stop
$PY - "$d/reports/report.json" <<'PYEOF' || fail "the file's objective did not reach the check"
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == "http.basic"][0]
assert c["verdict"] == "pass", c
assert "objective 50.0%" in c["reason"], c["reason"]
assert c["requests"]["total"] > 0, c["requests"]
PYEOF
check_no_signal_deaths "$d"
echo "ok"
