// Where the time of a checkrd decision goes: the engine.bench.mjs requests against variants of the
// 17-rule policy, each removing one kind of work. The differences between rows are the cost of that
// work. `npm run -w @checkrd/bench bench:breakdown`.
// CHECKRD_WASM=path/to/candidate.wasm measures a candidate build of the core instead of the bundled one
// (passed as a compiled WebAssembly.Module, which skips the integrity check: for experiments only).
import { readFileSync } from 'node:fs';
import { createEngine } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';
import { fmtNs, sample, summarize, table } from './harness.mjs';
import { timed } from './requests.mjs';

const wasm = process.env.CHECKRD_WASM ? new WebAssembly.Module(readFileSync(process.env.CHECKRD_WASM)) : undefined;
const p = (await loadPolicyFile(new URL('./policy-20.yaml', import.meta.url).pathname)).document;
const without = (...names) => ({ ...p, rules: p.rules.filter((r) => !('limit' in r) && !names.includes(r.name)) });
const variants = [
  ['17 rules (engine.bench.mjs)', without()],
  ['- the regex rule', without('no_aws_keys_in_prompts')],
  ['- all 3 message-scanning deny rules', without('no_aws_keys_in_prompts', 'no_openai_keys_in_prompts', 'no_private_keys_in_prompts')],
  ['2 rules: the two allow rules that match', { ...p, rules: p.rules.filter((r) => r.name === 'allow_openai_chat' || r.name === 'allow_github_reads') }],
  ['1 rule, url only (no body, no headers read)', { ...p, rules: [{ name: 'any', allow: { url: '**' } }] }],
];
const opts = { now: Date.UTC(2025, 5, 2, 12) };
const rows = [];
for (const [name, policy] of variants) {
  const engine = await createEngine({ policy, ...(wasm ? { wasm } : {}) });
  const row = [name];
  for (const t of timed) {
    const n = t.id === 'openai-chat-64k' ? 10_000 : 100_000;
    const s = summarize(sample(() => engine.evaluate(t.req, opts), n, n / 5));
    if (engine.evaluate(t.req, opts).result !== 'allow') throw new Error(`${name}: ${t.id} is not allowed`);
    row.push(fmtNs(s.p50));
  }
  rows.push(row);
}
console.log(`core: ${process.env.CHECKRD_WASM ?? 'bundled core/wasm/checkrd_core.wasm'}; p50 per decision`);
console.log(table(['policy variant', ...timed.map((t) => t.id)], rows));
