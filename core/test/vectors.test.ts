// The shared decision-vector corpus through the wasm module and the TypeScript host.
// core/tests/vectors.rs runs the same files natively; both must agree on every step.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../ts/index.js';

interface Step {
  request: { method: string; url: string; headers?: Record<string, string>; body?: string };
  now: number;
  kill_switch?: boolean;
  expect: Record<string, unknown>;
}
interface Case {
  name: string;
  policy: Record<string, unknown>;
  org_policy?: Record<string, unknown>;
  options?: { body_limit?: number; max_keys_per_limit?: number };
  steps: Step[];
}

const dir = new URL('../vectors/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('decision vectors', () => {
  it('has a corpus', () => expect(files.length).toBeGreaterThan(5));
  for (const file of files) {
    const { cases } = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { cases: Case[] };
    describe(file, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const engine = await createEngine({
            policy: c.policy,
            orgPolicy: c.org_policy ?? null,
            ...(c.options?.body_limit !== undefined ? { bodyLimit: c.options.body_limit } : {}),
            ...(c.options?.max_keys_per_limit !== undefined ? { maxKeysPerLimit: c.options.max_keys_per_limit } : {}),
          });
          c.steps.forEach((s, i) => {
            engine.setKillSwitch(s.kill_switch === true);
            const d = engine.evaluate(s.request, { now: s.now });
            expect({ step: i + 1, ...d }, `${c.name} step ${i + 1}: ${s.request.method} ${s.request.url}`).toEqual({ step: i + 1, ...s.expect });
          });
        });
      }
    });
  }
});
