#!/usr/bin/env bash
# kube_nightly.sh - the nightly CronJob (manifests/kubernetes/nightly) as its
# pod runs it, against the API server double (TLS, controllers on) with real
# kubectl: the overlay rendered with `kubectl kustomize` and applied by an
# administrator; then the CronJob's own command and arguments (its 30m cut
# to seconds, one check) run with no KUBECONFIG, an empty HOME, the in-cluster
# environment pointing at the double and a service-account directory whose
# token is the CronJob ServiceAccount's. The double authorizes that token only
# by the RBAC objects it holds (the overlay's Role conform-nightly), refuses
# Roles and RoleBindings granting more than the token holds, and authorizes
# conformd (started here from the Secret the CLI applied, as its pod would)
# by the Roles the CLI applied for it. The run must end with the reports
# copied onto the state directory and the exit code its verdict says. Then
# one rule taken out of the Role at a time: the run fails with exit 3 and
# the forbidden message naming what is missing.
# Not proven here: a real API server, a real pod (kubelet, mounted token,
# volume), the workloads running (make test-cluster).
KUBE_PIDS="rpid cpid"
source "$(dirname "$0")/../lib/kube.sh"
kube_e2e_init knightly
cpid="" rpid=""
ADMIN=admin-t0ken
NIGHTLY_TOKEN=nightly-sa-t0ken
CONFORMD_TOKEN=conformd-sa-t0ken
kube_need kubectl python3
python3 -c "import yaml" 2>/dev/null || fail "python3-yaml is needed (make deps)"
kube_double_start tls "$ADMIN" --controllers on \
	--sa-token "conform:conform-nightly=$NIGHTLY_TOKEN" \
	--sa-token "conform:conformd=$CONFORMD_TOKEN"

note "the overlay, rendered and applied by an administrator"
KUBECONFIG=/nonexistent kubectl kustomize manifests/kubernetes/nightly >"$tmp/nightly.yaml" 2>"$tmp/kustomize.err" ||
	fail "kubectl kustomize nightly: $(cat "$tmp/kustomize.err")"
mkdir -p "$tmp/objs"
# each object but the CronJob (the double serves no batch/v1: the test plays
# its pod) as "API-PATH FILE"; the CronJob's container as cronjob.json
python3 - "$tmp/nightly.yaml" "$tmp/objs" >"$tmp/objs.txt" <<'EOF' || fail "the rendered overlay: see above"
import json, sys, yaml
cluster = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "Role": "roles",
          "RoleBinding": "rolebindings", "ClusterRole": "clusterroles",
          "ClusterRoleBinding": "clusterrolebindings",
          "PersistentVolumeClaim": "persistentvolumeclaims"}
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds.count("CronJob") == 1, kinds
for i, d in enumerate(docs):
    k, md = d["kind"], d["metadata"]
    if k == "CronJob":
        job = d["spec"]["jobTemplate"]["spec"]
        pod = job["template"]["spec"]
        assert job.get("backoffLimit") == 0, "backoffLimit must be 0: the exit code is the Job's status"
        assert pod.get("restartPolicy") == "Never", "restartPolicy must be Never"
        c = pod["containers"][0]
        vols = {v["name"]: v for v in pod["volumes"]}
        state = [m for m in c["volumeMounts"] if "persistentVolumeClaim" in vols[m["name"]]]
        json.dump({"sa": pod["serviceAccountName"], "command": c["command"], "args": c["args"],
                   "env": {e["name"]: e["value"] for e in c.get("env", [])},
                   "pvc_mount": state[0]["mountPath"] if state else ""},
                  open(sys.argv[2] + "/cronjob.json", "w"))
        continue
    g, _, v = d["apiVersion"].rpartition("/")
    base = f"/apis/{g}/{v}" if g else f"/api/{v}"
    ns = "" if k in cluster else f"/namespaces/{md['namespace']}"
    f = f"{sys.argv[2]}/{i}.json"
    json.dump(d, open(f, "w"))
    print(f"{base}{ns}/{plural[k]}/{md['name']} {f}")
EOF
while read -r path file; do
	kc apply "$path" "$file" >/dev/null || fail "admin apply $path"
