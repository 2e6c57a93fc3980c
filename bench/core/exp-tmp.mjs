// TEMP (not committed): where does the time go — policy variants
import { readFileSync } from 'node:fs';
import { createEngine } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';
import { timed } from './requests.mjs';
import { sample, summarize, fmtNs } from './harness.mjs';
const wasm = process.env.WASM ? new WebAssembly.Module(readFileSync(process.env.WASM)) : undefined;
const p = (await loadPolicyFile(new URL('./policy-20.yaml', import.meta.url).pathname)).document;
const no = (...names) => ({ ...p, rules: p.rules.filter((r) => !('limit' in r) && !names.includes(r.name)) });
const variants = {
  'full 17': no(),
  'no regex rule': no('no_aws_keys_in_prompts'),
  'no body deny rules': no('no_aws_keys_in_prompts', 'no_openai_keys_in_prompts', 'no_private_keys_in_prompts'),
  'only allow_openai_chat+github': { ...p, rules: p.rules.filter((r) => r.name === 'allow_openai_chat' || r.name === 'allow_github_reads') },
  'one rule, no body/headers': { ...p, rules: [{ name: 'a', allow: { url: '**' } }] },
};
const o = { now: Date.UTC(2025, 5, 2, 12) };
for (const [name, policy] of Object.entries(variants)) {
  const e = await createEngine({ policy, ...(wasm ? { wasm } : {}) });
  const row = [name.padEnd(32)];
  for (const t of timed) {
    const n = t.id === 'openai-chat-64k' ? 5000 : 100000;
    const s = summarize(sample(() => e.evaluate(t.req, o), n, n / 5));
    row.push(`${t.id} ${fmtNs(s.p50)} (${e.evaluate(t.req, o).result})`);
  }
  console.log(row.join('  '));
}
