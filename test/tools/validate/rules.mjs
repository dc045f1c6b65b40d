// rules.mjs - conform's own rules over one rendered overlay, beyond what the
// schemas can say: hardened pods, requests and limits, readiness probes, the
// conform image; on Linkerd, injection on the workloads only and references
// that resolve (route parents and backends, policy targets, client accounts).
//   node rules.mjs --mesh none|linkerd|any FILE
// Prints one line per broken rule and "N objects, N broken rules"; exit 0
// when none is broken, 1 otherwise, 2 on usage errors.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const args = process.argv.slice(2);
if (args.length !== 3 || args[0] !== '--mesh' || !['none', 'linkerd', 'any'].includes(args[1])) {
  console.error('rules: usage: rules.mjs --mesh none|linkerd|any FILE');
  process.exit(2);
}
const mesh = args[1];
const objs = parseAllDocuments(readFileSync(args[2], 'utf8')).map((d) => d.toJS()).filter(Boolean);
const broken = [];
const bad = (o, why) => broken.push(`${o.kind}/${o.metadata?.name}: ${why}`);
const byKind = (k) => objs.filter((o) => o.kind === k);
const names = (k) => new Set(byKind(k).map((o) => o.metadata.name));

function podSpecOf(o) {
  if (o.kind === 'Deployment') return o.spec?.template;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template;
  return null;
}

