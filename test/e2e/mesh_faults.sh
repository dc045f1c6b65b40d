#!/usr/bin/env bash
# Every mesh check, and every fault of the README's table, proven both ways
# on a real mesh, one row per (check, fault): the check passes on the healthy
# mesh, then its fault is injected and the check must FAIL within two windows,
# with a reason naming the cause; the run's verdict is "fail" and the fault is
# an event.
#   MESH_ROWS="retry.http split.weights" test/e2e/mesh_faults.sh   runs a subset
#   FAULTS_MESH=NAME test/e2e/mesh_faults.sh   the same table on another mesh
#                                              (default haproxy, the local one)
# e2e: long (starts first when no durations are known)
source "$(dirname "$0")/../lib/e2e.sh"

W=4          # window, seconds
RATE=25      # per check: 100 requests a window, enough for the binomial bounds

MESH=${FAULTS_MESH:-haproxy}

# The fault args column is passed to `conform fault` as it is (- for none).
# server-latency --ms 400: every answer 400 ms late, so the fast requests are
# no longer well under the 500 ms route timeout (lib/run.c) and timeout.http
# fails on them; kill and sidecar-kill break traffic while the supervisor
# restarts the process (500 ms backoff, lib/platform_local.c). A killed
# http-server does not fail http.basic here: the outbound's retries carry the
# requests over the restart (that is the mesh working); spine_restart.sh
# proves kill on http.basic without a mesh.
# check          | fault          | target      | reason must contain | checks run        | duration | fault args
ROWS=$(cat <<'T'
mtls.identity    | mtls-off       | http-server | no identity         | http.basic,mtls.identity  | 0 | -
mtls.identity    | wrong-identity | http-client | grpc-client         | http.basic,mtls.identity  | 0 | -
mtls.enforced    | mtls-off       | http-server | accepted            | mtls.enforced             | 0 | -
retry.http       | retries-off    | http-client | below bound         | retry.http                | 0 | -
split.weights    | split-skew     | http-client | outside             | split.weights             | 0 | -
split.shift      | split-skew     | http-client | still outside       | split.shift               | 36s | -
tap.live         | tap-off        | http-client | never appeared      | tap.live                  | 0 | -
timeout.http     | timeout-off    | http-client | not enforced        | timeout.http              | 0 | -
timeout.http     | server-latency | http-server | fast requests       | timeout.http              | 0 | --ms 400
identity.expiry  | cert-expiring  | http-server | expires             | identity.expiry           | 0 | -
grpc.basic       | sidecar-kill   | grpc-server | unavailable         | grpc.basic                | 0 | -
http.basic       | sidecar-kill   | http-server | HTTP                | http.basic                | 0 | -
grpc.stream      | kill           | grpc-server | stream broke        | grpc.stream               | 0 | -
T
)

trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; echo "${v%"${v##*[![:space:]]}"}"; }
while IFS='|' read -r check fault target reason checks duration fargs; do
	check=$(trim "$check"); fault=$(trim "$fault"); target=$(trim "$target")
	reason=$(trim "$reason"); checks=$(trim "$checks"); duration=$(trim "$duration")
	fargs=$(trim "$fargs"); [ "$fargs" = - ] && fargs=
	[ -n "$check" ] || continue
	if [ -n "${MESH_ROWS:-}" ] && [[ " $MESH_ROWS " != *" $check "* ]]; then continue; fi
	note "row: $check under $fault $fargs on $target, mesh $MESH (expect: '$reason')"
	# a finite duration schedules the split shift at a third of it
	"$CONFORM" start --duration "$duration" --window ${W}s --mesh "$MESH" --rate $RATE --checks "$checks" \
		|| fail "start for $check"
	d=$(run_dir)
	wait_for 40 "$check passing on the healthy mesh" \
		status_has '[c for c in s["checks"] if c["id"]=="'"$check"'" and c["windows"]["pass"]>=1 and c["windows"]["fail"]==0]'
	# shellcheck disable=SC2086 # fargs is a list of words
	"$CONFORM" fault "$fault" --target "$target" $fargs || fail "fault $fault --target $target $fargs"
	t0=$SECONDS
	# two windows after the fault, plus the evaluator's grace and tick
	wait_for $((2 * W + 5)) "$check failing under $fault" \
		status_has '[c for c in s["checks"] if c["id"]=="'"$check"'" and c["windows"]["fail"]>=1]'
	echo "$check failed $((SECONDS - t0))s after $fault"
	"$CONFORM" stop >/dev/null
	rc=$?
	[ $rc -eq 1 ] || fail "$check/$fault: stop exited $rc, want 1"
	check_verdict "$d" "$check" fail "$reason"
	$PY - "$d/reports/report.json" "$fault" "$target" <<'PYEOF' || fail "$fault: no fault.start event"
import json, sys
r = json.load(open(sys.argv[1]))
assert any(e["kind"] == "fault.start" and e["subject"] == sys.argv[3] and sys.argv[2] in e["detail"]
           for e in r["events"]), [e for e in r["events"] if e["kind"].startswith("fault")]
PYEOF
	check_no_signal_deaths "$d"
done <<<"$ROWS"
echo "ok"
