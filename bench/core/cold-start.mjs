// One cold start, in a fresh process: `node cold-start.mjs checkrd|cedar <policy.json>`.
// Prints one JSON line of milliseconds. Each phase is timed with performance.now(); `ready` is the time
// since the process started (Node's own start-up included), for context only.
import { readFileSync } from 'node:fs';
import { timed } from './requests.mjs';

const which = process.argv[2];
const req = timed[0].req;
const now = Date.UTC(2025, 5, 2, 12, 0);
const out = {};
let t = performance.now();
const lap = (name) => {
  const x = performance.now();
  out[name] = x - t;
  t = x;
};

if (which === 'checkrd') {
  const policy = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  t = performance.now();
  const core = await import('@checkrd/core');
  lap('import');
  await core.bundledModule(); // read the .wasm, SHA-256 it against the build's digest, compile
  lap('read_verify_compile');
  const engine = await core.createEngine({ policy }); // instantiate + load the policy (validate, compile)
  lap('instantiate_load');
  const d = engine.evaluate(req, { now });
  lap('first_decision');
  out.decision = d.result;
} else if (which === 'cedar') {
  const { createCedar } = await import('./cedar-host.mjs');
  t = performance.now();
  const cedar = await import('@cedar-policy/cedar-wasm/nodejs'); // reads, compiles and instantiates its .wasm
  lap('import');
  const c = createCedar(cedar); // preparsePolicySet
  lap('policy_load');
  out.decision = c.decide(req, now);
  lap('first_decision');
} else {
  throw new Error('usage: node cold-start.mjs checkrd|cedar <policy.json>');
}
out.ready = performance.now();
process.stdout.write(JSON.stringify(out) + '\n');
