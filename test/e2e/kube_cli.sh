#!/usr/bin/env bash
# kube_cli.sh - `conform start|status|fault|stop|report --platform kubernetes`
# through real kubectl, against the API server double (TLS, controllers on)
# through a kubeconfig that points at it: the errors a user meets (no
# kubeconfig, an unreachable cluster within seconds, a denied permission
# named, conformd's pod pending, its image not pullable, crash-looping with
# its last log lines), then a whole run: start applies the namespace,
# conformd's objects and the Secret conform-run; a conformd started here
# from that Secret (the double's pods run no processes) stands behind the
# Service the API server proxies to; status, a kill fault, stop and report
# reach it through kubectl proxy and the service proxy with the run token.
# Not proven here: conformd in a real pod, the workloads running, traffic
# (make test-cluster).
KUBE_PIDS="spid cpid"
source "$(dirname "$0")/../lib/kube.sh"
kube_e2e_init kcli
cpid="" spid=""
TOKEN=t0ken-for-tests
kube_need kubectl
kube_double_start tls "$TOKEN" --controllers on
kubeconfig() { kube_kubeconfig "$1" "$2" "$TOKEN"; }
kubeconfig "$tmp/kubeconfig" "$url"
kubeconfig "$tmp/kubeconfig.off" "https://127.0.0.1:1"
export HOME="$tmp" CONFORM_STATE_DIR="$tmp/state" NO_COLOR=1
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

