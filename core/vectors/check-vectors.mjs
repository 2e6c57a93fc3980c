#!/usr/bin/env node
// Checks that the decision vectors in this directory are well-formed.
// Plain Node, no dependencies: `node core/vectors/check-vectors.mjs [dir]`.
// It checks shape and internal consistency only; it does not evaluate any policy.
//
// Format: each file is { description, cases: [case] }.
//   case  = { name (kebab-case, unique across files), note?, policy, org_policy?, options?, steps: [step] }
//           policy / org_policy: the JSON form of the YAML policy, same keys.
//           options: { body_limit?: bytes, max_keys_per_limit?: n } engine options for this case.
//   step  = { note?, request, now, kill_switch, expect }
//           request: { method, url, headers?: {name: value}, body?: exact body text }; absent body = no body.
//           now: Unix ms. kill_switch: the kill-switch state for this step (given on every step).
//           expect: { result, enforced, matched_rule, reason, rule_source }.
//   The steps of a case run in order on ONE engine (rate-limit state carries over); `now` never decreases.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));

const RESULTS = ['allow', 'deny'];
const REASONS = ['rule_allow', 'rule_deny', 'default_allow', 'default_deny', 'rate_limited', 'kill_switch', 'bad_request', 'engine_error'];
const SOURCES = ['org', 'agent', null];
const ALLOW_REASONS = ['rule_allow', 'default_allow'];
const NO_RULE = ['default_allow', 'default_deny', 'kill_switch', 'bad_request', 'engine_error'];
const NO_SOURCE = ['kill_switch', 'bad_request', 'engine_error'];
const ALWAYS_ENFORCED = ['kill_switch', 'bad_request'];
const RULE_KIND = { rule_allow: 'allow', rule_deny: 'deny', rate_limited: 'limit' };
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const BODY_OPS = ['exact', 'in', 'not_in', 'min', 'max', 'prefix', 'suffix', 'contains', 'regex', 'exists', 'min_items', 'max_items'];
const HEADER_OPS = ['exact', 'prefix', 'suffix', 'contains', 'regex', 'present'];
const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const errors = [];
const err = (where, msg) => errors.push(`${where}: ${msg}`);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
function keysIn(where, o, allowed) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) err(where, `unknown key "${k}"`);
}