done <"$tmp/objs.txt"
cj="$tmp/objs/cronjob.json"
[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sa'])" "$cj")" = conform-nightly ] ||
	fail "the CronJob does not run as conform-nightly"
# Linkerd 2.18 as its chart writes linkerd-config (what conformd's adapter reads)
kube_linkerd_218

# the pod's service account directory, as the kubelet mounts it
mkdir -p "$tmp/sa" "$tmp/home" "$tmp/vol"
printf '%s' "$NIGHTLY_TOKEN" >"$tmp/sa/token"
cp "$tmp/tls/cert.pem" "$tmp/sa/ca.crt"
printf conform >"$tmp/sa/namespace"

# nightly: the CronJob's command with its arguments, the duration
# cut to 15 s and one check, the volume at $tmp/vol; as the pod runs it
nightly() {
	local -a cmd
	mapfile -t cmd < <(python3 - "$cj" "$tmp/vol" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
args = list(c["args"])
assert "--duration" in args and "--state-dir" in args, args
args[args.index("--duration") + 1] = "15s"
assert args[args.index("--state-dir") + 1] == c["pvc_mount"], "the state directory is not the PVC"
args[args.index("--state-dir") + 1] = sys.argv[2]
assert c["command"][0].endswith("/conform"), c["command"]
for a in args + ["--checks", "http.basic", "--window", "1s"]:
    print(a)
EOF
	)
	[ "${#cmd[@]}" -gt 4 ] || fail "cannot read the CronJob's arguments"
	env -i PATH="$PATH" HOME="$tmp/home" NO_COLOR=1 \
		KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$port" \
		CONFORM_KUBE_SA_DIR="$tmp/sa" "$CONFORM" "${cmd[@]}"
}

note "a whole nightly run as the CronJob's pod"
nightly >"$tmp/out" 2>"$tmp/err" &
rpid=$!
# conformd as its pod runs it (the Secret conform-run as --seed)
kube_conformd_as_pod "$CONFORMD_TOKEN" "$tmp/cvol/run"
end=$((SECONDS + 240))
while kill -0 "$rpid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
kill -0 "$rpid" 2>/dev/null && fail "the nightly run did not end within 240 s: $(tail -3 "$tmp/err")"
wait "$rpid"
rc=$?
rpid=""
echo "    conform run exited $rc"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "the nightly run: exit $rc: $(cat "$tmp/err")
conformd: $(tail -5 "$tmp/conformd.log")"

# the kubeconfig it wrote: the pod's service account, the token as a file
kcfg="$tmp/vol/kubeconfig"
[ -s "$kcfg" ] || fail "no kubeconfig in the state directory"
python3 - "$kcfg" "$port" "$tmp/sa" <<'EOF' || fail "the kubeconfig written: $(cat "$kcfg")"
import json, os, sys
k = json.load(open(sys.argv[1]))
assert oct(os.stat(sys.argv[1]).st_mode & 0o777) == "0o600", "kubeconfig not 0600"
sa = os.path.realpath(sys.argv[3])
c = k["clusters"][0]["cluster"]
assert c["server"] == f"https://127.0.0.1:{sys.argv[2]}", c
assert c["certificate-authority"] == sa + "/ca.crt", c
u = k["users"][0]["user"]
assert u == {"tokenFile": sa + "/token"}, f"want the token as a file only: {u}"
ctx = k["contexts"][0]["context"]
assert ctx["namespace"] == "conform" and k["current-context"] == k["contexts"][0]["name"], k
EOF
run=$(ls "$tmp/vol/runs")
[ "$(echo "$run" | wc -l)" = 1 ] || fail "want one run on the volume, have: $run"
for f in report.json junit.xml report.html report.md; do
	[ -s "$tmp/vol/runs/$run/reports/$f" ] || fail "the run did not copy $f onto the volume"
done
verdict=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['verdict'])" \
	"$tmp/vol/runs/$run/reports/report.json")
