#!/usr/bin/env bash
# install_toolbox.sh - `make install DESTDIR=...` gives a tree whose binaries
# run, whose man pages render without warnings (man -l), whose bash
# completion loads and completes verbs, flags, check ids and fault kinds;
# `make uninstall` removes what install put there.
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conform-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
D=$tmp/dest
P=/opt/conform

make -s install BUILD="${BUILD:-build}" DESTDIR="$D" PREFIX="$P" >"$tmp/install.log" 2>&1 ||
	{ tail -20 "$tmp/install.log"; fail "make install failed"; }
for f in bin/conform bin/conformd bin/conform-workload share/man/man1/conform.1 \
	share/man/man8/conformd.8 share/man/man1/conform-workload.1 \
	share/bash-completion/completions/conform share/zsh/site-functions/_conform \
	share/fish/vendor_completions.d/conform.fish \
	share/conform/manifests/monitoring/alerts.yaml \
	share/conform/manifests/sonobuoy/plugin.yaml; do
	[ -s "$D$P/$f" ] || fail "install did not put $P/$f"
done

# the installed binaries run
"$D$P/bin/conform" version | grep -q '^conform ' || fail "installed conform version"
"$D$P/bin/conformd" --help | grep -q 'usage: conformd' || fail "installed conformd --help"
"$D$P/bin/conform-workload" --help | grep -q 'usage: conform-workload' ||
	fail "installed conform-workload --help"
"$D$P/bin/conform" checks --json | python3 -c 'import json,sys; assert len(json.load(sys.stdin))' ||
	fail "installed conform checks --json"

# the man pages render, one section per verb, with every check
for page in man1/conform.1 man8/conformd.8 man1/conform-workload.1; do
	MANWIDTH=100 man --warnings -l "$D$P/share/man/$page" >"$tmp/page.txt" 2>"$tmp/page.err" ||
		fail "man -l $page failed: $(head -3 "$tmp/page.err")"
	[ -s "$tmp/page.err" ] && fail "man -l $page warns: $(head -3 "$tmp/page.err")"
	[ -s "$tmp/page.txt" ] || fail "man -l $page rendered nothing"
done
MANWIDTH=200 man -l "$D$P/share/man/man1/conform.1" >"$tmp/conform.txt" 2>/dev/null
for v in $("$D$P/bin/conform" help | awk '/^verbs:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{if(on) exit}'); do
	grep -q "^   conform $v" "$tmp/conform.txt" || fail "conform(1) has no section for verb $v"
done
for id in $("$D$P/bin/conform" checks --json | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]'); do
	grep -q "^       $id\$" "$tmp/conform.txt" || fail "conform(1) lacks check $id"
done
grep -q -- "--keep-runs N" "$tmp/conform.txt" || fail "conform(1) lacks --keep-runs"

# bash completion: loads without errors, completes verbs, flags, ids, kinds
comp=$D$P/share/bash-completion/completions/conform
bash -n "$comp" || fail "bash -n on the completion script"
# complete_words WORDS... : COMPREPLY for the last word, one per line
complete_words() {
	bash -c '
		set -u
		source "$1" || exit 3
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_conform conform "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@" 2>"$tmp/comp.err"
	[ -s "$tmp/comp.err" ] && fail "completion wrote errors: $(head -3 "$tmp/comp.err")"
	return 0
}
has() { # has WANT WORDS... : COMPREPLY for WORDS contains WANT
	local want=$1; shift
	complete_words "$@" | grep -qx -- "$want" || fail "completing '$*' lacks '$want' (got: $(complete_words "$@" | tr '\n' ' '))"
}
hasnt() {
	local bad=$1; shift
	complete_words "$@" | grep -qx -- "$bad" && fail "completing '$*' offers '$bad'"
	return 0
}
has run conform ""
has runs conform ru
has history conform h
hasnt stop conform st_nothing
hasnt __man conform _
has --duration conform run --d
has --keep-runs conform start --k
hasnt --duration conform status --d
has http.basic conform run --checks ""
has http.basic,mtls.identity conform run --checks http.basic,mtls.i
has mtls.enforced conform history mtls.e
has server-errors conform fault ""
has cert-expiring conform fault cert-
has none conform run --mesh n
has junit conform report --format j
has zsh conform completion z

# uninstall leaves nothing of ours
make -s uninstall DESTDIR="$D" PREFIX="$P" >/dev/null 2>&1 || fail "make uninstall failed"
left=$(find "$D" -type f | head -5)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install tree, man pages and completion ok"