function checkMatcher(where, m) {
  if (!isObj(m)) return err(where, 'matcher must be an object');
  keysIn(where, m, ['method', 'url', 'body', 'headers', 'time_outside', 'timezone']);
  if (has(m, 'method')) checkMethods(where, m.method);
  if (has(m, 'url') && (typeof m.url !== 'string' || m.url.length === 0 || m.url.length > 1024)) err(where, 'url must be a string of 1..1024 chars');
  if (has(m, 'body')) {
    const conds = Array.isArray(m.body) ? m.body : [m.body];
    if (conds.length === 0) err(where, 'body list is empty');
    conds.forEach((c, i) => checkBodyCond(`${where}.body[${i}]`, c));
  }
  if (has(m, 'headers')) {
    if (!Array.isArray(m.headers) || m.headers.length === 0) err(where, 'headers must be a non-empty list');
    else m.headers.forEach((h, i) => checkHeaderCond(`${where}.headers[${i}]`, h));
  }
  if (has(m, 'time_outside') && (typeof m.time_outside !== 'string' || !/^\d\d:\d\d-\d\d:\d\d$/.test(m.time_outside))) err(where, 'time_outside must be "HH:MM-HH:MM"');
  if (has(m, 'timezone') && !has(m, 'time_outside')) err(where, 'timezone without time_outside');
  if (has(m, 'timezone') && typeof m.timezone !== 'string') err(where, 'timezone must be a string');
}
function checkMethods(where, ms) {
  if (!Array.isArray(ms) || ms.length === 0) return err(where, 'method must be a non-empty list');
  for (const x of ms) if (!METHODS.includes(x)) err(where, `unknown method ${JSON.stringify(x)}`);
}
function checkBodyCond(where, c) {
  if (!isObj(c)) return err(where, 'body condition must be an object');
  keysIn(where, c, ['jsonpath', ...BODY_OPS]);
  if (typeof c.jsonpath !== 'string' || !c.jsonpath.startsWith('$') || c.jsonpath.length > 256) err(where, 'jsonpath must be a string starting with $ (<= 256 chars)');
  if (!BODY_OPS.some((k) => has(c, k))) err(where, 'body condition has no operator');
  for (const k of ['in', 'not_in']) if (has(c, k) && !Array.isArray(c[k])) err(where, `${k} must be a list`);
  for (const k of ['min', 'max']) if (has(c, k) && typeof c[k] !== 'number') err(where, `${k} must be a number`);
  for (const k of ['prefix', 'suffix', 'contains', 'regex']) if (has(c, k) && typeof c[k] !== 'string') err(where, `${k} must be a string`);
  if (has(c, 'exists') && typeof c.exists !== 'boolean') err(where, 'exists must be a boolean');
  for (const k of ['min_items', 'max_items']) if (has(c, k) && !(Number.isInteger(c[k]) && c[k] >= 0)) err(where, `${k} must be an integer >= 0`);
}
function checkHeaderCond(where, h) {
  if (!isObj(h)) return err(where, 'header condition must be an object');
  keysIn(where, h, ['name', ...HEADER_OPS]);
  if (typeof h.name !== 'string' || h.name.length === 0) err(where, 'header condition needs a name');
  const ops = HEADER_OPS.filter((k) => has(h, k));
  if (ops.length !== 1) err(where, `header condition needs exactly one operator, has ${ops.length}`);
  if (has(h, 'present') && typeof h.present !== 'boolean') err(where, 'present must be a boolean');
}
function checkLimit(where, l) {
  if (!isObj(l)) return err(where, 'limit must be an object');
  keysIn(where, l, ['per', 'field', 'calls_per_minute', 'method', 'url']);
  if (!['global', 'endpoint', 'body_field'].includes(l.per)) err(where, 'per must be global | endpoint | body_field');
  if ((l.per === 'body_field') !== has(l, 'field')) err(where, 'field is required with per: body_field and only then');
  if (has(l, 'field') && (typeof l.field !== 'string' || !l.field.startsWith('$'))) err(where, 'field must be a jsonpath');
  if (!(Number.isInteger(l.calls_per_minute) && l.calls_per_minute >= 1)) err(where, 'calls_per_minute must be an integer >= 1');
  if (has(l, 'method')) checkMethods(where, l.method);
  if (has(l, 'url') && typeof l.url !== 'string') err(where, 'url must be a string');
}

// returns Map name -> kind
function checkPolicy(where, p) {
  const rules = new Map();
  if (!isObj(p)) { err(where, 'policy must be an object'); return rules; }
  keysIn(where, p, ['agent', 'default', 'mode', 'rules']);
  if (!['allow', 'deny'].includes(p.default)) err(where, 'default must be allow | deny');
  if (has(p, 'mode') && !['enforce', 'dry_run'].includes(p.mode)) err(where, 'mode must be enforce | dry_run');
  if (has(p, 'rules')) {
    if (!Array.isArray(p.rules)) { err(where, 'rules must be a list'); return rules; }
    if (p.rules.length > 200) err(where, 'more than 200 rules');
    p.rules.forEach((r, i) => {
      const w = `${where}.rules[${i}]`;
      if (!isObj(r)) return err(w, 'rule must be an object');
      keysIn(w, r, ['name', 'allow', 'deny', 'limit']);
      if (typeof r.name !== 'string' || r.name.length < 1 || r.name.length > 128) err(w, 'name must be 1..128 chars');
      if (rules.has(r.name)) err(w, `duplicate rule name "${r.name}"`);
      const kinds = ['allow', 'deny', 'limit'].filter((k) => has(r, k));
      if (kinds.length !== 1) return err(w, 'rule needs exactly one of allow / deny / limit');
      rules.set(r.name, kinds[0]);
      if (kinds[0] === 'limit') checkLimit(`${w}.limit`, r.limit);
      else checkMatcher(`${w}.${kinds[0]}`, r[kinds[0]]);
    });
  }
  return rules;
}

