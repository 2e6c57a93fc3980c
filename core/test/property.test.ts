// Property tests (fast-check) through the real wasm module: no input traps the engine, evaluation is
// deterministic for a given state and time, and no 60-second window admits more than calls_per_minute.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, PolicyInvalidError, validatePolicy, type PolicyDocument } from '../ts/index.js';

const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'post', 'TRACE', '', 'G\u00e9T');
const hosts = fc.constantFrom('api.openai.com', 'API.OpenAI.com.', 'x.com:8443', '[::1]:8080', 'user:pw@evil.com', 'bücher.de', '127.0.0.1', 'a..b', '', 'ex ample.com');
const segs = fc.array(fc.constantFrom('v1', 'chat', 'completions', 'admin', '..', '.', '%2e%2E', '%2F', '', 'a%41', '%zz', '\u00e9', '*', '?q=1', '#f'), { maxLength: 8 });
const urls = fc.oneof(
  fc.tuple(fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', '', '//'), hosts, segs).map(([s, h, p]) => `${s}${h}/${p.join('/')}`),
  fc.string({ maxLength: 60 }),
);
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ model: fc.constantFrom('gpt-4o', 'gpt-5', 1, null), messages: fc.array(fc.record({ content: fc.string() }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 80 }),
  fc.constant('['.repeat(300)),
);
const request = fc.record({
  method: methods,
  url: urls,
  headers: fc.dictionary(fc.constantFrom('x-team', 'X-Team', 'content-type', 'authorization'), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
  body: fc.option(jsonish, { nil: undefined }),
});

const condition = fc.oneof(
  fc.record({ jsonpath: fc.constantFrom('$', '$.model', '$..content', '$.messages[*].content', '$.messages[-1]', "$['model']", '$.*'), in: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }) }),
  fc.record({ jsonpath: fc.constantFrom('$.model', '$..content'), regex: fc.constantFrom('^gpt-4', 'sk-[a-z0-9]+', '(a|b)*c', '.') }),
  fc.record({ jsonpath: fc.constantFrom('$.model', '$.x'), exists: fc.boolean() }),
  fc.record({ jsonpath: fc.constantFrom('$.n', '$.model'), min: fc.integer(), max: fc.integer() }),
  fc.record({ jsonpath: fc.constant('$.messages'), min_items: fc.nat(3), max_items: fc.nat(5) }),
);
const matcher = fc.record(
  {
    method: fc.subarray(['GET', 'POST', 'PUT', 'DELETE'], { minLength: 1 }),
    url: fc.constantFrom('api.openai.com/**', '**/admin/**', '*.openai.com/v1/*', 'https://x.com:8443/**', '*/chat*/**', '[::1]:8080/**'),
    body: fc.array(condition, { minLength: 1, maxLength: 2 }),
    headers: fc.array(fc.record({ name: fc.constantFrom('x-team', 'authorization'), prefix: fc.string({ maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
    time_outside: fc.constantFrom('09:00-17:00', '22:00-06:00'),
  },
  { requiredKeys: [] },
);
const rule = fc.oneof(
  matcher.map((m) => ({ allow: m })),
  matcher.map((m) => ({ deny: m })),
  fc.record({
    per: fc.constantFrom('global', 'endpoint', 'body_field'),
    calls_per_minute: fc.integer({ min: 1, max: 4 }),
  }).map((l) => ({ limit: l.per === 'body_field' ? { ...l, field: '$.model' } : l })),
);
const policy = fc
  .record({ default: fc.constantFrom('allow', 'deny'), mode: fc.constantFrom('enforce', 'dry_run'), rules: fc.array(rule, { maxLength: 8 }) })
  .map((p) => ({ ...p, rules: p.rules.map((r, i) => ({ name: `r${i}`, ...r })) }) as PolicyDocument);

describe('property: the engine never traps and is deterministic', () => {
  it('random valid policies × random (hostile) requests', async () => {
    await fc.assert(
      fc.asyncProperty(policy, fc.array(fc.tuple(request, fc.integer({ min: 0, max: 120_000 })), { minLength: 1, maxLength: 25 }), async (p, reqs) => {
        const a = await createEngine({ policy: p });
        const b = await createEngine({ policy: p });
        let now = Date.UTC(2026, 5, 1);
        for (const [req, dt] of reqs) {
          now += dt;
          const da = a.evaluate(req, { now });
          const db = b.evaluate(req, { now });
          expect(da.reason).not.toBe('engine_error');
          expect(db).toEqual(da);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary JSON as a policy is either valid or rejected with diagnostics, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.dictionary(fc.constantFrom('default', 'mode', 'rules', 'agent', 'x'), fc.jsonValue({ maxDepth: 4 })),
          fc.record({ default: fc.constant('deny'), rules: fc.array(fc.dictionary(fc.constantFrom('name', 'allow', 'deny', 'limit'), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }) }),
        ),
        async (doc) => {
          const r = await validatePolicy(doc as PolicyDocument);
          if (!r.ok) {
            expect(r.errors.length).toBeGreaterThan(0);
            for (const e of r.errors) expect(e.message.length).toBeGreaterThan(5);
            await expect(createEngine({ policy: doc as PolicyDocument })).rejects.toBeInstanceOf(PolicyInvalidError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('property: no 60-second window admits more than calls_per_minute', () => {
  it('holds for every key, exactly (denied only when the window is full)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 25_000 }), fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'o3')), { minLength: 1, maxLength: 120 }),
        async (n, steps) => {
          const e = await createEngine({
            policy: { default: 'allow', mode: 'enforce', rules: [{ name: 'per_model', limit: { per: 'body_field', field: '$.model', calls_per_minute: n } }] },
          });
          const admitted = new Map<string, number[]>();
          let now = Date.UTC(2026, 5, 1);
          for (const [dt, model] of steps) {
            now += dt;
            const d = e.evaluate({ method: 'POST', url: 'https://api.openai.com/v1/chat/completions', body: JSON.stringify({ model }) }, { now });
            const times = admitted.get(model) ?? [];
            const inWindow = times.filter((t) => t > now - 60_000 && t <= now).length;
            if (d.result === 'allow') {
              expect(inWindow).toBeLessThan(n);
              times.push(now);
              admitted.set(model, times);
            } else {
              expect(d.reason).toBe('rate_limited');
              expect(inWindow).toBe(n);
            }
          }
          for (const times of admitted.values()) {
            for (const t of times) expect(times.filter((u) => u > t - 60_000 && u <= t).length).toBeLessThanOrEqual(n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
