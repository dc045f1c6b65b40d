#!/usr/bin/env bash
# Interrupted and short runs. `conform run --duration 120s` on the local mesh
# stopped with Ctrl-C (SIGINT to the CLI) after ~15 s: the run is marked
# interrupted with the time it reached, split.shift (its shift at 40 s never
# came) is skipped with that reason instead of failing on no data, and the
# exit code reflects what was observed (0 on the healthy mesh). A
# --duration too short for split.shift is refused with exit 2 naming the
# minimum, and accepted once --checks leaves split.shift out.
source "$(dirname "$0")/../lib/e2e.sh"

note "conform run --duration 12s (all checks): refused, split.shift needs 14s"
out=$("$CONFORM" run --duration 12s --window 4s --mesh haproxy 2>&1)
rc=$?
echo "$out"
[ $rc -eq 2 ] || fail "a too-short --duration exited $rc, want 2"
grep -q -- "--duration 12s is too short for split.shift: it needs 14s" <<<"$out" ||
	fail "the refusal does not name the check and the minimum"
[ ! -d "$STATE/runs" ] || [ -z "$(ls -A "$STATE/runs")" ] || fail "a refused run left a run directory"

note "conform run --duration 120s --window 5s, Ctrl-C after 15 s"
"$CONFORM" run --duration 120s --window 5s --mesh haproxy --checks http.basic,split.weights,split.shift \
	>"$E2E_TMP/run.out" 2>&1 &
cli=$!
wait_for 30 "the run to start" test -L "$STATE/current"
d=$(run_dir)
wait_for 40 "http.basic passing" status_has \
	'[c for c in s["checks"] if c["id"]=="http.basic" and c["windows"]["pass"]>=2]'
kill -INT "$cli"
wait "$cli"
rc=$?
cat "$E2E_TMP/run.out"
# the exit code is the verdict of what was observed: 0 unless a check that
# was judged failed (a loaded machine can fail http.basic's last, partial
# window; split.shift, never reached, must not)
want=$(json_get "$d/reports/report.json" '1 if d["verdict"] == "fail" else 0')
[ "$rc" = "$want" ] || fail "an interrupted run exited $rc, its report says $want"
grep -q "interrupted at" "$E2E_TMP/run.out" || fail "the summary does not say the run was interrupted"
$PY - "$d/reports/report.json" <<'PYEOF' || fail "report.json of the interrupted run"
import json, sys
r = json.load(open(sys.argv[1]))
run = r["run"]
print(run["interrupted"], run["reached_s"], run["stop_reason"])
assert run["interrupted"] is True
assert 5 <= run["reached_s"] < 60, run["reached_s"]
assert run["stop_reason"], run
c = {x["id"]: x for x in r["checks"]}
assert c["split.shift"]["verdict"] == "skip", c["split.shift"]
assert c["split.shift"]["reason_code"] == "not_reached", c["split.shift"]
assert "interrupted" in c["split.shift"]["reason"], c["split.shift"]["reason"]
failed = sorted(x for x in c if c[x]["verdict"] == "fail")
print("failed:", failed)
assert "split.shift" not in failed
PYEOF
grep -q 'name="interrupted"' "$d/reports/junit.xml" || fail "junit.xml does not mark the run interrupted"
check_no_signal_deaths "$d"
echo "ok"
