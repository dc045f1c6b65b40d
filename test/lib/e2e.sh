# e2e.sh - shared helpers for the end-to-end tests (sourced, not run).
# Each test gets a private state dir, cleans up every process of its runs on
# exit, and fails if any process of a run died from a signal it did not ask for.
set -u
CONFORM_BIN=${CONFORM_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}
CONFORM="$CONFORM_BIN/conform"
PY=python3
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/conform-e2e.XXXXXX")
STATE="$E2E_TMP/state"
export CONFORM_STATE_DIR="$STATE"
export NO_COLOR=1

e2e_cleanup() {
	local d pid
	# stop an active run politely, then make sure nothing of ours is left
	if [ -L "$STATE/current" ]; then
		timeout 60 "$CONFORM" stop >/dev/null 2>&1 || true
	fi
	for d in "$STATE"/runs/*/; do
		[ -f "$d/conformd.pid" ] || continue
		pid=$(cat "$d/conformd.pid" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "kept: $E2E_TMP"
	else
		rm -rf "$E2E_TMP"
	fi
}
trap e2e_cleanup EXIT
# ended by the runner's timeout or an interrupt: exit, so the EXIT trap cleans up
trap 'exit 143' TERM
trap 'exit 130' INT

fail() { echo "FAIL: $*"; exit 1; }
note() { echo "--- $*"; }

# wait_for SECONDS DESCRIPTION CMD... : poll CMD every 0.2 s until it succeeds
wait_for() {
	local secs=$1 what=$2; shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	# what the run looked like when the wait gave up (the reasons of the
	# checks that were not yet as wanted), if one is going
	[ -n "${CONFORM:-}" ] && "$CONFORM" status 2>&1 | head -n 40 | sed 's/^/    status: /'
	fail "timed out after ${secs}s waiting for: $what"
}

# run_dir: directory of the newest run in the state dir
run_dir() { ls -1dt "$STATE"/runs/*/ 2>/dev/null | head -n 1 | sed 's:/$::'; }

# jq-like reads with python: json_get FILE EXPR (EXPR in python, d = the document)
json_get() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# status_json: conform status --json to stdout
status_json() { "$CONFORM" status --json; }
# status_has EXPR : python expression over the status document s is true
status_has() {
	"$CONFORM" status --json 2>/dev/null | $PY -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"
}

# check_reports DIR: the three reports exist and parse
check_reports() {
	local d=$1/reports
	[ -s "$d/report.json" ] || fail "report.json missing in $d"
	[ -s "$d/junit.xml" ] || fail "junit.xml missing in $d"
	[ -s "$d/report.md" ] || fail "report.md missing in $d"
	$PY -c "import json,sys; json.load(open(sys.argv[1]))" "$d/report.json" || fail "report.json does not parse"
	xmllint --noout "$d/junit.xml" || fail "junit.xml is not well-formed XML"
	$PY - "$d/report.json" <<'PYEOF' || fail "report.json lacks expected fields"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("id", "platform", "mesh", "started", "ended", "duration_s"):
    assert k in r["run"], k
assert r["verdict"] in ("pass", "fail")
for c in r["checks"]:
    for k in ("id", "title", "verdict", "reason", "windows", "requests", "latency_ms", "incidents"):
        assert k in c, (c.get("id"), k)
    assert c["verdict"] in ("pass", "fail", "skip")
    for k in ("pass", "fail", "nodata"):
        assert k in c["windows"]
    for k in ("total", "ok", "failed"):
        assert k in c["requests"]
    for k in ("p50", "p99"):
        assert k in c["latency_ms"]
assert isinstance(r["events"], list)
PYEOF
}

# check_verdict DIR CHECK VERDICT [REASON_SUBSTRING]
check_verdict() {
	$PY - "$1/reports/report.json" "$2" "$3" "${4:-}" <<'PYEOF' || fail "check $2: expected $3 ${4:+with reason containing '$4'}"
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == sys.argv[2]]
assert c, "no such check in report"
c = c[0]
print(f"{c['id']}: {c['verdict']}: {c['reason']}")
assert c["verdict"] == sys.argv[3]
assert sys.argv[4].lower() in c["reason"].lower()
PYEOF
}

