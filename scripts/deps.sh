#!/bin/sh
# deps.sh - install the Debian packages conform needs to build, run and test.
# (build: compilers and -dev packages; run: haproxy; tests: python3-grpcio for
# interop, xmllint, valgrind, tmux for the dashboard, curl, openssl, clang +
# libFuzzer runtime for fuzzing (libclang-rt-dev: the default clang's version),
# chromium for the HTML report, prometheus for promtool, man-db to render the
# man pages, zsh and fish to load the completions; bench:
# wrk, h2load, nginx as reference servers.) A fast no-op when everything is present. As root it runs apt-get; otherwise
# sudo when available; otherwise it prints the exact command and exits 3.
#   scripts/deps.sh            build + run + test packages
#   scripts/deps.sh --print    list the packages that are missing, install nothing
set -u

PKGS="pkg-config make gcc
libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
libcurl4-openssl-dev libmicrohttpd-dev libcjson-dev libncurses-dev
libsqlite3-dev libssl-dev
haproxy
python3 python3-grpcio libxml2-utils iproute2 procps valgrind tmux openssl curl
man-db groff-base tar python3-yaml zsh fish
clang libclang-rt-dev chromium prometheus
wrk nghttp2-client nginx-light"

missing=""
status=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PKGS 2>/dev/null)
for p in $PKGS; do
	if ! printf '%s\n' "$status" | grep -qx "$p installed"; then
		missing="$missing $p"
	fi
done
missing=${missing# }

if [ "${1:-}" = "--print" ]; then
	[ -n "$missing" ] && echo "$missing"
	exit 0
fi
[ -z "$missing" ] && exit 0

echo "conform: installing missing packages: $missing" >&2
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
else
	echo "conform: cannot install packages (not root, no passwordless sudo). Run:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
	exit 3
fi
export DEBIAN_FRONTEND=noninteractive
# an old package list may not know the packages: refresh once, then install
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
} || {
	echo "conform: apt-get failed to install: $missing" >&2
	exit 3
}
# the haproxy package enables a system service; conform never uses it
exit 0
