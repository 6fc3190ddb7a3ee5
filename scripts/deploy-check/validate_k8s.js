#!/usr/bin/env node
// Validates Kubernetes manifests offline against the Kubernetes API schemas.
//
//   node validate_k8s.js --modules DIR FILE.yaml...
//
// DIR holds the node_modules installed from this folder's package-lock.json (kubernetes-models,
// yaml). Every YAML document is checked three ways:
//   1. the kubernetes-models class for its apiVersion and kind validates it against the OpenAPI
//      schema (types, required fields, enums, formats);
//   2. every field must exist in the API (the schemas allow unknown fields, the API server's
//      strict field validation, kubectl's default, does not): the field lists come from the
//      package's type declarations, so a typo such as `readinesProbe` is an error;
//   3. what the API server checks beyond the schema (a selector that matches the pod template's
//      labels) and what edge-connector needs (probes through `edge-connector healthcheck`,
//      terminationGracePeriodSeconds above the drain, a non-root read-only container).
// Exit status 1 on any problem.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const args = process.argv.slice(2);
const at = args.indexOf('--modules');
if (at < 0 || !args[at + 1]) {
  console.error('usage: validate_k8s.js --modules DIR FILE.yaml...');
  process.exit(2);
}
const modulesDir = path.resolve(args[at + 1]);
const files = args.filter((_, i) => i !== at && i !== at + 1);
const req = createRequire(path.join(modulesDir, 'package.json'));
const YAML = req('yaml');
const modelsPkg = req('kubernetes-models/package.json');

// --- Field lists from the type declarations (.d.ts) of kubernetes-models.
const interfaces = new Map(); // .d.ts path -> Map(field -> type) or null (not an object type)

function dtsOf(fromFile, spec) {
  if (spec.startsWith('.')) return path.resolve(path.dirname(fromFile), spec + '.d.ts');
  const js = createRequire(fromFile).resolve(spec);
  return js.replace(/\.js$/, '.d.ts');
}

// Splits `"a"?: T; "b": { [key: string]: U; };` at the semicolons outside braces and brackets.
function fieldsOf(body) {
  const fields = new Map();
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{' || c === '<' || c === '(') depth++;
    else if (c === '}' || c === '>' || c === ')') depth--;
    else if (c === ';' && depth === 0) {
      const m = /^\s*"([^"]+)"\??:\s*([\s\S]+)$/.exec(body.slice(start, i));
      if (m) fields.set(m[1], m[2].replace(/\s+/g, ' ').trim());
      start = i + 1;
    }
  }
  return fields;
}

function loadInterface(dts) {
  if (interfaces.has(dts)) return interfaces.get(dts);
  let result = null;
  if (fs.existsSync(dts)) {
    const text = fs.readFileSync(dts, 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '');
    const imports = new Map();
    for (const m of text.matchAll(/import \{([^}]+)\} from "([^"]+)";/g)) {
      for (const name of m[1].split(',')) imports.set(name.trim(), m[2]);
    }
    const m = /export interface \w+(?: extends [^{]+)? \{([\s\S]*?)\n\}/.exec(text);
    if (m) {
      result = { dts, imports, fields: fieldsOf(m[1]) };
    }
  }
  interfaces.set(dts, result);
  return result;
}

// What a type string asks of a value: an interface to recurse into, an array or map of one, or
// nothing this check follows (scalars, IntOrString, Quantity, string unions).
function follow(iface, type) {
  let m = /^Array<(.+)>$/.exec(type);
  if (m) return { array: follow(iface, m[1]) };
  m = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (m) return { map: follow(iface, m[1]) };
  if (iface.imports.has(type)) {
    const target = loadInterface(dtsOf(iface.dts, iface.imports.get(type)));
    return target ? { iface: target } : null;
  }
  return null;
}

function unknownFields(value, iface, where, problems) {
  if (!iface || value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const type = iface.fields.get(key);
    if (type === undefined) {
      problems.push(`${where}.${key}: unknown field`);
      continue;
    }
    walk(v, follow(iface, type), `${where}.${key}`, problems);
  }
}

function walk(value, desc, where, problems) {
  if (!desc || value === null || value === undefined) return;
  if (desc.iface) unknownFields(value, desc.iface, where, problems);
  else if (desc.array && Array.isArray(value)) {
    value.forEach((v, i) => walk(v, desc.array, `${where}[${i}]`, problems));
  } else if (desc.map && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, desc.map, `${where}.${k}`, problems);
  }
}

// --- The model class for an apiVersion and kind.
function modelFor(apiVersion, kind) {
  const mod = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    const js = req.resolve(mod);
    return { Model: req(mod)[kind], dts: js.replace(/\.js$/, '.d.ts') };
  } catch (e) {
    return null;
  }
}

// --- Checks beyond the schema.
function seconds(text) {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(String(text).trim());
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, undefined: 1 }[m[2]] : null;
}

function execProbe(probe) {
  return probe && probe.exec && Array.isArray(probe.exec.command) ? probe.exec.command : null;
}

