#!/usr/bin/env bash
# manifests_validate.sh - the Kubernetes manifests, offline: `kubectl
# kustomize` renders every overlay of manifests/kubernetes/ (no cluster: a
# kubeconfig that does not exist), every rendered object validates against
# the Kubernetes and Gateway API schemas (npm kubernetes-models,
# @kubernetes-models/gateway-api) or our Linkerd policy schemas (ajv), and
# conform's own rules hold (test/tools/validate/rules.mjs). Then the
# validators must say no: every file of test/tools/validate/bad/ is rejected
# with the reason its "# expect:" line names, and a rendered overlay with a
# rule broken on purpose is rejected too.
set -u
. "$(dirname "$0")/../lib/e2e.sh"

V=test/tools/validate
K=manifests/kubernetes
KUBECTL=${KUBECTL:-kubectl}   # e.g. another kubectl's kustomize to compare
command -v "$KUBECTL" >/dev/null || fail "$KUBECTL not found; run make deps"
command -v node >/dev/null || fail "node not found; run make deps"
[ -d "$V/node_modules/kubernetes-models" ] && [ -d "$V/node_modules/ajv" ] ||
	fail "npm validators missing in $V/node_modules; run make manifests-deps"
export KUBECONFIG="$E2E_TMP/no-such-kubeconfig"   # offline: nothing to talk to
# the models declare node >= 22 and work on 20; keep that warning out of the log
export NODE_NO_WARNINGS=1

validate() { node "$V/validate.mjs" --namespace conform "$@"; }

n=0
for overlay in none linkerd nightly; do
	note "render $overlay"
	out="$E2E_TMP/$overlay.yaml"
	"$KUBECTL" kustomize "$K/$overlay" >"$out" 2>"$E2E_TMP/$overlay.err" ||
		fail "$KUBECTL kustomize $K/$overlay: $(cat "$E2E_TMP/$overlay.err")"
	[ -s "$out" ] || fail "$overlay rendered nothing"
	validate "$out" >"$E2E_TMP/$overlay.val" || { cat "$E2E_TMP/$overlay.val"; fail "$overlay: schema validation failed"; }
	tail -n 1 "$E2E_TMP/$overlay.val"
	mesh=$overlay; [ "$overlay" = nightly ] && mesh=any
	node "$V/rules.mjs" --mesh "$mesh" "$out" || fail "$overlay: conform's rules are broken (above)"
	n=$((n + 1))
done

# what each overlay must hold, by kind
count() { grep -c "^kind: $2\$" "$E2E_TMP/$1.yaml"; }
[ "$(count linkerd Deployment)" -eq 6 ] || fail "linkerd: want 6 Deployments (conformd + 5 workloads)"
[ "$(count linkerd HTTPRoute)" -ge 1 ] || fail "linkerd: no HTTPRoute"
[ "$(count linkerd Server)" -ge 2 ] || fail "linkerd: want a Server per server workload"
[ "$(count linkerd AuthorizationPolicy)" -ge 1 ] || fail "linkerd: no AuthorizationPolicy"
[ "$(count linkerd MeshTLSAuthentication)" -ge 1 ] || fail "linkerd: no MeshTLSAuthentication"
[ "$(count none HTTPRoute)" -eq 0 ] || fail "none: must carry no route"
[ "$(count linkerd ServiceAccount)" -eq 6 ] || fail "linkerd: want 6 ServiceAccounts"
[ "$(count nightly CronJob)" -eq 1 ] || fail "nightly: no CronJob"
[ "$(grep -c 'linkerd.io/inject: enabled' "$E2E_TMP/linkerd.yaml")" -eq 5 ] ||
	fail "linkerd: want linkerd.io/inject on the 5 workload pod templates exactly"
grep -q 'linkerd.io/inject: enabled' "$E2E_TMP/none.yaml" && fail "none: something is injected"

# the validators must say no
note "rejections"
for f in "$V"/bad/*.yaml; do
	want=$(sed -n 's/^# expect: //p' "$f")
	[ -n "$want" ] || fail "$f has no '# expect:' line"
	out=$(validate "$f"); rc=$?
	[ $rc -eq 1 ] || fail "$(basename "$f"): validator exit $rc, want 1 (rejected): $out"
	grep -qF -- "$want" <<<"$out" || fail "$(basename "$f"): rejected, but not for '$want': $out"
	echo "rejected $(basename "$f"): $(grep '^FAIL' <<<"$out" | head -n 1 | cut -c1-160)"
	n=$((n + 1))
done
# an unknown kind among valid objects still fails the whole file
cat "$E2E_TMP/linkerd.yaml" >"$E2E_TMP/mixed.yaml"
printf -- '---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: conform}\n' >>"$E2E_TMP/mixed.yaml"
validate "$E2E_TMP/mixed.yaml" >/dev/null && fail "an unknown kind among valid objects passed"
# and the rules: a writable root, an injected conformd
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$E2E_TMP/none.yaml" >"$E2E_TMP/rw.yaml"
node "$V/rules.mjs" --mesh none "$E2E_TMP/rw.yaml" >"$E2E_TMP/rw.out" && fail "rules passed a writable root filesystem"
grep -q 'readOnlyRootFilesystem is not true' "$E2E_TMP/rw.out" || fail "rules: wrong reason: $(cat "$E2E_TMP/rw.out")"
node "$V/rules.mjs" --mesh none "$E2E_TMP/linkerd.yaml" >"$E2E_TMP/mesh.out" && fail "rules passed an injected pod on the none overlay"
# the example CI workflow parses and does what docs/kubernetes.md says
note "docs/ci/github-actions.yaml"
node --input-type=module - docs/ci/github-actions.yaml <<'JSEOF' || fail "docs/ci/github-actions.yaml (above)"
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/test/tools/validate/');
const { parse } = require('yaml');
const wf = parse(readFileSync(process.argv[2], 'utf8'));
const steps = Object.values(wf.jobs ?? {}).flatMap((j) => j.steps ?? []);
const text = steps.map((s) => (s.run ?? '') + ' ' + (s.uses ?? '')).join('\n');
for (const want of ['make image', 'kind load image-archive', 'linkerd install', 'run --platform kubernetes',
                    'helm/kind-action', 'actions/upload-artifact']) {
  if (!text.includes(want)) { console.log(`no step does: ${want}`); process.exit(1); }
}
const up = steps.filter((s) => (s.uses ?? '').startsWith('actions/upload-artifact')).map((s) => s.with?.path ?? '').join(' ');
for (const f of ['junit.xml', 'report.html']) {
  if (!up.includes(f)) { console.log(`no upload of ${f}`); process.exit(1); }
}
console.log(`${Object.keys(wf.jobs).length} jobs, ${steps.length} steps`);
JSEOF

echo "PASS: $n checks: 3 overlays render and validate, every broken input rejected"