function checkRequest(where, r) {
  if (!isObj(r)) return err(where, 'request must be an object');
  keysIn(where, r, ['method', 'url', 'headers', 'body']);
  if (typeof r.method !== 'string' || r.method.length === 0) err(where, 'method must be a non-empty string');
  if (typeof r.url !== 'string' || r.url.length === 0) err(where, 'url must be a non-empty string');
  else if (!/^[\x21-\x7e]+$/.test(r.url)) err(where, 'url must be printable ASCII without spaces');
  if (has(r, 'headers')) {
    if (!isObj(r.headers)) err(where, 'headers must be an object');
    else for (const [k, v] of Object.entries(r.headers)) if (typeof v !== 'string') err(where, `header ${k} must have a string value`);
  }
  if (has(r, 'body') && typeof r.body !== 'string') err(where, 'body must be a string (the exact body text)');
}

function checkExpect(where, e, layers) {
  if (!isObj(e)) return err(where, 'expect must be an object');
  const five = ['result', 'enforced', 'matched_rule', 'reason', 'rule_source'];
  keysIn(where, e, five);
  for (const k of five) if (!has(e, k)) err(where, `expect.${k} missing`);
  if (!RESULTS.includes(e.result)) err(where, `result ${JSON.stringify(e.result)}`);
  if (typeof e.enforced !== 'boolean') err(where, 'enforced must be a boolean');
  if (!(e.matched_rule === null || typeof e.matched_rule === 'string')) err(where, 'matched_rule must be a string or null');
  if (!REASONS.includes(e.reason)) return err(where, `reason ${JSON.stringify(e.reason)}`);
  if (!SOURCES.includes(e.rule_source)) err(where, `rule_source ${JSON.stringify(e.rule_source)}`);
  // consistency between the fields (docs/policy-language.md, "The decision")
  if ((e.result === 'allow') !== ALLOW_REASONS.includes(e.reason)) err(where, `result ${e.result} does not fit reason ${e.reason}`);
  if ((e.matched_rule === null) !== NO_RULE.includes(e.reason)) err(where, `matched_rule ${JSON.stringify(e.matched_rule)} does not fit reason ${e.reason}`);
  if ((e.rule_source === null) !== NO_SOURCE.includes(e.reason)) err(where, `rule_source ${JSON.stringify(e.rule_source)} does not fit reason ${e.reason}`);
  if (ALWAYS_ENFORCED.includes(e.reason) && e.enforced !== true) err(where, `${e.reason} is always enforced`);
  if (e.rule_source === 'org' || e.rule_source === 'agent') {
    const layer = layers[e.rule_source];
    if (!layer) return err(where, `rule_source ${e.rule_source} but the case has no such layer`);
    if (e.enforced !== (layer.mode === 'enforce')) err(where, `enforced ${e.enforced} but the ${e.rule_source} layer's mode is ${layer.mode ?? '(omitted = dry_run)'}`);
    if (RULE_KIND[e.reason]) {
      const kind = layer.rules.get(e.matched_rule);
      if (kind === undefined) err(where, `matched_rule "${e.matched_rule}" is not a rule of the ${e.rule_source} layer`);
      else if (kind !== RULE_KIND[e.reason]) err(where, `matched_rule "${e.matched_rule}" is a ${kind} rule, reason ${e.reason} needs a ${RULE_KIND[e.reason]} rule`);
    }
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) err(dir, 'no vector files');
const seen = new Map();
const summary = [];
for (const file of files) {
  let doc;
  try { doc = JSON.parse(readFileSync(join(dir, file), 'utf8')); } catch (e) { err(file, `not JSON: ${e.message}`); continue; }
  if (!isObj(doc)) { err(file, 'top level must be an object'); continue; }
  keysIn(file, doc, ['description', 'cases']);
  if (typeof doc.description !== 'string' || doc.description.length === 0) err(file, 'description missing');
  if (!Array.isArray(doc.cases) || doc.cases.length === 0) { err(file, 'cases must be a non-empty list'); continue; }
  let steps = 0;
  doc.cases.forEach((c, ci) => {
    const where = `${file} case ${ci}${isObj(c) && typeof c.name === 'string' ? ` (${c.name})` : ''}`;
    if (!isObj(c)) return err(where, 'case must be an object');
    keysIn(where, c, ['name', 'note', 'policy', 'org_policy', 'options', 'steps']);
    if (typeof c.name !== 'string' || !KEBAB.test(c.name)) err(where, 'name must be kebab-case');
    else if (seen.has(c.name)) err(where, `duplicate case name, also in ${seen.get(c.name)}`);
    else seen.set(c.name, file);
    if (has(c, 'note') && typeof c.note !== 'string') err(where, 'note must be a string');
    const layers = { agent: { mode: isObj(c.policy) ? c.policy.mode : undefined, rules: checkPolicy(`${where} policy`, c.policy) } };
    if (has(c, 'org_policy')) {
      layers.org = { mode: isObj(c.org_policy) ? c.org_policy.mode : undefined, rules: checkPolicy(`${where} org_policy`, c.org_policy) };
      for (const name of layers.agent.rules.keys()) if (layers.org.rules.has(name)) err(where, `agent rule "${name}" reuses an org rule name`);
    }
    if (has(c, 'options')) {
      if (!isObj(c.options)) err(where, 'options must be an object');
      else {
        keysIn(`${where} options`, c.options, ['body_limit', 'max_keys_per_limit']);
        for (const [k, v] of Object.entries(c.options)) if (!(Number.isSafeInteger(v) && v > 0)) err(where, `options.${k} must be a positive integer`);
      }
    }
    if (!Array.isArray(c.steps) || c.steps.length === 0) return err(where, 'steps must be a non-empty list');
    let last = -Infinity;
    c.steps.forEach((s, si) => {
      const w = `${where} step ${si}`;
      if (!isObj(s)) return err(w, 'step must be an object');
      keysIn(w, s, ['note', 'request', 'now', 'kill_switch', 'expect']);
      if (has(s, 'note') && typeof s.note !== 'string') err(w, 'note must be a string');
      checkRequest(w, s.request);
      if (!Number.isSafeInteger(s.now) || s.now < 0) err(w, 'now must be a non-negative integer (Unix ms)');
      else if (s.now < last) err(w, 'now goes backwards within the case');
      else last = s.now;
      if (has(s, 'kill_switch') && typeof s.kill_switch !== 'boolean') err(w, 'kill_switch must be a boolean');
      if (s.kill_switch === true && isObj(s.expect) && s.expect.reason !== 'kill_switch') err(w, 'kill_switch is set but the reason is not kill_switch');
      if (s.kill_switch !== true && isObj(s.expect) && s.expect.reason === 'kill_switch') err(w, 'reason kill_switch without kill_switch: true');
      checkExpect(w, s.expect, layers);
    });
    steps += c.steps.length;
  });
  summary.push([file, doc.cases.length, steps]);
}

const pad = Math.max(4, ...summary.map(([f]) => f.length));
for (const [f, c, s] of summary) console.log(`${f.padEnd(pad)}  ${String(c).padStart(4)} cases  ${String(s).padStart(5)} steps`);
const tc = summary.reduce((n, x) => n + x[1], 0), ts = summary.reduce((n, x) => n + x[2], 0);
console.log(`${'total'.padEnd(pad)}  ${String(tc).padStart(4)} cases  ${String(ts).padStart(5)} steps`);
if (errors.length) {
  console.error(`\n${errors.length} problem(s):`);
  for (const e of errors) console.error('  ' + e);
  process.exit(1);
}
console.log('ok');