for (const o of objs) {
  const tpl = podSpecOf(o);
  if (!tpl) continue;
  const spec = tpl.spec ?? {};
  if (spec.securityContext?.runAsNonRoot !== true) bad(o, 'pod securityContext.runAsNonRoot is not true');
  for (const c of spec.containers ?? []) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) bad(o, `container ${c.name}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) bad(o, `container ${c.name}: readOnlyRootFilesystem is not true`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) bad(o, `container ${c.name}: capabilities do not drop ALL`);
    for (const k of ['requests', 'limits']) {
      if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) bad(o, `container ${c.name}: no ${k} for cpu and memory`);
    }
    if (!/^conform:[0-9A-Za-z._-]+$/.test(c.image ?? '')) bad(o, `container ${c.name}: image ${c.image} is not conform:<version>`);
    if (o.kind === 'Deployment' && (c.ports ?? []).length > 0 && !c.readinessProbe) {
      bad(o, `container ${c.name}: serves ports but has no readinessProbe`);
    }
  }
  const inject = tpl.metadata?.annotations?.['linkerd.io/inject'];
  const component = tpl.metadata?.labels?.['app.kubernetes.io/component'];
  const workload = component === 'server' || component === 'client';
  if (mesh === 'linkerd' && workload && inject !== 'enabled') bad(o, 'workload pod template lacks linkerd.io/inject: enabled');
  const pann = tpl.metadata?.annotations ?? {};
  const policy = pann['config.linkerd.io/default-inbound-policy'];
  const policies = ['all-unauthenticated', 'all-authenticated', 'cluster-authenticated',
    'cluster-unauthenticated', 'deny', 'audit'];
  if (mesh === 'linkerd' && workload && policy !== undefined && !policies.includes(policy)) {
    bad(o, `config.linkerd.io/default-inbound-policy ${policy} is not one Linkerd knows`);
  }
  if (mesh === 'linkerd' && workload &&
      !String(pann['config.linkerd.io/skip-inbound-ports'] ?? '').split(',').includes('9901')) {
    bad(o, 'workload pod template lacks config.linkerd.io/skip-inbound-ports 9901 (conformd, unmeshed, reaches the admin port through it)');
  }
  if (!workload && inject === 'enabled') bad(o, 'only workloads are meshed (conformd is the unmeshed prober)');
  if (mesh === 'none' && inject === 'enabled') bad(o, 'the none overlay must mesh nothing');
}

// the workloads' ServiceAccounts, one each, and conformd's
// (without a mesh no split is judged: http-server-v2 does not run, as the
// kubernetes platform starts it only on a mesh; lib/checks/traffic.c)
for (const sa of ['conformd', 'http-server', 'http-server-v2', 'grpc-server', 'http-client', 'grpc-client']) {
  if (mesh === 'none' && sa === 'http-server-v2') continue;
  if (mesh !== 'any' && !names('ServiceAccount').has(sa)) broken.push(`ServiceAccount/${sa}: missing`);
}
for (const o of byKind('Deployment')) {
  const sa = o.spec?.template?.spec?.serviceAccountName;
  if (!names('ServiceAccount').has(sa) && mesh !== 'any') bad(o, `serviceAccountName ${sa} is not defined`);
}

if (mesh === 'linkerd') {
  const services = names('Service');
  const routes = byKind('HTTPRoute');
  if (routes.length === 0) broken.push('HTTPRoute: none on the linkerd overlay');
  for (const r of routes) {
    for (const p of r.spec?.parentRefs ?? []) {
      if (p.kind !== 'Service') bad(r, `parentRef ${p.name} has kind ${p.kind}, Linkerd needs kind: Service`);
      if (!services.has(p.name)) bad(r, `parentRef Service ${p.name} is not defined`);
    }
    for (const rule of r.spec?.rules ?? []) {
      for (const b of rule.backendRefs ?? []) {
        if (!services.has(b.name)) bad(r, `backendRef Service ${b.name} is not defined`);
      }
    }
  }
  const split = routes.find((r) => (r.spec?.rules ?? []).some((x) => (x.backendRefs ?? []).length > 1));
  if (!split) broken.push('HTTPRoute: no weighted split between two backends');
  const annotated = (k) => routes.some((r) => Object.keys(r.metadata?.annotations ?? {}).some((a) => a.startsWith(k)));
  if (!annotated('retry.linkerd.io/')) broken.push('HTTPRoute: no retry.linkerd.io/* annotations');
  if (!annotated('timeout.linkerd.io/')) broken.push('HTTPRoute: no timeout.linkerd.io/* annotations');
  for (const o of objs) {
    if (o.kind === 'HTTPRoute' || o.kind === 'Service') continue;
    for (const a of Object.keys(o.metadata?.annotations ?? {})) {
      if (a.startsWith('retry.linkerd.io/') || a.startsWith('timeout.linkerd.io/')) {
        bad(o, `${a} is read only on a Service or a route`);
      }
    }
  }
  const servers = names('Server');
  const authns = names('MeshTLSAuthentication');
  for (const ap of byKind('AuthorizationPolicy')) {
    const t = ap.spec?.targetRef ?? {};
    if (t.kind === 'Server' && !servers.has(t.name)) bad(ap, `targetRef Server ${t.name} is not defined`);
    for (const ref of ap.spec?.requiredAuthenticationRefs ?? []) {
      if (ref.kind === 'MeshTLSAuthentication' && !authns.has(ref.name)) {
        bad(ap, `MeshTLSAuthentication ${ref.name} is not defined`);
      }
    }
  }
  for (const m of byKind('MeshTLSAuthentication')) {
    for (const ref of m.spec?.identityRefs ?? []) {
      if (ref.kind === 'ServiceAccount' && !names('ServiceAccount').has(ref.name)) {
        bad(m, `identityRef ServiceAccount ${ref.name} is not defined`);
      }
    }
  }
  // a Server's port name must be a port of a pod it selects
  for (const s of byKind('Server')) {
    const sel = s.spec?.podSelector?.matchLabels ?? {};
    const pods = byKind('Deployment').map((d) => d.spec.template)
      .filter((t) => Object.entries(sel).every(([k, v]) => t.metadata?.labels?.[k] === v));
    if (pods.length === 0) bad(s, 'podSelector selects no workload');
    if (typeof s.spec?.port === 'string') {
      for (const t of pods) {
        if (!(t.spec.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === s.spec.port))) {
          bad(s, `port ${s.spec.port} is not a port of pods labelled ${JSON.stringify(t.metadata.labels)}`);
        }
      }
    }
  }
}

for (const b of broken) console.log(`BROKEN ${b}`);
console.log(`${objs.length} objects, ${broken.length} broken rules`);
process.exitCode = broken.length === 0 && objs.length > 0 ? 0 : 1;
