// TEMP (not committed): profile evaluate with a named build of the core
import { readFileSync } from 'node:fs';
import { createEngine } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';
import { timed } from './requests.mjs';
const mod = new WebAssembly.Module(readFileSync(process.env.WASM ?? '/tmp/checkrd-prof/named.wasm'));
const p = (await loadPolicyFile(new URL('./policy-20.yaml', import.meta.url).pathname)).document;
const which = process.argv[2] ?? 'openai-chat-2k';
const limits = process.argv[3] === 'limits';
const policy = limits ? p : { ...p, rules: p.rules.filter((r) => !('limit' in r)) };
const e = await createEngine({ policy, wasm: mod });
const req = timed.find((t) => t.id === which).req;
const o = { now: Date.UTC(2025, 5, 2, 12) };
const n = +(process.argv[4] ?? 300000);
let t = performance.now();
for (let i = 0; i < n; i++) { o.now += 1000; e.evaluate(req, o); }
console.log(which, ((performance.now() - t) / n * 1000).toFixed(3), 'µs/call', e.evaluate(req, o).result);