# check_totals DIR: every client's logged totals equal the report's totals,
# and every check the report judged on requests (requests.total > 0) has a
# client totals line: none is passed over silently. (Checks judged from other
# flows' data or from conformd's probes, such as mtls.identity, count 0.)
check_totals() {
	$PY - "$1" <<'PYEOF' || fail "client totals differ from report totals"
import glob, json, os, re, sys
d = sys.argv[1]
r = json.load(open(os.path.join(d, "reports", "report.json")))
client = {}
for log in glob.glob(os.path.join(d, "logs", "*client*.log")):
    for line in open(log, errors="replace"):
        if "msg=totals" not in line and 'msg="totals"' not in line:
            continue
        kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
        # a flow of check X/VARIANT counts for check X
        check = kv["check"].strip('"').split("/")[0]
        client[check] = client.get(check, 0) + int(kv["requests"])
assert client, "no totals lines in client logs"
bad = []
for c in r["checks"]:
    if c["verdict"] == "skip":
        continue
    if c["id"] not in client:
        if c["requests"]["total"] > 0:
            print(f"{c['id']}: {c['requests']['total']} requests judged, but no client logged totals for it")
            bad.append(c["id"])
        continue
    print(f"{c['id']}: client={client[c['id']]} report={c['requests']['total']}")
    if client[c["id"]] != c["requests"]["total"]:
        bad.append(c["id"])
assert not bad, bad
PYEOF
}

# stop_conformant DIR: `conform stop` the active run (DIR), which must exit 0
# (conformant), then its reports, totals and processes are checked as above
stop_conformant() {
	local rc
	note "stop"
	"$CONFORM" stop >/dev/null; rc=$?
	if [ "$rc" != 0 ]; then
		# which check, and why: the report says
		[ -f "$1/reports/report.json" ] && $PY - "$1/reports/report.json" <<'PYEOF'
import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["verdict"] != "pass":
        print(f'    {c["id"]} {c["verdict"]} windows={c["windows"]}: {c["reason"]}')
PYEOF
		fail "stop: exit $rc (want 0: conformant)"
	fi
	check_reports "$1"
	check_totals "$1"
	check_no_signal_deaths "$1"
}

# check_no_signal_deaths DIR: no process of the run died from a signal nobody
# asked for, and no sanitizer report in any log. Only the signals conformd
# sends are excused, and only when conformd says it sent them: TERM at stop or
# restart, KILL from a kill fault or after the stop grace ("exited by signal 15
# (TERM) (expected: stop)", lib/platform_local.c). A SEGV at shutdown fails.
check_no_signal_deaths() {
	local d=$1
	if grep -lE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$d"/logs/*.log 2>/dev/null; then
		fail "sanitizer report in the logs above"
	fi
	$PY - "$d/reports/report.json" "$d/logs/conformd.log" <<'PYEOF' || fail "a process of the run died from a signal"
import json, os, re, sys
r = json.load(open(sys.argv[1]))
caused = re.compile(r"^exited by signal \d+ \((TERM|KILL)\) \(expected: [^)]+\)")
exits = [(e["subject"], e["detail"]) for e in r["events"] if e["kind"] == "workload.exit"]
# servers and sidecars are stopped after the reports are written: their exits
# are only in conformd's log (cmd/conformd/main.c, finish())
if os.path.exists(sys.argv[2]):
    for line in open(sys.argv[2], errors="replace"):
        if 'msg="workload exited"' not in line:
            continue
        m = re.search(r'name=(\S+) detail="((?:[^"\\]|\\.)*)"', line)
        assert m, "cannot read: " + line
        exits.append((m.group(1), m.group(2)))
else:
    print("no conformd.log: only the report's events are judged")
bad = [(n, det) for n, det in exits if "signal" in det and not caused.match(det)]
for n, det in bad:
    print("unexpected exit of %s: %s" % (n, det))
assert not bad
PYEOF
}

# ---- sample workloads against the test sink, without conformd ----
# For tests that start conform-workload ($WL) and the test sink ($SINK)
# themselves (workloads_*.sh). Every process started here is added to PIDS,
# which wl_cleanup ends; WL_WRAP is a command prefix for all of them (e.g.
# valgrind), empty by default.
WL="$CONFORM_BIN/conform-workload"
SINK="$CONFORM_BIN/../test/tools/sink"
WL_WRAP=()
PIDS=()

