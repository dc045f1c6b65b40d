#!/usr/bin/env bash
# dockerfile_build.sh - the Dockerfile's build stage, without docker: its
# make step, run as written on a copy of the sources (what `COPY . .` copies),
# builds the three binaries without calling scripts/deps.sh (replaced in the
# copy by a script that fails). A whole build from scratch: `make
# test-dockerfile`, not every `make test`.
set -u
. "$(dirname "$0")/../lib/e2e.sh"

DF=Dockerfile
[ -f "$DF" ] || fail "no Dockerfile"
note "the build stage's make step, on a copy of the sources"
step=$(awk '/^RUN rm -rf build/ { on = 1 } on { sub(/^RUN /, ""); print; if ($0 !~ /\\$/) exit }' "$DF")
[ -n "$step" ] || fail "cannot find the build stage's 'RUN rm -rf build ...' step"
SRC="$E2E_TMP/src"
mkdir -p "$SRC"
# what `COPY . .` copies, less .dockerignore
tar -cf - --exclude=./build --exclude=./.git --exclude=node_modules . | tar -xf - -C "$SRC"
printf '#!/bin/sh\necho "scripts/deps.sh ran inside the image build" >&2\nexit 97\n' >"$SRC/scripts/deps.sh"
(cd "$SRC" && sh -c "$step") >"$E2E_TMP/build.log" 2>&1 ||
	fail "the build step failed: $(tail -n 20 "$E2E_TMP/build.log")"
grep -q 'scripts/deps.sh ran' "$E2E_TMP/build.log" && fail "the build step ran scripts/deps.sh"
for b in conform conformd conform-workload; do
	[ -x "$SRC/build/bin/$b" ] || fail "the build step made no build/bin/$b"
done
"$SRC/build/bin/conform" version | grep -q '^conform ' || fail "the built conform does not run"
echo "PASS: Dockerfile lists exist in Debian; its build step builds the 3 binaries without deps.sh"
