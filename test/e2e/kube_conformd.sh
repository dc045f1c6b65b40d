#!/usr/bin/env bash
# kube_conformd.sh - conformd as it runs in its pod (--seed: the run handed
# over in the Secret conform-run, the run directory on its volume) with the
# kubernetes platform, against the API server double with its controllers:
# the run's Deployments applied, a container restart and a deleted pod seen
# as events, a killed conformd resumed by the next one from the volume (the
# workloads adopted, not recreated), the finished run served until SIGTERM
# and served again after a restart, a new run refused while one is in
# progress and replacing a finished one; then the same with --mesh linkerd,
# whose adapter must use the platform's client (it has no other
# configuration here).
# The double's pods run no processes: no traffic flows, so no window is
# judged here; that needs a cluster (make test-cluster).
KUBE_PIDS="cpid"
source "$(dirname "$0")/../lib/kube.sh"
kube_e2e_init kubed
cpid=""
TOKEN=t0ken-for-tests
RUNTOK=0123456789abcdef0123456789abcdef
kube_double_start plain "$TOKEN" --controllers on

printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"conform"}}' >"$tmp/ns.json"
kc apply /api/v1/namespaces/conform "$tmp/ns.json" >/dev/null || fail "namespace"

# what the pod's environment gives conformd (the Deployment sets the token;
# a test names the server, where a pod has its service account)
export CONFORM_KUBE_SERVER="$url" CONFORM_KUBE_TOKEN="$TOKEN" CONFORM_KUBE_NAMESPACE=conform
export CONFORM_KUBE_TIMEOUT_MS=5000 CONFORM_TOKEN=$RUNTOK
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

seed() { # ID MESH [CHECKS [MORE]]: the Secret conform-run as mounted (MORE: members)
	local checks=${3:-'"http.basic","grpc.basic"'}
	mkdir -p "$tmp/seed"
	printf '%s' "$RUNTOK" >"$tmp/seed/token"
	cat >"$tmp/seed/run.json" <<EOF
{"id":"$1","platform":"kubernetes","mesh":"$2","duration_ms":0,"window_ms":1000,
 "checks":[$checks]${4:-}}
EOF
}

n=0
start_conformd() { # start one as the pod would
	n=$((n + 1))
	log="$tmp/conformd.$n.log"
	"$CONFORMD" --run-dir "$tmp/vol/run" --seed "$tmp/seed" --api-addr 127.0.0.1:0 \
		--collector-addr 127.0.0.1:0 >"$log" 2>&1 &
	cpid=$!
}
sock="$tmp/vol/run/conformd.sock"
api() { "$APICALL" --unix "$sock" "$@"; }
status_py() { # EXPR over the status document s
	api GET /v1/status 2>/dev/null | sed 1d |
		python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"
}
wait_until() { # SECONDS WHAT CMD...
	local end=$((SECONDS + $1)) what=$2; shift 2
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$cpid" 2>/dev/null || fail "conformd exited while waiting for: $what"
		sleep 0.2
	done
	fail "timed out after ${1}s waiting for: $what"
}
has_event() { # KIND SUBJECT TEXT
	status_py "any(e['kind'] == '$1' and e['subject'] == '$2' and '$3' in e['detail'] for e in s['events'])"
}
pod_of() { # DEPLOYMENT: its pod's name
	kc list /api/v1/namespaces/conform/pods | grep "^$1-[a-z0-9]*-[a-z0-9]*$" | head -n 1
}
stop_conformd() { # SIGNAL: and the exit code it must give
	kill "-$1" "$cpid"
	wait "$cpid"
	rc=$?
	cpid=""
}

note "first start: the run directory made from the seed, the workloads applied"
seed 20261206-080000-aaaa none
start_conformd
wait_until 30 "the run running" status_py "s['state'] == 'running'"
grep -q 'action=start' "$log" || fail "first start did not say it starts the run"
for d in http-server grpc-server http-client grpc-client; do
	kc get "/apis/apps/v1/namespaces/conform/deployments/$d" >/dev/null ||
		fail "deployment $d not applied"
done
kc get /apis/apps/v1/namespaces/conform/deployments/http-server-v2 >/dev/null 2>&1 &&
	fail "http-server-v2 applied without a mesh (nothing splits)"
grep -q '"platform":[[:space:]]*"kubernetes"' "$tmp/vol/run/run.json" || fail "run.json not on the volume"
has_event workload.start http-server "applied" || fail "no workload.start event"

note "a container restart (OOMKilled) and a deleted pod are events"
pod=$(pod_of http-server)
[ -n "$pod" ] || fail "no pod of http-server"
ctl "restart?namespace=conform&name=$pod&exitCode=137&reason=OOMKilled" || fail "restart"
wait_until 15 "the restart as an event" has_event workload.exit http-server OOMKilled
pod=$(pod_of grpc-server)
ctl "delete-pod?namespace=conform&name=$pod" || fail "delete-pod"
wait_until 15 "the deleted pod as an event" has_event workload.exit grpc-server "pod $pod deleted"
wait_until 15 "its replacement" has_event workload.restart grpc-server "new pod"

