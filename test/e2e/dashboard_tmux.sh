#!/usr/bin/env bash
# The live views on a real terminal: `conform dashboard` runs inside a
# detached tmux of fixed size and is read back with capture-pane: check rows
# with symbols, the detail pane with the check's promise, a fault turning
# http.basic to ✖, the failing-only filter, the help overlay, a resize to
# 80x24 that keeps every line in 80 columns, and q / SIGTERM leaving the
# terminal sane. `status --watch` on a pipe prints blocks until the run ends.
source "$(dirname "$0")/../lib/e2e.sh"

command -v tmux >/dev/null || fail "tmux is not installed"
TSOCK="conform-e2e-$$"
WATCH_PID=
STOPPED_PID=
tm() { tmux -L "$TSOCK" -f "$E2E_TMP/tmux.conf" "$@"; }
dash_cleanup() {
	local s
	if [ $? -ne 0 ]; then   # show what the screens said
		for s in dash dash2; do
			echo "--- screen of $s:"
			tmux -L "$TSOCK" capture-pane -p -t "$s" 2>/dev/null
		done
	fi
	[ -n "$STOPPED_PID" ] && kill -CONT "$STOPPED_PID" 2>/dev/null
	[ -n "$WATCH_PID" ] && kill -TERM "$WATCH_PID" 2>/dev/null
	tmux -L "$TSOCK" kill-server 2>/dev/null
	e2e_cleanup
}
trap dash_cleanup EXIT
# no status line: the pane is the whole window; keep dead panes readable
printf 'set -g status off\nset -g remain-on-exit on\nset -g default-terminal tmux-256color\n' \
	>"$E2E_TMP/tmux.conf"

cap() { tm capture-pane -p -t "$1"; }
# capall SESSION: the screen with its scrollback (what the shell printed after the program)
capall() { tm capture-pane -p -S - -t "$1"; }
# screen_has SESSION TEXT: the pane shows TEXT (fixed string)
screen_has() { cap "$1" | grep -qF -- "$2"; }
# check_rows SESSION: the check rows of the screen (marker, state symbol, id)
check_rows() { cap "$1" | grep -E '^[> ] [✔✖·–] [a-z]'; }
# screen_matches SESSION [failing]: every check of the status is on screen with
# the symbol its status calls for (✖ when its latest window or its verdict so
# far fails, ✔ when its verdict is pass); with "failing", exactly the failing
# checks are listed
screen_matches() {
	tm capture-pane -p -t "$1" >"$E2E_TMP/screen.txt" || return 1
	status_json >"$E2E_TMP/status.json" 2>/dev/null || return 1
	$PY - "$E2E_TMP/screen.txt" "$E2E_TMP/status.json" "${2:-all}" <<'PYEOF'
import json, re, sys
rows = {}
for l in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^[> ] ([✔✖·–]) (\S+)", l)
    if m:
        rows[m.group(2)] = m.group(1)
s = json.load(open(sys.argv[2]))
want = {}
for c in s["checks"]:
    failing = c["state"] in ("fail", "failing") or c["verdict"] == "fail"
    if sys.argv[3] == "failing" and not failing:
        continue
    want[c["id"]] = "✖" if failing else {"pass": "✔", "skip": "–"}.get(c["verdict"], "·")
if rows != want:
    print("screen:", rows, "\nstatus:", want, file=sys.stderr)
    sys.exit(1)
PYEOF
}
pane_dead() { [ "$(tm display-message -p -t "$1" '#{pane_dead}')" = 1 ]; }
# start_dash SESSION W H: the dashboard in a shell that reports how it ended
start_dash() {
	tm new-session -d -s "$1" -x "$2" -y "$3" \
		"env CONFORM_STATE_DIR='$STATE' NO_COLOR=1 LC_ALL=C.UTF-8 '$CONFORM' dashboard;
		 echo dashboard-exit=\$?; stty -a"
}
# terminal_sane SESSION: after the program, the tty is back in canonical mode with echo
terminal_sane() {
	local s
	s=$(capall "$1")
	echo "$s" | grep -qE '(^| )icanon( |$)' || { echo "$s"; fail "$1: icanon not restored"; }
	echo "$s" | grep -qE '(^| )echo( |$)' || { echo "$s"; fail "$1: echo not restored"; }
	echo "$s" | grep -qE '(^| )-(icanon|echo)( |$)' && { echo "$s"; fail "$1: tty left raw"; }
	echo "$s" | grep -qF 'RECENT WINDOWS' && { echo "$s"; fail "$1: dashboard left on screen"; }
	return 0
}

