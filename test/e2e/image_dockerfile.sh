#!/usr/bin/env bash
# image_dockerfile.sh - what can be proven of the Dockerfile without a docker
# daemon or a registry (neither is here): both stages take their packages
# from the lists `make image` uses (image/packages.txt, image/build-packages.txt),
# every package named there exists in Debian (apt-cache show), and the build
# stage's make step, run as written on a copy of the sources, builds the
# three binaries without calling scripts/deps.sh (replaced in the copy by a
# script that fails).
set -u
. "$(dirname "$0")/../lib/e2e.sh"

DF=Dockerfile
[ -f "$DF" ] || fail "no Dockerfile"
grep -q '^COPY image/packages.txt ' "$DF" || fail "the runtime stage does not COPY image/packages.txt"
grep -q '^COPY image/build-packages.txt ' "$DF" || fail "the build stage does not COPY image/build-packages.txt"
[ "$(grep -c 'xargs apt-get install' "$DF")" -eq 2 ] || fail "want both stages to install their list with xargs apt-get install"
grep -q '^USER 65532:65532' "$DF" || fail "the Dockerfile image does not run as 65532"

note "package names"
n=0
for list in image/packages.txt image/build-packages.txt; do
	for p in $(grep -v '^#' "$list"); do
		apt-cache show --no-all-versions "$p" 2>/dev/null | grep -q "^Package: $p\$" ||
			fail "$list: Debian has no package '$p' (apt-cache show; run apt-get update?)"
		n=$((n + 1))
	done
done
echo "$n package names exist"

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
