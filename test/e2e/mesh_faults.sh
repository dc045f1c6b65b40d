#!/usr/bin/env bash
# Every mesh check proven both ways on the real HAProxy mesh, one row per
# (check, fault): the check passes on the healthy mesh, then its fault is
# injected and the check must FAIL within two windows, with a reason naming
# the cause; the run's verdict is "fail" and the fault is an event.
#   MESH_ROWS="retry.http split.weights" test/e2e/mesh_faults.sh   runs a subset
source "$(dirname "$0")/../lib/e2e.sh"

W=4          # window, seconds
RATE=25      # per check: 100 requests a window, enough for the binomial bounds

# check          | fault          | target      | reason must contain | checks run        | duration
ROWS=$(cat <<'T'
mtls.identity    | mtls-off       | http-server | no identity         | http.basic,mtls.identity  | 0
mtls.identity    | wrong-identity | http-client | grpc-client         | http.basic,mtls.identity  | 0
mtls.enforced    | mtls-off       | http-server | accepted            | mtls.enforced             | 0
retry.http       | retries-off    | http-client | below bound         | retry.http                | 0
split.weights    | split-skew     | http-client | outside             | split.weights             | 0
split.shift      | split-skew     | http-client | still outside       | split.shift               | 36s
tap.live         | tap-off        | http-client | never appeared      | tap.live                  | 0
timeout.http     | timeout-off    | http-client | not enforced        | timeout.http              | 0
identity.expiry  | cert-expiring  | http-server | expires             | identity.expiry           | 0
grpc.basic       | sidecar-kill   | grpc-server | unavailable         | grpc.basic                | 0
T
)

trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; echo "${v%"${v##*[![:space:]]}"}"; }
while IFS='|' read -r check fault target reason checks duration; do
	check=$(trim "$check"); fault=$(trim "$fault"); target=$(trim "$target")
	reason=$(trim "$reason"); checks=$(trim "$checks"); duration=$(trim "$duration")
	[ -n "$check" ] || continue
	if [ -n "${MESH_ROWS:-}" ] && [[ " $MESH_ROWS " != *" $check "* ]]; then continue; fi
	note "row: $check under $fault on $target (expect: '$reason')"
	# a finite duration schedules the split shift at a third of it
	"$CONFORM" start --duration "$duration" --window ${W}s --mesh haproxy --rate $RATE --checks "$checks" \
		|| fail "start for $check"
	d=$(run_dir)
	wait_for 40 "$check passing on the healthy mesh" \
		status_has '[c for c in s["checks"] if c["id"]=="'"$check"'" and c["windows"]["pass"]>=1 and c["windows"]["fail"]==0]'
	"$CONFORM" fault "$fault" --target "$target" || fail "fault $fault --target $target"
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