note "usage: not a terminal, help texts"
"$CONFORM" dashboard </dev/null >"$E2E_TMP/nt.out" 2>"$E2E_TMP/nt.err"
rc=$?
[ $rc -eq 2 ] || fail "dashboard without a terminal exited $rc, want 2"
grep -qF 'dashboard needs a terminal; use `conform status --watch`' "$E2E_TMP/nt.err" ||
	fail "dashboard without a terminal: message missing: $(cat "$E2E_TMP/nt.err")"
"$CONFORM" dashboard --help >"$E2E_TMP/h.out" || fail "dashboard --help failed"
for k in Enter Tab "only failing" refresh "help overlay" quit NO_COLOR; do
	grep -qF -- "$k" "$E2E_TMP/h.out" || fail "dashboard --help lacks '$k'"
done
"$CONFORM" status --help >"$E2E_TMP/h.out" || fail "status --help failed"
grep -qF -- "--watch" "$E2E_TMP/h.out" && grep -qF -- "--interval D" "$E2E_TMP/h.out" ||
	fail "status --help lacks --watch/--interval"
"$CONFORM" status --interval 2s 2>"$E2E_TMP/u.err"
[ $? -eq 2 ] || fail "--interval without --watch must be a usage error"

note "start a run"
"$CONFORM" start --duration 0 --window 2s --mesh none || fail "start failed"
d=$(run_dir)
run_id=$(basename "$d")
# the traffic checks are healthy before any fault (mesh checks fail under --mesh none)
BASE='[c for c in s["checks"] if c["id"] in ("http.basic","grpc.basic","grpc.stream")]'
wait_for 30 "a passing window of http.basic, grpc.basic and grpc.stream" \
	status_has "len($BASE)==3 and all(c['windows']['pass']>=1 for c in $BASE)"
status_has "all(c['windows']['fail']==0 for c in $BASE)" ||
	fail "a traffic check failed before any fault: $(status_json)"
status_has 'all(len(c["recent"])>=1 and "promise" in c and "rate" in c and "p99_ms" in c
               and "incidents" in c for c in s["checks"]) and isinstance(s["events"], list)' ||
	fail "status lacks recent/promise/rate/p99_ms/incidents/events"

note "status --watch on a pipe, in the background until the run ends"
"$CONFORM" status --watch --interval 1s >"$E2E_TMP/watch.out" 2>&1 &
WATCH_PID=$!

note "dashboard at 100x30"
start_dash dash 100 30
wait_for 20 "every check on the dashboard with the symbol of its status" screen_matches dash
for c in http.basic grpc.basic grpc.stream; do
	check_rows dash | grep -qE "^[> ] ✔ ${c//./\\.} " || fail "dashboard does not show $c passing"
done
cap dash | head -n 1 | grep -qF "run $run_id" || fail "header lacks the run id"
cap dash | sed -n 2p | grep -qF "monitor reachable" || fail "header lacks monitor health"
cap dash | grep -E '^[> ] ✔ http\.basic ' | grep -qE '█' || fail "no sparkline on http.basic"

note "Enter opens the detail pane of the selected check"
promise=$(status_json | $PY -c 'import json,sys; s=json.load(sys.stdin); print([c for c in s["checks"] if c["id"]=="http.basic"][0]["promise"])')
[ -n "$promise" ] || fail "no promise for http.basic in the status"
check_rows dash | head -n 1 | grep -qE '^> . http\.basic' || fail "http.basic is not selected first"
screen_has dash "promise:" && fail "detail pane open before Enter"
tm send-keys -t dash Enter
wait_for 5 "detail pane with the promise" screen_has dash "promise:   $promise"
screen_has dash "incidents:" || fail "detail pane lacks incidents"
tm send-keys -t dash j
wait_for 5 "selection moves to grpc.basic" bash -c \
	"tmux -L '$TSOCK' capture-pane -p -t dash | grep -E '^> ✔ grpc\.basic'"
