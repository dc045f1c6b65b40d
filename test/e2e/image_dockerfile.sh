#!/usr/bin/env bash
# image_dockerfile.sh - what can be proven of the Dockerfile without a docker
# daemon or a registry (neither is here): both stages take their packages
# from the lists `make image` uses (image/packages.txt, image/build-packages.txt),
# and every package named there exists in Debian (apt-cache show). That the
# build stage's make step builds the three binaries without scripts/deps.sh
# is test/slow/dockerfile_build.sh (`make test-dockerfile`: a whole build
# from scratch, too long for every `make test`).
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
echo "PASS: both Dockerfile stages take the lists of make image; every name exists in Debian"
