import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPolicyDenied, PolicyDeniedError, runDecided, setGlobalGuard } from '@checkrd/instrumentation-common';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { FetchInstrumentation } from '../src/index.js';

const POLICY = (host: string, mode = 'enforce') => `
default: deny
mode: ${mode}
rules:
  - name: no_admin
    deny:
      url: "**/admin/**"
  - name: chat_models
    allow:
      method: [POST]
      url: "${host}/v1/chat/completions"
      body:
        - jsonpath: "$.model"
          in: [gpt-4o]
  - name: reads
    allow:
      method: [GET]
      url: "${host}/**"
`;

describe('fetch instrumentation (real fetch, real OTel SDK, local server)', () => {
  const o = otel();
  let server: TestServer;
  let inst: FetchInstrumentation;
  let guard: Awaited<ReturnType<typeof countingGuard>>;

  beforeAll(async () => {
    server = await testServer();
    guard = await countingGuard(POLICY(`127.0.0.1:${server.port}`));
    inst = new FetchInstrumentation({ guard });
  });
  afterAll(async () => {
    inst.disable();
    setGlobalGuard(undefined);
    await server.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
  });

  it('lets an allowed request through and records the decision on the span', async () => {
    const before = server.connections + server.requests.length;
    const res = await fetch(`${server.url}/v1/chat/completions?api_key=secret`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret' }, body: JSON.stringify({ model: 'gpt-4o' }) });
    expect(res.status).toBe(200);
    await res.text();
    expect(server.requests.length + server.connections).toBeGreaterThan(before);
    expect(guard.evaluations).toBe(1);
    const [span] = o.spans();
    expect(span!.name).toBe('POST 127.0.0.1');
    expect(span!.attributes).toMatchObject({
      'checkrd.agent.id': 'test-agent',
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'chat_models',
      'checkrd.policy.reason': 'rule_allow',
      'checkrd.policy.mode': 'enforce',
      'checkrd.policy.enforced': true,
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'http.response.status_code': 200,
    });
    expect(String(span!.attributes['checkrd.policy.hash'])).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(span!.attributes)).not.toMatch(/secret|api_key/);
  });

  it('refuses a denied request before it connects: PolicyDeniedError in the cause, one evaluation, error span', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-5' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(isPolicyDenied(err)).toBe(true);
    const denial = (err as { cause: PolicyDeniedError }).cause;
    expect(denial).toBeInstanceOf(PolicyDeniedError);
    expect([denial.rule, denial.reason, denial.agentId, denial.code]).toEqual([null, 'default_deny', 'test-agent', 'CHECKRD_E_POLICY_DENIED']);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    expect(guard.evaluations).toBe(1);
    const [span] = o.spans();
    expect(span!.status.code).toBe(2);
    expect(span!.attributes['checkrd.policy.result']).toBe('deny');
  });

  it('guards the undici package too', async () => {
        const { request: undiciRequest } = await import('undici');
    // undici 8, imported for the first time, replaced fetch's dispatcher: enabling again re-wraps it.
    inst.enable();
    const err = await undiciRequest(`${server.url}/x/admin/y`).catch((e: unknown) => e);
    expect(isPolicyDenied(err)).toBe(true);
    const ok = await undiciRequest(`${server.url}/ok`);
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });

  it('fails closed on a streamed body it cannot read whole, and sends it intact when allowed', async () => {
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"model":'));
        c.enqueue(new TextEncoder().encode('"gpt-4o"}'));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: '{"model":"gpt-4o"}' });
  });

  it('makes no second decision for a request an outer instrumentation already decided', async () => {
    const d = guard.evaluate({ method: 'GET', url: `${server.url}/ok` });
    guard.evaluations = 0;
    const res = await runDecided({ decision: d, by: 'test' }, () => fetch(`${server.url}/admin/anything`));
    expect(res.status).toBe(200);
    await res.text();
    expect(guard.evaluations).toBe(0);
  });

  it('decides a redirect again even inside an outer layer\'s decided request', async () => {
    const redirector = await testServer((_req, _body, res) => {
      res.statusCode = 302;
      res.setHeader('location', `${server.url}/admin/secret`);
      res.end();
    });
    try {
      const url = `${redirector.url}/start`;
      const d = guard.evaluate({ method: 'GET', url });
      guard.evaluations = 0;
      const err = await runDecided({ decision: d, by: 'test', url, method: 'GET' }, () => fetch(url)).catch((e: unknown) => e);
      expect(isPolicyDenied(err)).toBe(true);
      expect(guard.evaluations).toBe(1);
      expect(redirector.requests).toHaveLength(1);
    } finally {
      await redirector.close();
    }
  });

  it('unpatches on disable and re-patches on enable without doubling', async () => {
    inst.disable();
    const res = await fetch(`${server.url}/admin/x`);
    expect(res.status).toBe(200);
    await res.text();
    inst.enable();
    inst.enable();
    await expect(fetch(`${server.url}/admin/x`)).rejects.toSatisfy(isPolicyDenied);
    expect(guard.evaluations).toBe(1);
  });
});

describe('fetch instrumentation in dry_run', () => {
  it('lets a denied call through and says on the span what would have happened', async () => {
    const o = otel();
    const server = await testServer();
    const guard = await countingGuard(POLICY(`127.0.0.1:${server.port}`, 'dry_run'));
    const inst = new FetchInstrumentation({ guard });
    try {
      const res = await fetch(`${server.url}/admin/x`);
      expect(res.status).toBe(200);
      await res.text();
      expect(server.requests.length).toBe(1);
      expect(o.spans()[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'checkrd.policy.rule': 'no_admin', 'checkrd.policy.enforced': false, 'checkrd.policy.mode': 'dry_run' });
    } finally {
      inst.disable();
      await server.close();
    }
  });
});