tm send-keys -t dash k

note "a fault turns http.basic to ✖"
"$CONFORM" fault server-errors --target http-server --rate 1.0 || fail "fault failed"
wait_for 20 "http.basic failing on screen" bash -c \
	"tmux -L '$TSOCK' capture-pane -p -t dash | grep -E '^[> ] ✖ http\.basic +fail'"
check_rows dash | grep -qE '^[> ] ✔ grpc\.basic' || fail "grpc.basic should still pass"
wait_for 10 "fault event in the events pane" screen_has dash "fault.start"
# two failing windows in a row make an incident; the detail pane (still open on
# http.basic) lists its sample failing requests: id, status, latency, identity
wait_for 30 "a sample failing request of the incident in the detail pane" bash -c \
	"tmux -L '$TSOCK' capture-pane -p -t dash |
	 grep -qE '^ +http\.basic\.http-client\.[0-9a-f]+\.[0-9]+\.[0-9]{13} +http_5xx 503 +[0-9.]+ ms'"
screen_has dash "incident:" || fail "detail pane lacks the incident line"
status_has '[c for c in s["checks"] if c["id"]=="http.basic" and c["state"]=="failing" and c["last_incident"]["samples"]]' ||
	fail "status lacks the debounced state or the last incident's samples: $(status_json)"

note "a monitor that does not answer is shown as unreachable, then recovers"
STOPPED_PID=$(cat "$d/conformd.pid")
kill -STOP "$STOPPED_PID"
wait_for 10 "unreachable on screen" screen_has dash "monitor unreachable — retrying"
screen_has dash "http.basic" || fail "the last known checks vanished while unreachable"
kill -CONT "$STOPPED_PID"
STOPPED_PID=
wait_for 15 "reachable again" bash -c \
	"tmux -L '$TSOCK' capture-pane -p -t dash | sed -n 2p | grep -qF 'monitor reachable'"

note "f shows only failing checks"
tm send-keys -t dash f
wait_for 5 "filter on" screen_has dash "[only failing checks]"
wait_for 5 "only the failing checks listed" screen_matches dash failing
rows=$(check_rows dash)
echo "$rows"
[ -n "$rows" ] || fail "no check rows with the filter on"
echo "$rows" | grep -qvE '^[> ] ✖ ' && fail "a non-failing check is listed with the filter on"
echo "$rows" | grep -qE 'http\.basic' || fail "http.basic missing with the filter on"
echo "$rows" | grep -qE 'grpc\.' && fail "grpc checks listed with the filter on"
tm send-keys -t dash f
wait_for 5 "filter off" bash -c \
	"tmux -L '$TSOCK' capture-pane -p -t dash | grep -E '^[> ] ✔ grpc\.stream'"

note "Tab focuses events; ? shows the help overlay"
tm send-keys -t dash Tab
wait_for 5 "events focused" screen_has dash "— focused"
tm send-keys -t dash '?'
wait_for 5 "help overlay" screen_has dash "conform dashboard: keys"
tm send-keys -t dash x
wait_for 5 "help closed" bash -c "! tmux -L '$TSOCK' capture-pane -p -t dash | grep -qF 'dashboard: keys'"
tm send-keys -t dash Tab

note "resize to 80x24"
tm resize-window -t dash -x 80 -y 24
wait_for 10 "an 80x24 screen" bash -c \
	"[ \$(tmux -L '$TSOCK' display-message -p -t dash '#{pane_width}x#{pane_height}') = 80x24 ] &&
	 tmux -L '$TSOCK' capture-pane -p -t dash | tail -n 1 | grep -qF 'q quit'"
