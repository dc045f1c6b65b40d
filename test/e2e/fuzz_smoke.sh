#!/usr/bin/env bash
# fuzz_smoke.sh - every libFuzzer target (test/fuzz/) runs a fixed number of
# inputs from its seeds and regression inputs under ASan/UBSan: a parser
# change that crashes on a known input, or soon after, fails `make test`.
# Fails when clang or libFuzzer's runtime (libclang-rt-dev) is missing: make deps installs them.
# e2e: alone (builds and runs every fuzz target on both cores)
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
CLANG=${FUZZ_CC:-clang}

if ! command -v "$CLANG" >/dev/null; then
	echo "FAIL: $CLANG not installed (Debian package clang; make deps installs it)"
	exit 1
fi
rt=$("$CLANG" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)
if [ "$(uname -m)" = x86_64 ] && [ ! -f "$rt" ]; then
	echo "FAIL: libFuzzer runtime $rt missing (Debian package libclang-rt-dev; make deps installs it)"
	exit 1
fi
out=$(make -s BUILD="$BUILD" fuzz-smoke 2>&1)
rc=$?
echo "$out" | grep -v -e 'warning:' -e '^ *[0-9]* *|' -e '^ *\^' -e 'warnings\? generated'
[ $rc -eq 0 ] || { echo "FAIL: make fuzz-smoke exited $rc"; exit 1; }
echo "$out" | grep -q '^fuzz: [1-9][0-9]* targets, [0-9]* executions, 0 failed$' ||
	{ echo "FAIL: no fuzz summary line"; exit 1; }
echo "PASS: fuzz smoke"
