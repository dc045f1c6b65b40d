#!/usr/bin/env bash
# run.sh - runs the libFuzzer targets behind `make fuzz` and `make fuzz-smoke`:
# each target gets its seeds (test/fuzz/corpus/<t>), its regression inputs
# (test/fuzz/crashes/<t>) and a growing work corpus in $FUZZ_DIR/corpus/<t>,
# runs for a bounded time or number of inputs, and the script prints one line
# of executions per target. Exit 1 when any target found a crash, leak or hang,
# or (runs mode) stopped short of N executions.
#   run.sh time SECONDS TARGET...   (make fuzz FUZZ_SECONDS=N)
#   run.sh runs N TARGET...         (make fuzz-smoke; make fuzz-bench with N = 1000000)
#   FUZZ_MAX_SECONDS caps a target's time in runs mode (default 1200).
set -u
cd "$(dirname "$0")/../.." || exit 2
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
mode=$1 bound=$2
shift 2
case $mode in
time) limit=(-max_total_time="$bound") ;;
runs) limit=(-runs="$bound" -max_total_time="${FUZZ_MAX_SECONDS:-1200}") ;;
*) echo "usage: run.sh time SECONDS|runs N TARGET..." >&2; exit 2 ;;
esac
mkdir -p "$FUZZ_DIR/logs" "$FUZZ_DIR/artifacts"
failed=0
total=0
printf '%-14s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "$@"; do
	name=${t#fuzz_}
	bin="$FUZZ_DIR/$t"
	log="$FUZZ_DIR/logs/$t.log"
	work="$FUZZ_DIR/corpus/$name"
	mkdir -p "$work"
	dirs=("$work")
	[ -d "test/fuzz/corpus/$name" ] && dirs+=("test/fuzz/corpus/$name")
	[ -d "test/fuzz/crashes/$name" ] && dirs+=("test/fuzz/crashes/$name")
	opts=("${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1
	      -artifact_prefix="$FUZZ_DIR/artifacts/$t-")
	[ -f "test/fuzz/$name.dict" ] && opts+=(-dict="test/fuzz/$name.dict")
	start=$(date +%s)
	"$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	execs=${execs:-0}
	secs=$((end - start)); [ $secs -gt 0 ] || secs=1
	units=$(ls "$work" | wc -l)
	if [ $rc -eq 0 ] && [ "$mode" = runs ] && [ "$execs" -lt "$bound" ]; then
		res="SHORT ($execs of $bound executions in ${FUZZ_MAX_SECONDS:-1200} s)"
		failed=$((failed + 1))
	elif [ $rc -eq 0 ]; then
		res=ok
	else
		res="FAILED (exit $rc, see $log)"
		failed=$((failed + 1))
	fi
	total=$((total + execs))
	printf '%-14s %12s %10s %8s  %s\n' "$name" "$execs" "$((execs / secs))" "$units" "$res"
	if [ $rc -ne 0 ]; then
		grep -E 'fuzz invariant failed|ERROR: |SUMMARY: |^    #[0-9]+ .* in (LLVMFuzzer|[a-z_]+ [^ ]*(lib|test)/)|Test unit written' "$log" | head -n 30 | sed 's/^/    /'
	fi
done
echo "fuzz: $# targets, $total executions, $failed failed"
[ $failed -eq 0 ]