note "the pod replaced (conformd killed): the next one resumes from the volume"
before=$(kc list /api/v1/namespaces/conform/pods | sort)
stop_conformd KILL
start_conformd
wait_until 30 "the run resumed" status_py "s['state'] == 'running'"
grep -q 'action=resume' "$log" || fail "the second conformd did not resume"
wait_until 15 "a monitor.resume event" has_event monitor.resume conformd "adopted"
after=$(kc list /api/v1/namespaces/conform/pods | sort)
[ "$before" = "$after" ] || fail "resume replaced pods: before [$before] after [$after]"
has_event workload.exit http-server OOMKilled || fail "events of the first conformd lost"

note "another run while this one is in progress: refused"
cp "$tmp/seed/run.json" "$tmp/run.json.keep"
seed 20261206-090000-bbbb none
"$CONFORMD" --run-dir "$tmp/vol/run" --seed "$tmp/seed" >"$tmp/refused.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "a second run over one in progress: exit $rc, want 2"
grep -q "run 20261206-080000-aaaa is still in progress" "$tmp/refused.log" ||
	fail "refusal does not name the run: $(cat "$tmp/refused.log")"
cp "$tmp/run.json.keep" "$tmp/seed/run.json"

note "stop: the reports are written and served until SIGTERM"
api POST /v1/stop >/dev/null || fail "POST /v1/stop"
wait_until 60 "the reports" test -s "$tmp/vol/run/reports/report.json"
wait_until 15 "the finished state" status_py "s['state'] == 'finished'"
kill -0 "$cpid" 2>/dev/null || fail "conformd exited after the run (the pod would restart)"
api GET "/v1/report?format=junit" | grep -q "<testsuite" || fail "junit not served"
for d in http-server grpc-server http-client grpc-client; do
	kc get "/apis/apps/v1/namespaces/conform/deployments/$d" >/dev/null 2>&1 &&
		fail "deployment $d left after the stop"
done
stop_conformd TERM
[ "$rc" = 0 ] || fail "conformd exit $rc after SIGTERM, want 0"

note "restarted after the finish: serves the finished run, starts nothing"
start_conformd
wait_until 15 "the finished run served" status_py "s['state'] == 'finished'"
grep -q 'action=serve the finished run' "$log" || fail "did not say it serves the finished run"
kc get /apis/apps/v1/namespaces/conform/deployments/http-server >/dev/null 2>&1 &&
	fail "a finished run started its workloads again"
stop_conformd TERM

note "a new run replaces the finished one, which is kept in runs/"
seed 20261206-100000-cccc linkerd '"http.basic","split.weights"' \
	',"mesh_settings":{"inbound_policy":"cluster-authenticated"}'
# Linkerd 2.18 as its chart writes linkerd-config, the Gateway API served
kube_linkerd_218
start_conformd
wait_until 60 "the linkerd run running" status_py "s['state'] == 'running'"
[ -s "$tmp/vol/runs/20261206-080000-aaaa/reports/report.json" ] ||
	fail "the finished run was not kept in runs/"
grep -q '"id":[[:space:]]*"20261206-100000-cccc"' "$tmp/vol/run/run.json" || fail "new run not on the volume"
kc get /apis/apps/v1/namespaces/conform/deployments/http-server-v2 >/dev/null ||
	fail "linkerd: http-server-v2 (split.weights' second version) not applied"
wait_until 15 "the split's route" kc get \
	/apis/gateway.networking.k8s.io/v1/namespaces/conform/httproutes/http-server-split
kc get /apis/apps/v1/namespaces/conform/deployments/http-server >"$tmp/hs.json" ||
	fail "linkerd: no http-server deployment"
grep -q 'linkerd.io/inject' "$tmp/hs.json" || fail "linkerd: the pods are not injected"
grep -q '"config.linkerd.io/skip-inbound-ports":[[:space:]]*"9901"' "$tmp/hs.json" ||
	fail "linkerd: the admin port is not skipped by the proxy"
# the run's own inbound policy (by default: all-authenticated when it judges
# mtls.enforced, else none; unit/test_kube_objects)
grep -q '"config.linkerd.io/default-inbound-policy":[[:space:]]*"cluster-authenticated"' \
	"$tmp/hs.json" || fail "linkerd: the run's inbound policy is not on the pods"
# the double's pods run no proxy: the mesh's own view cannot be read, which
# is an event (the checks judge the workloads' view), not a failure
wait_until 20 "the mesh view's failed scrape as an event" \
	has_event mesh.view linkerd ":4191/proxy/metrics"
# proxies that take 4 s to answer hold the view's own thread, not the main
# loop: the heartbeat it writes every second stays fresh (a blocked loop
# would let it age by the scrape's time)
ctl "metrics-stall?value=4000"
python3 - "$tmp/vol/run/heartbeat" <<'PYEOF' || fail "the main loop waited for the proxies' scrape"
import sys, time
worst, end = 0.0, time.time() + 9
while time.time() < end:
    try:
        worst = max(worst, time.time() - float(open(sys.argv[1]).read()))
    except (OSError, ValueError):
        pass
    time.sleep(0.2)
print("heartbeat age at most %.2f s while the scrapes stall" % worst)
sys.exit(0 if worst < 2.5 else 1)
PYEOF
ctl "metrics-stall?value=0"
stop_conformd TERM
echo "ok"