start() { # start a run (more flags may follow); output in $tmp/out, $tmp/err; rc in $rc
	"$CONFORM" start --platform kubernetes --mesh none --checks http.basic,grpc.basic \
		--window 1s "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
want3() { # WHAT TEXT: start failed with exit 3 and said TEXT
	[ "$rc" = 3 ] || fail "$1: exit $rc, want 3: $(cat "$tmp/err")"
	grep -qF -- "$2" "$tmp/err" || fail "$1: the error does not say '$2': $(cat "$tmp/err")"
	[ "$(grep -c '^conform: ' "$tmp/err")" = 1 ] || fail "$1: not one error line: $(cat "$tmp/err")"
}

note "no kubeconfig: exit 3, says so"
KUBECONFIG= start
want3 "no kubeconfig" "no kubeconfig: KUBECONFIG is unset and $tmp/.kube/config does not exist"
KUBECONFIG="$tmp/nope" start
want3 "a missing KUBECONFIG file" "KUBECONFIG names $tmp/nope, which does not exist"
[ -z "$(ls "$tmp/state/runs" 2>/dev/null)" ] || fail "a failed start left a run directory"

note "an unreachable cluster: exit 3 within seconds"
t0=$SECONDS
KUBECONFIG="$tmp/kubeconfig.off" start
want3 "unreachable" "cluster unreachable"
grep -q "127.0.0.1:1" "$tmp/err" || fail "unreachable: the server is not named: $(cat "$tmp/err")"
[ $((SECONDS - t0)) -le 15 ] || fail "unreachable took $((SECONDS - t0)) s"

export KUBECONFIG="$tmp/kubeconfig"

note "a denied permission: exit 3, the permission named"
ctl "deny?verb=patch&resource=deployments&group=apps" || fail "deny"
start
want3 "forbidden" 'cannot patch resource "deployments" in API group "apps"'
ctl deny-reset

note "--mesh linkerd: what the adapter needs is checked before anything is applied"
rv() { curl -fsS ${KUBE_CURL_CA[@]+"${KUBE_CURL_CA[@]}"} "$url/_double/stats" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["resourceVersion"])'; }
lstart() { # CHECKS: start on linkerd; rv0 the double's resourceVersion before
	rv0=$(rv)
	runs0=$(ls "$tmp/state/runs" 2>/dev/null | wc -l)
	"$CONFORM" start --platform kubernetes --mesh linkerd --checks "$1" --window 1s \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
}
nothing_applied() { # WHAT: no write reached the API server during lstart
	[ "$(rv)" = "$rv0" ] || fail "$1: the start wrote to the cluster (resourceVersion $rv0 -> $(rv))"
	[ "$(ls "$tmp/state/runs" 2>/dev/null | wc -l)" = "$runs0" ] || fail "$1: a run directory was left"
}
lstart http.basic
want3 "no linkerd" "linkerd is not installed (no linkerd-config in the control plane namespace linkerd"
nothing_applied "no linkerd"
kube_linkerd_218
sed -i 's/stable-2.18.0/stable-2.14.10/' "$tmp/l5dcfg.json"
kc apply /api/v1/namespaces/linkerd/configmaps/linkerd-config "$tmp/l5dcfg.json" >/dev/null
lstart http.basic
want3 "linkerd 2.14" "linkerd stable-2.14.10 is not supported: conform needs linkerd 2.16 or later"
nothing_applied "linkerd 2.14"
kube_linkerd_218
ctl "hide-group-version?gv=gateway.networking.k8s.io/v1" || fail "hide v1"
lstart http.basic
want3 "no HTTPRoute v1" "linkerd stable-2.18.0 reads HTTPRoute gateway.networking.k8s.io/v1, which this cluster does not serve"
ctl "hide-group-version?gv=tap.linkerd.io/v1alpha1" || fail "hide tap"
lstart http.basic,tap.live
want3 "no viz" "tap.live needs linkerd-viz's tap API"
nothing_applied "no viz"
ctl "hide-group-version?gv=" || fail "unhide"
kc delete /api/v1/namespaces/linkerd/configmaps/linkerd-config >/dev/null ||
	fail "linkerd-config left behind"

note "conformd's pod pending (unschedulable): exit 3 with the scheduler's reason"
ctl "pending-new?name=conformd&reason=Unschedulable&message=0/1%20nodes%20are%20available:%201%20Insufficient%20memory." ||
	fail "pending-new"
t0=$SECONDS
start
want3 "pending" "conformd's pod"
grep -q "Insufficient memory" "$tmp/err" || fail "pending: no reason: $(cat "$tmp/err")"
echo "    (said after $((SECONDS - t0)) s)"

note "conformd's image not pullable: exit 3, how to load it into kind"
ctl "pending-new?name=conformd&reason=ImagePullBackOff&message=Back-off%20pulling%20image%20%22conform:0.1.0%22" ||
	fail "pending-new"
start
want3 "image" "conformd's image cannot be pulled"
grep -q "kind load image-archive build/image/conform-image.tar" "$tmp/err" ||
	fail "image: no kind hint: $(cat "$tmp/err")"

note "conformd crash-looping: exit 3 with its last log lines"
ctl "pending-new?name=conformd&reason=CrashLoopBackOff&message=back-off%2010s%20restarting%20failed%20container" ||
	fail "pending-new"
(
	# its previous instance's log, once the pod is there
	for _ in $(seq 100); do
		pod=$(kc list /api/v1/namespaces/conform/pods 2>/dev/null | grep '^conformd-' | head -n 1)
		if [ -n "$pod" ]; then
			curl -fsS --cacert "$tmp/tls/cert.pem" -X POST --data-binary \
				'level=error prog=conformd msg="cannot read run.json"' \
				"$url/_double/logs?namespace=conform&name=$pod" -o /dev/null
		fi
		sleep 0.1
	done
) &
lpid=$!
start
kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
want3 "crash loop" "conformd is crash-looping"
grep -q '  | level=error prog=conformd msg="cannot read run.json"' "$tmp/err" ||
	fail "crash loop: no log lines: $(cat "$tmp/err")"
ctl "pending-new?name=" || fail "pending-new reset"
rm -rf "$tmp/state"
# the failed starts left their Secret: wait for this run's, not theirs
kc delete /api/v1/namespaces/conform/secrets/conform-run >/dev/null || fail "delete the Secret"

note "a whole run: start applies, conformd answers through the service proxy"
start &
spid=$!
# conformd as its pod runs it (the Secret conform-run as --seed)
kube_conformd_as_pod "$TOKEN" "$tmp/vol/run"
wait "$spid"
rc=$?
spid=""
[ "$rc" = 0 ] || fail "start: exit $rc: $(cat "$tmp/err")"
grep -q "started in the cluster (namespace conform)" "$tmp/out" || fail "start said: $(cat "$tmp/out")"
for o in api/v1/namespaces/conform api/v1/namespaces/conform/serviceaccounts/conformd \
	apis/rbac.authorization.k8s.io/v1/namespaces/conform/roles/conformd \
	apis/rbac.authorization.k8s.io/v1/namespaces/conform/rolebindings/conformd \
	api/v1/namespaces/conform/persistentvolumeclaims/conformd-data \
	apis/apps/v1/namespaces/conform/deployments/conformd api/v1/namespaces/conform/services/conformd \
	apis/apps/v1/namespaces/conform/deployments/http-server; do
	kc get "/$o" >/dev/null 2>&1 || fail "not applied: /$o"
done
kc get /apis/apps/v1/namespaces/conform/deployments/conformd | grep -q -- '--seed' ||
	fail "conformd's Deployment does not take the run over (--seed)"

note "status through kubectl proxy and the service proxy"
"$CONFORM" status --json >"$tmp/status" 2>"$tmp/err" || fail "status: $(cat "$tmp/err")"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['state']=='running' and s['run']['platform']=='kubernetes', s" \
	"$tmp/status" || fail "status: $(cat "$tmp/status")"

note "the dashboard reads the same run through kubectl (tmux, 100x30)"
command -v tmux >/dev/null || fail "tmux is needed (make deps)"
tsock="conform-kcli-$$"
tmux -L "$tsock" -f /dev/null new-session -d -s dash -x 100 -y 30 \
	"env HOME='$HOME' KUBECONFIG='$KUBECONFIG' CONFORM_STATE_DIR='$tmp/state' NO_COLOR=1 \
	 LC_ALL=C.UTF-8 '$CONFORM' dashboard 2>'$tmp/dash.err'; echo dashboard-exit=\$?; sleep 30"
ok=0
for _ in $(seq 50); do
	tmux -L "$tsock" capture-pane -p -t dash >"$tmp/dash.screen" 2>/dev/null
	grep -q "kubernetes" "$tmp/dash.screen" && grep -qE '^[> ] . http\.basic' "$tmp/dash.screen" &&
		{ ok=1; break; }
	sleep 0.2
done
tmux -L "$tsock" send-keys -t dash q
sleep 0.5
tmux -L "$tsock" capture-pane -p -t dash >>"$tmp/dash.screen" 2>/dev/null
tmux -L "$tsock" kill-server 2>/dev/null
[ $ok = 1 ] || fail "dashboard on kubernetes: $(cat "$tmp/dash.screen" "$tmp/dash.err")"
grep -q "dashboard-exit=0" "$tmp/dash.screen" || fail "dashboard did not quit with 0: $(cat "$tmp/dash.screen")"

note "a fault: kill deletes the pod, the event follows"
pod=$(kc list /api/v1/namespaces/conform/pods | grep '^http-server-' | head -n 1)
"$CONFORM" fault kill --target http-server >"$tmp/out" 2>"$tmp/err" || fail "fault kill: $(cat "$tmp/err")"
for _ in $(seq 50); do
	"$CONFORM" status --json 2>/dev/null | grep -q "pod $pod deleted" && break
	sleep 0.2
done
"$CONFORM" status --json | grep -q "pod $pod deleted" || fail "the kill fault's pod deletion is not an event"

note "a wrong token is refused by conformd behind the proxy"
run=$(readlink "$tmp/state/current"); run=${run#runs/}
cp "$tmp/state/runs/$run/token" "$tmp/token.keep"
echo wrong-token >"$tmp/state/runs/$run/token"
"$CONFORM" status >"$tmp/out" 2>"$tmp/err" && fail "status with a wrong token succeeded"
cp "$tmp/token.keep" "$tmp/state/runs/$run/token"

note "stop: reports copied to the local run directory"
"$CONFORM" stop >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "stop: exit $rc: $(cat "$tmp/err")"
for f in report.json junit.xml report.html report.md; do
	[ -s "$tmp/state/runs/$run/reports/$f" ] || fail "stop did not copy $f"
done
grep -q "http.basic" "$tmp/out" || fail "stop printed no verdicts: $(cat "$tmp/out")"
grep -q "<testsuite" "$tmp/state/runs/$run/reports/junit.xml" || fail "junit.xml copied is not JUnit"
grep -q "<html" "$tmp/state/runs/$run/reports/report.html" || fail "report.html copied is not HTML"
[ -L "$tmp/state/current" ] && fail "stop left the run current"
"$CONFORM" report --format junit >"$tmp/junit" 2>"$tmp/err" || [ $? = 1 ] || fail "report: $(cat "$tmp/err")"
grep -q "<testsuite" "$tmp/junit" || fail "report --format junit: $(head -3 "$tmp/junit")"
echo "ok"