# wl_init LOG_LINES: for a test of this kind, after sourcing this file: fail
# unless both binaries are built; T is the test's private dir; on exit every
# process in PIDS is ended; fail() shows the last LOG_LINES of each T/*.log.
wl_init() {
	local f
	for f in "$WL" "$SINK"; do
		[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
	done
	T=$E2E_TMP
	WL_LOG_LINES=$1
	trap wl_cleanup EXIT
	fail() {
		local f
		echo "FAIL: $*"
		for f in "$T"/*.log; do echo "--- $f"; tail -n "$WL_LOG_LINES" "$f"; done
		exit 1
	}
}

# wl_cleanup: TERM then KILL every process in PIDS, then e2e_cleanup
wl_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	[ ${#PIDS[@]} -gt 0 ] && sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	e2e_cleanup
}

# wait_file PATH SECONDS: poll until PATH is not empty; 1 after SECONDS
wait_file() {
	local end=$((SECONDS + $2))
	while [ ! -s "$1" ]; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# json_field FILE KEY: the string value of KEY in the one-line JSON of FILE
json_field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }

# wl_spawn DIR TAG CMD...: start CMD (under WL_WRAP) in the background with
# stderr to DIR/TAG.log; its pid in WL_PID and in PIDS
wl_spawn() {
	local dir=$1 tag=$2
	shift 2
	"${WL_WRAP[@]}" "$@" 2>"$dir/$tag.log" &
	WL_PID=$!
	PIDS+=("$WL_PID")
}

# wl_start_servers DIR SECONDS: the sink (rows to DIR/sink.out), an
# http-server and a grpc-server (backend v2), all on 127.0.0.1 port 0, each
# ready within SECONDS. Sets SINK_PID HS_PID GS_PID, COLL (the collector
# address), HS and GS (listen addresses), HA and GA (admin addresses).
wl_start_servers() {
	local dir=$1 secs=$2
	wl_spawn "$dir" sink "$SINK" --port-file "$dir/sink.port" >"$dir/sink.out"
	SINK_PID=$WL_PID
	wl_spawn "$dir" hs "$WL" --role http-server --name http-server --listen 127.0.0.1:0 \
		--admin 127.0.0.1:0 --ready-file "$dir/hs.ready"
	HS_PID=$WL_PID
	wl_spawn "$dir" gs "$WL" --role grpc-server --name grpc-server --version v2 \
		--listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$dir/gs.ready"
	GS_PID=$WL_PID
	wait_file "$dir/sink.port" "$secs" || fail "sink did not start"
	wait_file "$dir/hs.ready" "$secs" || fail "http-server not ready"
	wait_file "$dir/gs.ready" "$secs" || fail "grpc-server not ready"
	COLL=127.0.0.1:$(cat "$dir/sink.port")
	HS=$(json_field "$dir/hs.ready" listen); HA=$(json_field "$dir/hs.ready" admin)
	GS=$(json_field "$dir/gs.ready" listen); GA=$(json_field "$dir/gs.ready" admin)
	[ -n "$HS" ] && [ -n "$HA" ] && [ -n "$GS" ] && [ -n "$GA" ] ||
		fail "ready files lack listen/admin"
}

# wl_start_clients DIR SECONDS HTTP_FLOW... -- GRPC_FLOW...: an http-client
# and a grpc-client sending to COLL, with those --flow values, both ready
# within SECONDS. Sets HC_PID GC_PID.
wl_start_clients() {
	local dir=$1 secs=$2
	local hc=(--role http-client --name http-client --collector "$COLL" --ready-file "$dir/hc.ready")
	local gc=(--role grpc-client --name grpc-client --collector "$COLL" --ready-file "$dir/gc.ready")
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do hc+=(--flow "$1"); shift; done
	[ $# -gt 0 ] && shift
	while [ $# -gt 0 ]; do gc+=(--flow "$1"); shift; done
	wl_spawn "$dir" hc "$WL" "${hc[@]}"
	HC_PID=$WL_PID
	wl_spawn "$dir" gc "$WL" "${gc[@]}"
	GC_PID=$WL_PID
	wait_file "$dir/hc.ready" "$secs" || fail "http-client not ready"
	wait_file "$dir/gc.ready" "$secs" || fail "grpc-client not ready"
}

# wl_stop NAME PID SECONDS: TERM, KILL after SECONDS; fail if it died from a
# signal, exited non-zero, or (rc 99, under valgrind) had memory errors
wl_stop() {
	local name=$1 pid=$2 rc end=$((SECONDS + $3))
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then kill -KILL "$pid"; break; fi
		sleep 0.05
	done
	wait "$pid"; rc=$?
	[ $rc -eq 99 ] && [ ${#WL_WRAP[@]} -gt 0 ] && fail "$name: ${WL_WRAP[0]} found errors or leaks"
	[ $rc -gt 128 ] && fail "$name died from signal $((rc - 128))"
	[ $rc -ne 0 ] && fail "$name exited $rc"
	echo "ok $name"
}

# wl_stop_all SECONDS: wl_stop the clients first (their last batches reach
# the sink), then the sink and the servers
wl_stop_all() {
	wl_stop http-client "$HC_PID" "$1"
	wl_stop grpc-client "$GC_PID" "$1"
	wl_stop sink "$SINK_PID" "$1"
	wl_stop http-server "$HS_PID" "$1"
	wl_stop grpc-server "$GS_PID" "$1"
	PIDS=()
}
