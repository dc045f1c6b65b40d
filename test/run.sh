#!/usr/bin/env bash
# run.sh - the test runner behind `make test`. Runs every unit test binary
# (build/test/test_*) and every end-to-end script (test/e2e/*.sh), counts what
# passed, failed and was skipped, and ends with the one line
# "N passed, N failed, N skipped".
#   test/run.sh [PATTERN...]   only tests whose name (unit/test_x, e2e/y)
#                              contains one of the PATTERNs
# Each test's output goes to $BUILD/test-logs/<name>.log; failures print its tail.
#
# A unit binary counts its own cases ("ok NAME" / "not ok NAME", harness.h);
# when it crashes, the case it was in fails and the cases after it (from its
# list, H_LIST=1) are reported as not run and counted as failed.
# An e2e script is one test: exit 0 passes, exit 77 (after a line "SKIP: why")
# is a skip, anything else fails. Scripts run E2E_JOBS at a time (default 2:
# each has its own state dir, ports 0 and subnet); one with a line
# "# e2e: alone" (timing or memory measurements) runs with nothing beside it.
# The longest scripts start first: by the last run's durations
# ($BUILD/test-logs/e2e-durations), else those with a line "# e2e: long".
# Every test is killed after TEST_TIMEOUT seconds (default 900 per e2e
# script, UNIT_TIMEOUT 600 per unit binary) and then fails.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export CONFORM_BIN="$PWD/$BUILD/bin"
# golden files are only ever rewritten by a person (make golden, then review)
unset UPDATE_GOLDEN
patterns=("$@")
logs="$BUILD/test-logs"
E2E_JOBS=${E2E_JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-900}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}
mkdir -p "$logs"
passed=0
failed=0
skipped=0
failed_names=()
skipped_names=()
t_all=$SECONDS

# wanted NAME: no pattern given, or NAME contains one of them
wanted() {
	local p
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do [[ "$1" == *"$p"* ]] && return 0; done
	return 1
}

# ---- unit tests: each binary counts its own cases ----
for t in "$BUILD"/test/test_*; do
	[ -x "$t" ] || continue
	[[ "$t" == *.d ]] && continue
	name="unit/$(basename "$t")"
	wanted "$name" || continue
	log="$logs/$(basename "$t").log"
	start=$SECONDS
	timeout --foreground -k 10 "$UNIT_TIMEOUT" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	dur=$((SECONDS - start))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	crash=""
	if [ $rc -ne 0 ] && { [ $rc -ne 1 ] || [ "$f" -eq 0 ]; }; then
		# crashed (or timed out): which case, and how many never ran
		mapfile -t cases < <(H_LIST=1 "$t" 2>/dev/null </dev/null | sed -n 's/^case //p')
		mapfile -t done_cases < <(sed -n 's/^\(not \)\{0,1\}ok //p' "$log")
		left=$(( ${#cases[@]} - p - f ))
		if [ ${#cases[@]} -eq 0 ] || [ $left -le 0 ]; then
			left=1
			in="?"
		else
			in=${cases[$((p + f))]}
		fi
		[ $rc -eq 124 ] && why="timed out after ${UNIT_TIMEOUT}s" || why="exit $rc"
		[ $rc -gt 128 ] && why="killed by signal $((rc - 128))"
		crash=", $why in case $in, $((left - 1)) after it not run"
		f=$((f + left))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failed_names+=("$name")
		echo "FAIL $name ($p passed, $f failed$crash; ${dur}s):"
		grep -v '^ok ' "$log" | tail -n 25 | sed 's/^/    /'
	else
		echo "PASS $name ($p cases, ${dur}s)"
	fi
done

# ---- end-to-end tests: one script, one test, E2E_JOBS at a time ----
# e2e_report NAME RC DURATION: print the result of a finished script, count it
e2e_report() {
	local name=$1 rc=$2 dur=$3 log="$logs/$1.log" why
	if [ "$rc" -eq 0 ] && ! grep -q '^SKIP:' "$log"; then
		echo "PASS e2e/$name (${dur}s)"
		passed=$((passed + 1))
	elif [ "$rc" -eq 77 ] || [ "$rc" -eq 0 ]; then
		why=$(grep '^SKIP:' "$log" | tail -n 1)
		echo "SKIP e2e/$name (${dur}s): ${why#SKIP: }"
		skipped=$((skipped + 1))
		skipped_names+=("e2e/$name")
	else
		[ "$rc" -eq 124 ] && rc="timed out after ${TEST_TIMEOUT}s" || rc="exit $rc"
		echo "FAIL e2e/$name (${dur}s, $rc) — last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
		failed_names+=("e2e/$name")
	fi
}

declare -A job_name=() job_start=() last_dur=()
running=0
together=()
alone=()
# the longest scripts start first (durations of the last run, when known), so
# that the pool does not end waiting on one long script started last
durations="$logs/e2e-durations"
if [ -f "$durations" ]; then
	while read -r n s; do [[ "$s" =~ ^[0-9]+$ ]] && last_dur[$n]=$s; done <"$durations"
fi
while read -r _ name; do
	t="test/e2e/$name.sh"
	wanted "e2e/$name" || continue
	if grep -q '^# e2e: alone' "$t"; then alone+=("$name"); else together+=("$name"); fi
done < <(for t in test/e2e/*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		d=${last_dur[$n]:-0}
		[ "$d" = 0 ] && grep -q '^# e2e: long' "$t" && d=1000
		echo "$d $n"
	done | sort -k1,1nr -k2,2)

# e2e_start NAME: run one script in the background under the timeout
e2e_start() {
	# TERM at the limit, KILL 90 s later: time for the script's own cleanup
	# (e2e_cleanup stops its run, which may take up to 60 s)
	timeout -k 90 "$TEST_TIMEOUT" bash "test/e2e/$1.sh" >"$logs/$1.log" 2>&1 </dev/null &
	job_name[$!]=$1
	job_start[$!]=$SECONDS
	running=$((running + 1))
}

# e2e_reap: wait for any one script to end and report it
e2e_reap() {
	local pid rc
	wait -n -p pid
	rc=$?
	e2e_report "${job_name[$pid]}" "$rc" $((SECONDS - job_start[$pid]))
	last_dur[${job_name[$pid]}]=$((SECONDS - job_start[$pid]))
	unset "job_name[$pid]" "job_start[$pid]"
	running=$((running - 1))
}

# timeout runs each script in a process group of its own (so that it can end
# all of it): an interrupted runner ends its scripts itself, which clean up
trap 'for p in "${!job_name[@]}"; do kill -TERM "$p" 2>/dev/null; done; exit 130' INT TERM
for name in ${together[@]+"${together[@]}"}; do
	while [ $running -ge "$E2E_JOBS" ]; do e2e_reap; done
	e2e_start "$name"
done
while [ $running -gt 0 ]; do e2e_reap; done
for name in ${alone[@]+"${alone[@]}"}; do
	e2e_start "$name"
	e2e_reap
done

for name in "${!last_dur[@]}"; do echo "$name ${last_dur[$name]}"; done >"$durations.tmp" &&
	mv "$durations.tmp" "$durations"
echo "time: $((SECONDS - t_all))s"
[ ${#skipped_names[@]} -gt 0 ] && echo "skipped: ${skipped_names[*]}"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
