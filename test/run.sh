#!/usr/bin/env bash
# run.sh - the test runner behind `make test`. Runs every unit test binary
# (build/test/test_*) and every end-to-end script (test/e2e/*.sh), counts what
# passed and failed, and ends with the one line "N passed, N failed".
#   test/run.sh [PATTERN]   only tests whose name contains PATTERN
# Each test's output goes to $BUILD/test-logs/<name>.log; failures print its tail.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export CONFORM_BIN="$PWD/$BUILD/bin"
pattern=${1:-}
logs="$BUILD/test-logs"
mkdir -p "$logs"
passed=0
failed=0
failed_names=()

run_one() { # name cmd...
	local name=$1; shift
	local log="$logs/$name.log" rc start end
	start=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s)
	if [ $rc -eq 0 ]; then
		echo "PASS $name ($((end - start))s)"
	else
		echo "FAIL $name ($((end - start))s, exit $rc) — last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
	return $rc
}

# unit tests: each binary counts its own cases
for t in "$BUILD"/test/test_*; do
	[ -x "$t" ] || continue
	name="unit/$(basename "$t")"
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && continue
	log="$logs/$(basename "$t").log"
	"$t" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failed_names+=("$name")
		echo "FAIL $name ($p passed, $f failed, exit $rc):"
		grep -v '^ok ' "$log" | tail -n 25 | sed 's/^/    /'
	else
		echo "PASS $name ($p cases)"
	fi
done

# end-to-end tests: one script, one test
for t in test/e2e/*.sh; do
	[ -f "$t" ] || continue
	name="e2e/$(basename "$t" .sh)"
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && continue
	if run_one "$(basename "$t" .sh)" bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