function checkPodTemplate(obj, where, problems) {
  const spec = obj.spec || {};
  const labels = (spec.template && spec.template.metadata && spec.template.metadata.labels) || {};
  const match = (spec.selector && spec.selector.matchLabels) || {};
  for (const [k, v] of Object.entries(match)) {
    if (labels[k] !== v) {
      problems.push(`${where}.spec.selector: matchLabels ${k}=${v} is not a label of the pod template`);
    }
  }
  const pod = (spec.template && spec.template.spec) || {};
  for (const [i, c] of (pod.containers || []).entries()) {
    if (!/edge-connector/.test(c.image || '')) continue;
    const cw = `${where}.spec.template.spec.containers[${i}]`;
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
    for (const v of ['LISTENER_PORT', 'ECS_SERVICE_DISCOVERY_TARGET']) {
      if (!env[v]) problems.push(`${cw}.env: ${v} is not set`);
    }
    const ready = execProbe(c.readinessProbe);
    if (!ready || !ready.includes('healthcheck') || !ready.includes('--ready')) {
      problems.push(`${cw}.readinessProbe: should run edge-connector healthcheck --ready (/ready)`);
    }
    const live = execProbe(c.livenessProbe);
    if (!live || !live.includes('healthcheck') || live.includes('--ready')) {
      problems.push(`${cw}.livenessProbe: should run edge-connector healthcheck (/healthz), without --ready`);
    }
    const delay = seconds(env.EDGE_DRAIN_DELAY || '0s');
    const drain = env.EDGE_DRAIN_TIMEOUT || '20s';
    const grace = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
    if (drain !== 'off' && !(grace > delay + seconds(drain))) {
      problems.push(`${where}.spec.template.spec.terminationGracePeriodSeconds: ${grace} must exceed ` +
                    `drain delay + drain timeout (${delay}s + ${drain})`);
    }
    const sc = c.securityContext || {};
    const podSc = pod.securityContext || {};
    if (!(sc.runAsNonRoot || podSc.runAsNonRoot)) problems.push(`${cw}.securityContext: runAsNonRoot is not set`);
    if (!sc.readOnlyRootFilesystem) problems.push(`${cw}.securityContext: readOnlyRootFilesystem is not set`);
    if (!(sc.capabilities && (sc.capabilities.drop || []).includes('ALL'))) {
      problems.push(`${cw}.securityContext: capabilities.drop should be [ALL]`);
    }
  }
}

function checkService(obj, where, problems) {
  const spec = obj.spec || {};
  if (spec.clusterIP === 'None') {
    for (const [i, p] of (spec.ports || []).entries()) {
      if (!p.name) problems.push(`${where}.spec.ports[${i}]: a headless Service's port needs a name (its SRV record _NAME._tcp)`);
    }
  }
}

// --- One file.
function checkFile(file) {
  const problems = [];
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { problems: [`${file}: ${e.message}`], kinds: [] };
  }
  const kinds = [];
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
  docs.forEach((doc, n) => {
    for (const e of doc.errors) problems.push(`${file} document ${n + 1}: YAML: ${e.message.split('\n')[0]}`);
    if (doc.errors.length) return;
    const obj = doc.toJS();
    if (obj === null) return; // an empty document (a trailing ---)
    const name = obj && obj.metadata && obj.metadata.name;
    const where = `${file}: ${obj.kind || '?'}/${name || '?'}`;
    const found = obj.apiVersion && obj.kind ? modelFor(obj.apiVersion, obj.kind) : null;
    if (!found) {
      problems.push(`${where}: apiVersion ${obj.apiVersion} kind ${obj.kind} is not a Kubernetes API type`);
      return;
    }
    kinds.push(`${obj.kind}/${name}`);
    try {
      new found.Model(obj).validate();
    } catch (e) {
      const errors = e.errors || e.details || [];
      if (!errors.length) problems.push(`${where}: ${e.message}`);
      for (const err of errors) {
        const at = (err.instancePath || '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
        const extra = err.params && err.params.allowedValues ? ` (${err.params.allowedValues.join(', ')})` : '';
        problems.push(`${where}${at}: ${err.message}${extra}`);
      }
    }
    unknownFields(obj, loadInterface(found.dts), where, problems);
    if (['Deployment', 'DaemonSet', 'StatefulSet'].includes(obj.kind)) checkPodTemplate(obj, where, problems);
    if (obj.kind === 'Service') checkService(obj, where, problems);
  });
  return { problems, kinds };
}

let failed = false;
for (const file of files) {
  const { problems, kinds } = checkFile(file);
  if (problems.length) {
    failed = true;
    for (const p of problems) console.log(`  ${p}`);
    console.log(`FAIL ${file}: ${problems.length} problem(s)`);
  } else {
    console.log(`ok   ${file}: ${kinds.join(', ')} (kubernetes-models ${modelsPkg.version})`);
  }
}
process.exit(failed ? 1 : 0);
