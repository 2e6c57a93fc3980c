// The main job on embedded defaults: the seed's policy, evaluated in process against real requests.
// No services, no network: `./run demo`.
import { fileURLToPath } from 'node:url';
import { createEngine } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';

const policyFile = fileURLToPath(new URL('./policy.yaml', import.meta.url));
const started = performance.now();
const policy = await loadPolicyFile(policyFile);
const engine = await createEngine({ policy: policy.document });
const coldMs = performance.now() - started;

const CHAT = 'https://api.openai.com/v1/chat/completions';
const chat = (model) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Summarise the Q3 report.' }] });
const t0 = Date.parse('2026-03-14T02:14:37.512Z');

console.log(`checkrd demo: ${policyFile}`);
console.log(`policy ${policy.hash}, engine ready in ${coldMs.toFixed(1)} ms (load, verify, compile, validate)\n`);

const show = (label, req, now) => {
  const d = engine.evaluate(req, { now });
  const verdict = d.result === 'allow' ? 'ALLOW' : 'DENY ';
  console.log(`${verdict}  ${label.padEnd(48)} reason=${d.reason.padEnd(13)} rule=${d.matched_rule ?? '-'}`);
  return d;
};

show('POST chat/completions model=gpt-4o', { method: 'POST', url: CHAT, body: chat('gpt-4o') }, t0);
show('POST chat/completions model=gpt-4o-mini', { method: 'POST', url: CHAT, body: chat('gpt-4o-mini') }, t0);
show('POST chat/completions model=gpt-5', { method: 'POST', url: CHAT, body: chat('gpt-5') }, t0);
show('GET  /v1/models (not in the policy)', { method: 'GET', url: 'https://api.openai.com/v1/models' }, t0);
show('POST to another host', { method: 'POST', url: 'https://api.example.com/v1/chat/completions', body: chat('gpt-4o') }, t0);
show('POST with credentials in the URL', { method: 'POST', url: 'https://user:secret@api.openai.com/v1/chat/completions', body: chat('gpt-4o') }, t0);
show('POST .../v1/x/../chat/completions (normalized)', { method: 'POST', url: 'https://API.OPENAI.COM/v1/x/../chat/completions', body: chat('gpt-4o') }, t0);

// 100 calls per minute per model: two gpt-4o calls were admitted above; keep calling until refused.
let admitted = 2;
let i = 1;
while (engine.evaluate({ method: 'POST', url: CHAT, body: chat('gpt-4o') }, { now: t0 + i * 100 }).result === 'allow') {
  admitted++;
  i++;
}
console.log(`\n... ${admitted} gpt-4o calls admitted within ${(i * 100) / 1000} s, then call ${admitted + 1} was refused (limit: 100 per minute, per model)`);
show('POST model=gpt-4o, again within the minute', { method: 'POST', url: CHAT, body: chat('gpt-4o') }, t0 + 30_000);
show('POST model=gpt-4o, 60 s after the first call', { method: 'POST', url: CHAT, body: chat('gpt-4o') }, t0 + 60_000);

const explained = engine.evaluate({ method: 'POST', url: CHAT, body: chat('gpt-5') }, { now: t0 + 61_000, explain: true });
console.log('\nwhy is gpt-5 denied? (--explain)');
for (const step of explained.explanation) console.log(`  ${step.rule}: ${step.outcome}: ${step.detail}`);

const n = 200_000;
const req = { method: 'POST', url: CHAT, body: chat('gpt-4o-mini') };
const fresh = await createEngine({ policy: { ...policy.document, rules: policy.document.rules.slice(0, 1) } });
const s = performance.now();
for (let i = 0; i < n; i++) fresh.evaluate(req, { now: t0 });
const us = ((performance.now() - s) * 1000) / n;
console.log(`\n${n.toLocaleString('en')} decisions in process: ${us.toFixed(2)} µs each on average (see bench/ for p50/p99 and peers)`);
console.log('\nTry it yourself:  ./run checkrd eval examples/policy-demo/policy.yaml --method POST \\');
console.log(`    --url ${CHAT} --body '{"model":"gpt-4o"}' --explain`);
