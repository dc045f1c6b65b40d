#!/usr/bin/env bash
# completion_shells.sh - the zsh and fish completion scripts `conform
# completion` generates (the ones `make install` puts under share/zsh and
# share/fish) parse (zsh -n, fish -n), load without a word on stderr, and in
# fish complete what the tables hold: verbs, flags, check ids, fault kinds.
# (bash is covered by install_toolbox.sh.)
source "$(dirname "$0")/../lib/e2e.sh"

for sh in zsh fish; do
	command -v $sh >/dev/null || fail "$sh is not installed (scripts/deps.sh installs it)"
done
# the shells must not read or write the user's own files
export HOME=$E2E_TMP/home XDG_CONFIG_HOME=$E2E_TMP/home/.config XDG_DATA_HOME=$E2E_TMP/home/.local/share
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

zcomp=$E2E_TMP/_conform
fcomp=$E2E_TMP/conform.fish
"$CONFORM" completion zsh >"$zcomp" || fail "conform completion zsh exited $?"
"$CONFORM" completion fish >"$fcomp" || fail "conform completion fish exited $?"

note "zsh: parses and loads"
zsh -n "$zcomp" 2>"$E2E_TMP/zsh.err" || fail "zsh -n: $(head -3 "$E2E_TMP/zsh.err")"
zsh -f -c 'autoload -U compinit && compinit -u -d "$2/zcompdump" && source "$1" &&
	whence -w _conform && compdef _conform conform' _ "$zcomp" "$E2E_TMP" \
	>"$E2E_TMP/zsh.out" 2>"$E2E_TMP/zsh.err" || fail "zsh cannot load it: $(head -3 "$E2E_TMP/zsh.err")"
[ ! -s "$E2E_TMP/zsh.err" ] || fail "zsh: loading wrote errors: $(head -3 "$E2E_TMP/zsh.err")"
grep -qx "_conform: function" "$E2E_TMP/zsh.out" || fail "zsh: no _conform function after loading"

note "fish: parses, loads and completes"
fish -n "$fcomp" 2>"$E2E_TMP/fish.err" || fail "fish -n: $(head -3 "$E2E_TMP/fish.err")"
# fcomplete LINE: the candidates fish offers for LINE, one per line (no descriptions)
fcomplete() {
	fish --no-config -c 'source $argv[1]; or exit 3; complete -C $argv[2]' "$fcomp" "$1" \
		2>"$E2E_TMP/fish.err" | cut -f1
	[ ! -s "$E2E_TMP/fish.err" ] || fail "fish: '$1' wrote errors: $(head -3 "$E2E_TMP/fish.err")"
}
fhas() { # fhas WANT LINE
	fcomplete "$2" | grep -qx -- "$1" ||
		fail "fish: completing '$2' lacks '$1' (got: $(fcomplete "$2" | tr '\n' ' '))"
}
fhasnt() {
	fcomplete "$2" | grep -qx -- "$1" && fail "fish: completing '$2' offers '$1'"
	return 0
}
fhas checks 'conform ch'
fhasnt check 'conform ch'
fhas history 'conform h'
fhas runs 'conform ru'
fhasnt __man 'conform '
fhas --duration 'conform run --d'
fhas --keep-runs 'conform start --k'
fhasnt --duration 'conform status --d'
fhas http.basic 'conform run --checks '
fhas mtls.identity 'conform history mtls.i'
fhas server-errors 'conform fault '
fhas cert-expiring 'conform fault cert-'
fhas none 'conform run --mesh n'
fhas --mesh 'conform checks --m'
fhas linkerd 'conform checks --mesh l'
fhas junit 'conform report --format j'
fhas fish 'conform completion f'
# every verb of `conform help` is offered
for v in $("$CONFORM" help | awk '/^verbs:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{if(on) exit}'); do
	fhas "$v" 'conform '
done
echo "ok"
