#!/bin/sh
# runtime-packages.sh - the Debian packages the image needs: those that provide
# the shared libraries the given binaries load (the whole closure ldd reports)
# and the programs conform runs (kubectl, from Debian's kubernetes-client: the
# CLI drives a kubernetes run through it, also in the nightly CronJob's pod),
# one per line, sorted.
# image/packages.txt is this script's output for build/bin/*; `make image`
# refuses to build when the two differ, `make image-packages` rewrites it.
#   image/runtime-packages.sh BINARY...
set -eu

[ $# -gt 0 ] || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for bin in "$@"; do
	[ -x "$bin" ] || { echo "runtime-packages: $bin is not an executable; run make first" >&2; exit 2; }
	# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the
	# loader's own line "/lib64/ld-linux-x86-64.so.2 (0x...)"
	ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
	# dpkg knows the path as the package ships it; with merged /usr that may
	# be the /usr/lib twin of what ldd printed, or the symlink's target
	pkg=""
	for p in "$lib" "/usr$lib" "${lib#/usr}" "$(readlink -f "$lib")"; do
		pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$pkg" ] && break
	done
	if [ -z "$pkg" ]; then
		echo "runtime-packages: no Debian package ships $lib (needed by $*); install it from a package" >&2
		exit 1
	fi
	echo "$pkg"
done >"$tmp"
# programs, not libraries: conform execs kubectl (cmd/conform/kube.c)
echo kubernetes-client >>"$tmp"
sort -u "$tmp"
