import { afterEach, describe, expect, it } from 'vitest';
import { getGlobalGuard } from '@checkrd/instrumentation-common';
import { init, instrument, instrumentFetch, isPolicyDenied, shutdown } from '../src/index.js';
import { otel, testServer } from '../../instrumentations/common/test/helpers.js';

const policy = (mode = 'enforce') => `
default: deny
mode: ${mode}
rules:
  - name: reads
    allow:
      method: [GET]
      url: "127.0.0.1:*/ok/**"
`;

describe('init and instrument', () => {
  const o = otel();
  afterEach(async () => {
    await shutdown();
    delete process.env.CHECKRD_AGENT_ID;
    delete process.env.CHECKRD_POLICY;
    delete process.env.CHECKRD_MODE;
    o.reset();
  });

  it('says what is missing', async () => {
    await expect(init({ policy: policy() })).rejects.toThrow(/agentId is required \(or set CHECKRD_AGENT_ID\)/);
    await expect(init({ agentId: 'a' })).rejects.toThrow(/policy is required/);
    await expect(init({ agentId: 'a', policy: 'default: maybe\n' })).rejects.toThrow(/`default` must be `allow` or `deny`/);
    expect(() => instrumentFetch()).toThrow(/call `await init/);
  });

  it('reads CHECKRD_AGENT_ID, CHECKRD_POLICY and CHECKRD_MODE', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'checkrd-init-')), 'policy.yaml');
    writeFileSync(file, policy());
    process.env.CHECKRD_AGENT_ID = 'env-agent';
    process.env.CHECKRD_POLICY = file;
    process.env.CHECKRD_MODE = 'dry_run';
    const guard = await init();
    expect([guard.agentId, guard.mode]).toEqual(['env-agent', 'dry_run']);
    expect(guard.policyHash).toMatch(/^sha256:/);
  });

  it('guards fetch; init twice replaces the policy and instrumenting twice doubles nothing', async () => {
    const server = await testServer();
    try {
      await init({ agentId: 'a', policy: policy() });
      instrument();
      instrumentFetch();
      expect(isPolicyDenied(await fetch(`${server.url}/nope`).catch((e: unknown) => e))).toBe(true);
      const ok = await fetch(`${server.url}/ok/x`);
      expect(ok.status).toBe(200);
      await ok.text();
      expect(o.spans().map((s) => s.attributes['checkrd.policy.result'])).toEqual(['deny', 'allow']);
      // The same policy in dry_run: the denied call now goes through, reported.
      await init({ agentId: 'a', policy: policy(), mode: 'dry_run' });
      instrument();
      const passed = await fetch(`${server.url}/nope`);
      expect(passed.status).toBe(200);
      await passed.text();
      const last = o.spans().at(-1)!;
      expect([last.attributes['checkrd.policy.result'], last.attributes['checkrd.policy.enforced']]).toEqual(['deny', false]);
      expect(o.spans()).toHaveLength(3);
      expect(server.requests.map((r) => r.url)).toEqual(['/ok/x', '/nope']);
    } finally {
      await server.close();
    }
  });

  it('reports what instrument() covers', async () => {
    await init({ agentId: 'a', policy: policy() });
    expect(instrument().covered).toEqual(expect.arrayContaining(['fetch', 'undici', 'openai']));
  });

  it('follows onEngineError when the engine cannot decide', async () => {
    const huge = 'http://127.0.0.1:1/ok/' + 'é'.repeat(25_000_000);
    await init({ agentId: 'a', policy: policy() });
    expect(getGlobalGuard()!.evaluate({ method: 'GET', url: huge })).toMatchObject({ result: 'deny', reason: 'engine_error' });
    await init({ agentId: 'a', policy: policy(), onEngineError: 'allow' });
    expect(getGlobalGuard()!.evaluate({ method: 'GET', url: huge })).toMatchObject({ result: 'allow', reason: 'engine_error' });
  });
});
