/**
 * `checkrd test <policy> <cases.yaml>`: policy unit tests, the way `opa test` works for Rego.
 *
 *   cases:
 *     - name: gpt-4o chat is allowed
 *       request: { method: POST, url: https://api.openai.com/v1/chat/completions, body: { model: gpt-4o } }
 *       expect: { result: allow, rule: allow_openai_chat }
 *     - name: the 3rd call in a minute is rate limited
 *       steps:                       # steps share one engine, so rate limits carry across them
 *         - { request: {...}, time: "2026-01-01T00:00:00Z", expect: { result: allow } }
 *         - { request: {...}, repeat: 2 }
 *
 * Each case gets a fresh engine. `expect` may name result, rule, reason, enforced, source.
 */
import { parse } from 'yaml';
import { createEngine, type Decision, type Engine } from '@checkrd/core';
import { loadPolicyFile, type LoadedPolicy } from '@checkrd/policy';
import { toFacts, type RequestLine } from './eval.js';
import { parseTime, println, readUserFile, UsageError, type Io } from './io.js';

const EXPECT_KEYS = ['result', 'rule', 'reason', 'enforced', 'source'] as const;
type Expect = Partial<Record<(typeof EXPECT_KEYS)[number], unknown>>;

interface Step {
  request: RequestLine;
  time?: unknown;
  repeat?: number;
  expect?: Expect;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  failures: string[];
}

function actualOf(d: Decision): Record<string, unknown> {
  return { result: d.result, rule: d.matched_rule, reason: d.reason, enforced: d.enforced, source: d.rule_source };
}

function checkExpect(e: unknown, where: string): Expect {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new UsageError(`${where}: "expect" must be a mapping of ${EXPECT_KEYS.join(', ')}`);
  for (const k of Object.keys(e)) if (!(EXPECT_KEYS as readonly string[]).includes(k)) throw new UsageError(`${where}: unknown key "${k}" in expect; valid keys are ${EXPECT_KEYS.join(', ')}`);
  return e as Expect;
}

function stepsOf(c: Record<string, unknown>, where: string): Step[] {
  const raw = c.steps ?? [{ request: c.request, time: c.time, expect: c.expect }];
  if (!Array.isArray(raw) || raw.length === 0) throw new UsageError(`${where}: a case needs "request" and "expect", or "steps"`);
  return raw.map((s: Record<string, unknown>, i) => {
    const w = `${where}, step ${i + 1}`;
    if (typeof s !== 'object' || s === null || typeof s.request !== 'object' || s.request === null) throw new UsageError(`${w}: needs a "request" mapping`);
    const repeat = s.repeat ?? 1;
    if (!Number.isInteger(repeat) || (repeat as number) < 1 || (repeat as number) > 100_000) throw new UsageError(`${w}: "repeat" must be a whole number from 1 to 100000`);
    return { request: s.request as RequestLine, time: s.time, repeat: repeat as number, ...(s.expect !== undefined ? { expect: checkExpect(s.expect, w) } : {}) };
  });
}

export async function runCases(policy: LoadedPolicy, casesText: string, casesFile: string): Promise<CaseResult[]> {
  let doc: unknown;
  try {
    doc = parse(casesText, { version: '1.2', schema: 'core' });
  } catch (e) {
    throw new UsageError(`${casesFile}: ${(e as Error).message.split('\n')[0]}`);
  }
  const cases = (doc as { cases?: unknown })?.cases;
  if (!Array.isArray(cases)) throw new UsageError(`${casesFile}: expected a top-level "cases:" list`);
  const results: CaseResult[] = [];
  const base = Date.UTC(2026, 0, 1, 12);
  for (const [i, c] of cases.entries()) {
    const where = `${casesFile}: case ${i + 1}`;
    if (typeof c !== 'object' || c === null) throw new UsageError(`${where}: a case is a mapping`);
    const name = typeof c.name === 'string' ? c.name : `case ${i + 1}`;
    const steps = stepsOf(c as Record<string, unknown>, where);
    const engine: Engine = await createEngine({ policy: policy.document });
    const failures: string[] = [];
    let now = base;
    for (const [si, s] of steps.entries()) {
      const w = `${where}, step ${si + 1}`;
      if (s.time !== undefined) now = parseTime(s.time, w);
      const facts = toFacts(s.request, w);
      let d!: Decision;
      for (let r = 0; r < (s.repeat ?? 1); r++) d = engine.evaluate(facts, { now });
      if (!s.expect) continue;
      const actual = actualOf(d);
      const diffs = Object.entries(s.expect).filter(([k, v]) => actual[k] !== v);
      if (diffs.length) {
        const label = steps.length > 1 ? `step ${si + 1}: ` : '';
        failures.push(
          `${label}expected ${diffs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n` +
            `${' '.repeat(label.length)}     got ${diffs.map(([k]) => `${k}=${JSON.stringify(actual[k])}`).join(' ')}` +
            `   (decision: ${JSON.stringify(d)})`,
        );
      }
    }
    results.push({ name, ok: failures.length === 0, failures });
  }
  return results;
}

export async function testCommand(args: string[], io: Io): Promise<number> {
  if (args.length !== 2) throw new UsageError('test takes a policy file and a cases file');
  const [policyFile, casesFile] = args as [string, string];
  const policy = await loadPolicyFile(policyFile);
  const results = await runCases(policy, (await readUserFile(casesFile, 'cases file')).toString('utf8'), casesFile);
  for (const r of results) {
    if (r.ok) continue;
    println(io.stdout, `FAIL ${r.name}`);
    for (const f of r.failures) println(io.stdout, '  ' + f.replace(/\n/g, '\n  '));
  }
  const failed = results.filter((r) => !r.ok).length;
  println(io.stdout, `${policyFile}: ${results.length - failed} of ${results.length} cases passed${failed ? `, ${failed} failed` : ''}`);
  return failed ? 1 : 0;
}
