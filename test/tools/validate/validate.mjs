// validate.mjs - offline schema validation of rendered Kubernetes manifests
// (kubectl kustomize output): no cluster, no network. Kubernetes kinds are
// checked with kubernetes-models, Gateway API kinds with
// @kubernetes-models/gateway-api (both carry the upstream OpenAPI schemas),
// Linkerd's policy kinds with conform's own JSON Schemas (schemas/*.json,
// ajv). A kind none of them knows is an error, never a pass.
//   node validate.mjs [--namespace NS] FILE...   ("-" reads stdin)
// Prints "ok KIND/NAME" or "FAIL FILE#DOC KIND/NAME: why" per object; exit 0
// when every object is valid, 1 when one is not, 2 on usage errors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import Ajv from 'ajv';

const here = dirname(fileURLToPath(import.meta.url));

// Linkerd CRDs: no model package exists; our schemas, named by group/version kind
const LINKERD = {
  'policy.linkerd.io/v1beta3 Server': 'server-v1beta3.json',
  'policy.linkerd.io/v1alpha1 AuthorizationPolicy': 'authorizationpolicy-v1alpha1.json',
  'policy.linkerd.io/v1alpha1 MeshTLSAuthentication': 'meshtlsauthentication-v1alpha1.json',
};

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
ajv.addSchema(JSON.parse(readFileSync(join(here, 'schemas', 'common.json'), 'utf8')));
const linkerdValidators = {};
for (const [key, file] of Object.entries(LINKERD)) {
  linkerdValidators[key] = ajv.compile(JSON.parse(readFileSync(join(here, 'schemas', file), 'utf8')));
}

// apiVersion -> module path of the models of that group/version; only names
// that look like an apiVersion, so a document cannot make us load any path
function modelModule(apiVersion) {
  if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    return null;
  }
  if (apiVersion.startsWith('gateway.networking.k8s.io/') ||
      apiVersion.startsWith('gateway.networking.x-k8s.io/')) {
    return `@kubernetes-models/gateway-api/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;
}

const modules = new Map();
async function loadModels(apiVersion) {
  const path = modelModule(apiVersion);
  if (!path) return null;
  if (!modules.has(path)) {
    let mod = null;
    try {
      mod = await import(path);
    } catch {
      mod = null;   // no such group/version in the models
    }
    modules.set(path, mod);
  }
  return modules.get(path);
}

function ajvMessage(errors) {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message}` +
    (e.params && e.params.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '') +
    (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''))
    .join('; ');
}

// one object: null when valid, else the reason
async function check(obj, namespace) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return 'not a mapping';
  }
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return 'apiVersion and kind are required strings';
  }
  if (!obj.metadata || typeof obj.metadata.name !== 'string' || !obj.metadata.name) {
    return 'metadata.name is required';
  }
  // cluster-scoped kinds live in no namespace
  const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(kind);
  if (namespace && !clusterScoped && obj.metadata.namespace !== namespace) {
    return `metadata.namespace is ${JSON.stringify(obj.metadata.namespace)}, want "${namespace}"`;
  }
  const lkey = `${apiVersion} ${kind}`;
  if (linkerdValidators[lkey]) {
    const v = linkerdValidators[lkey];
    return v(obj) ? null : ajvMessage(v.errors);
  }
  if (apiVersion.startsWith('policy.linkerd.io/')) {
    return `no schema for ${lkey} (known: ${Object.keys(LINKERD).join(', ')})`;
  }
  const mod = await loadModels(apiVersion);
  if (!mod) {
    return `unknown apiVersion ${apiVersion}: no schema to validate it against`;
  }
  const Model = mod[kind];
  if (typeof Model !== 'function' || Model.kind !== kind || Model.apiVersion !== apiVersion) {
    return `unknown kind ${kind} in ${apiVersion}: no schema to validate it against`;
  }
  try {
    new Model(obj).validate();
  } catch (err) {
    return String(err && err.message ? err.message : err).replace(/\s+/g, ' ');
  }
  return null;
}

async function main(argv) {
  let namespace = null;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--namespace' && i + 1 < argv.length) namespace = argv[++i];
    else if (argv[i].startsWith('--') ) {
      console.error(`validate: unknown option ${argv[i]}; usage: validate.mjs [--namespace NS] FILE...`);
      return 2;
    } else files.push(argv[i]);
  }
  if (files.length === 0) {
    console.error('validate: no input; usage: validate.mjs [--namespace NS] FILE...');
    return 2;
  }
  let ok = 0;
  let bad = 0;
  for (const file of files) {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    const docs = parseAllDocuments(text);
    let n = 0;
    for (const doc of docs) {
      n++;
      const where = `${file}#${n}`;
      if (doc.errors.length) {
        console.log(`FAIL ${where}: yaml: ${doc.errors[0].message}`);
        bad++;
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;   // empty document
      const name = `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`;
      const why = await check(obj, namespace);
      if (why) {
        console.log(`FAIL ${where} ${name}: ${why}`);
        bad++;
      } else {
        console.log(`ok ${name}`);
        ok++;
      }
    }
  }
  console.log(`${ok} valid, ${bad} invalid`);
  return bad === 0 && ok > 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