sleep 1.2   # one refresh tick at the new size (the wait above already saw a redraw)
cap dash >"$E2E_TMP/small.txt"
cat "$E2E_TMP/small.txt"
$PY - "$E2E_TMP/small.txt" "$run_id" <<'PYEOF' || fail "80x24 screen is broken"
import sys, unicodedata
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
while lines and lines[-1] == "":
    lines.pop()
def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else
               0 if unicodedata.combining(ch) else 1 for ch in s)
assert len(lines) <= 24, len(lines)
for i, l in enumerate(lines):
    assert width(l) <= 80, (i, width(l), l)
assert lines[0].startswith("conform "), lines[0]
assert "run " + sys.argv[2] in lines[0], lines[0]
assert lines[1].startswith("monitor reachable"), lines[1]
rows = [l for l in lines if l[:1] in "> " and l[2:3] in "✔✖·–" and l[3:4] == " "]
assert len(rows) >= 3, rows
for r in rows:   # every column fits: the row ends with the p99 column
    assert r.rstrip().endswith(("ms", "s", "-")), r
PYEOF

note "q quits and gives the terminal back"
tm send-keys -t dash q
wait_for 10 "dashboard exited" pane_dead dash
capall dash | grep -qF "dashboard-exit=0" || { capall dash; fail "dashboard did not exit 0"; }
terminal_sane dash

note "SIGTERM also restores the terminal"
start_dash dash2 100 30
wait_for 20 "second dashboard up" screen_has dash2 "http.basic"
shell_pid=$(tm display-message -p -t dash2 '#{pane_pid}')
dash_pid=$(ps -o pid= --ppid "$shell_pid" | tr -d ' ' | head -n 1)
[ -n "$dash_pid" ] || fail "cannot find the dashboard's pid"
kill -TERM "$dash_pid"
wait_for 10 "dashboard ended on SIGTERM" pane_dead dash2
capall dash2 | grep -qF "dashboard-exit=0" || { capall dash2; fail "dashboard did not exit 0 on SIGTERM"; }
terminal_sane dash2

note "Ctrl-C too"
start_dash dash3 100 30
wait_for 20 "third dashboard up" screen_has dash3 "http.basic"
tm send-keys -t dash3 C-c
wait_for 10 "dashboard ended on Ctrl-C" pane_dead dash3
capall dash3 | grep -qF "dashboard-exit=0" || { capall dash3; fail "dashboard did not exit 0 on Ctrl-C"; }
terminal_sane dash3
tmux -L "$TSOCK" kill-server 2>/dev/null

note "stop the run: status --watch ends with the verdict"
"$CONFORM" stop >/dev/null
rc=$?
[ $rc -eq 1 ] || fail "stop exited $rc, want 1"
end=$((SECONDS + 20))
while kill -0 "$WATCH_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
kill -0 "$WATCH_PID" 2>/dev/null && fail "status --watch did not end with the run"
wait "$WATCH_PID"
wrc=$?
WATCH_PID=
head -n 12 "$E2E_TMP/watch.out"
echo "..."
tail -n 12 "$E2E_TMP/watch.out"
[ $wrc -eq 1 ] || fail "status --watch exited $wrc, want 1 (not conformant)"
blocks=$(grep -c "^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] run $run_id " "$E2E_TMP/watch.out")
[ "$blocks" -ge 2 ] || fail "status --watch printed $blocks blocks, want >= 2"
[ "$(grep -c '^----$' "$E2E_TMP/watch.out")" -ge 1 ] || fail "no separator between blocks"
grep -q "http.basic .*fail" "$E2E_TMP/watch.out" || fail "watch never showed http.basic failing"
grep -qF "run $run_id ended" "$E2E_TMP/watch.out" || fail "watch did not say the run ended"
grep -qE "^run $run_id: .*fail" "$E2E_TMP/watch.out" || fail "watch did not print the final verdict"
grep -q $'\033' "$E2E_TMP/watch.out" && fail "escape sequences in the non-TTY watch output"
check_no_signal_deaths "$d"
echo "ok"