want=1; [ "$verdict" = pass ] && want=0
[ "$rc" = "$want" ] || fail "exit $rc, but the report's verdict is $verdict (want exit $want)"
grep -q "run $run: $verdict" "$tmp/out" || fail "the run did not print its verdict: $(cat "$tmp/out")"
# what the CLI applied went to the pod's namespace, conformd's Roles among it
for o in apis/rbac.authorization.k8s.io/v1/namespaces/conform/roles/conformd \
	apis/rbac.authorization.k8s.io/v1/namespaces/conform/roles/conformd-linkerd \
	apis/rbac.authorization.k8s.io/v1/namespaces/conform/rolebindings/conformd-linkerd \
	api/v1/namespaces/conform/persistentvolumeclaims/conformd-data \
	apis/apps/v1/namespaces/conform/deployments/conformd; do
	kc get "/$o" >/dev/null 2>&1 || fail "not applied: /$o"
done
kill -TERM "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
cpid=""
echo "    verdict $verdict, exit $rc, reports on the volume in runs/$run"

# without_rule GROUP RESOURCE: the overlay's Role conform-nightly applied again
# without that rule (the run's own objects stay from the run above)
without_rule() {
	python3 - "$tmp/objs.txt" "$1" "$2" >"$tmp/role.json" <<'EOF' || fail "no such rule"
import json, sys
for line in open(sys.argv[1]):
    path, f = line.split()
    if path.endswith("/roles/conform-nightly"):
        r = json.load(open(f))
        n = len(r["rules"])
        r["rules"] = [x for x in r["rules"] if not (x["apiGroups"] == [sys.argv[2]] and sys.argv[3] in x["resources"])]
        assert len(r["rules"]) == n - 1, "want exactly one rule removed"
        print(json.dumps(r))
EOF
	kc apply /apis/rbac.authorization.k8s.io/v1/namespaces/conform/roles/conform-nightly \
		"$tmp/role.json" >/dev/null || fail "admin apply of the Role without a rule"
}
# refused WHAT TEXT: the nightly run failed with exit 3 and one line saying TEXT
refused() {
	rm -rf "$tmp/vol"
	kc delete /api/v1/namespaces/conform/secrets/conform-run >/dev/null 2>&1
	nightly >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 3 ] || fail "$1: exit $rc, want 3: $(cat "$tmp/err")"
	grep -qF -- "$2" "$tmp/err" || fail "$1: the error does not say '$2': $(cat "$tmp/err")"
	grep -q '^conform: forbidden: ' "$tmp/err" || fail "$1: not the forbidden message: $(cat "$tmp/err")"
	echo "    $(grep '^conform: ' "$tmp/err" | head -c 300)"
}

note "the Role without persistentvolumeclaims: the apply is forbidden"
without_rule "" persistentvolumeclaims
refused "no pvc rule" 'cannot patch resource "persistentvolumeclaims" in API group "" in the namespace "conform"'

note "the Role without conformd's pods/proxy: it may not grant conformd-linkerd"
without_rule "" pods/proxy
refused "no pods/proxy rule" 'is attempting to grant RBAC permissions not currently held:'
grep -qF '{APIGroups:[""], Resources:["pods/proxy"], Verbs:["get"]}' "$tmp/err" ||
	fail "the escalation refusal does not name pods/proxy get: $(cat "$tmp/err")"

note "the Role without services/proxy: conformd's API is forbidden"
without_rule "" services/proxy
rm -rf "$tmp/vol"
kc delete /api/v1/namespaces/conform/secrets/conform-run >/dev/null 2>&1
nightly >"$tmp/out" 2>"$tmp/err" &
rpid=$!
# the objects apply; conformd (not started this time) is never reached:
# the pod wait passes (the double's pods are Ready), the proxy is forbidden
wait "$rpid"
rc=$?
rpid=""
[ "$rc" = 3 ] || fail "no services/proxy rule: exit $rc, want 3: $(cat "$tmp/err")"
grep -qF 'cannot get resource "services/proxy"' "$tmp/err" ||
	fail "no services/proxy rule: the error does not name services/proxy: $(cat "$tmp/err")"
echo "    $(grep '^conform: ' "$tmp/err" | head -c 300)"

note "in a pod without a service account token: exit 3, says so"
rm -f "$tmp/sa/token"
nightly >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 3 ] || fail "no token: exit $rc, want 3"
grep -q "service account" "$tmp/err" || fail "no token: $(cat "$tmp/err")"
echo "ok"
