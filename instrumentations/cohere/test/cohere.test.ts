import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as cohereModule from 'cohere-ai';
import { CohereClientV2, CohereError } from 'cohere-ai';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '../../fetch/src/index.js';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { CohereInstrumentation } from '../src/index.js';

const chatResponse = {
  id: 'c-1',
  finish_reason: 'COMPLETE',
  message: { role: 'assistant', content: [{ type: 'text', text: 'hi' }] },
  usage: { billed_units: { input_tokens: 3, output_tokens: 1 }, tokens: { input_tokens: 3, output_tokens: 1 } },
};

const policy = (port: number, mode: 'enforce' | 'dry_run') => `
default: deny
mode: ${mode}
rules:
  - name: allow_cohere_chat
    allow:
      method: [POST]
      url: "127.0.0.1:${port}/v2/chat"
      body:
        - jsonpath: "$.model"
          in: [command-a, command-r]
`;

describe('cohere instrumentation (real cohere-ai SDK against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: CohereInstrumentation;
  let fetchInst: FetchInstrumentation;
  let client: CohereClientV2;

  beforeAll(async () => {
    server = await testServer((_req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end('{"message":"boom"}');
        return;
      }
      if ((JSON.parse(body || '{}') as { stream?: boolean }).stream) {
        res.setHeader('content-type', 'text/event-stream');
        res.end('event: message-start\ndata: {"type":"message-start","id":"c-1"}\n\nevent: message-end\ndata: {"type":"message-end"}\n\n');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(chatResponse));
    });
    guard = await countingGuard(policy(server.port, 'enforce'));
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new CohereInstrumentation({ guard });
    inst.patchClient(cohereModule as never);
    inst.patchClient(cohereModule as never); // idempotent
    client = new CohereClientV2({ token: 'co-test-secret', environment: server.url, maxRetries: 2 });
  });
  afterAll(async () => {
    inst.unpatchClient(cohereModule as never);
    inst.disable();
    fetchInst.disable();
    await server.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
    failNext = 0;
    inst.setConfig({ guard });
    fetchInst.setConfig({ guard });
  });

  it('allows a permitted call: one decision, one span, GenAI and HTTP attributes, no API key', async () => {
    const r = await client.chat({ model: 'command-a', messages: [{ role: 'user', content: 'hello' }] });
    expect(r.id).toBe('c-1');
    expect(guard.evaluations).toBe(1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe('POST 127.0.0.1');
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_cohere_chat',
      'checkrd.policy.enforced': true,
      'gen_ai.provider.name': 'cohere',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'command-a',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.path': '/v2/chat',
    });
    expect(JSON.stringify(spans[0]!.attributes)).not.toContain('co-test-secret');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer co-test-secret');
  });

  it('rejects a denied call at once with PolicyDeniedError itself: not a CohereError, not retried, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const started = Date.now();
    const err = await client.chat({ model: 'command-x', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).not.toBeInstanceOf(CohereError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(Date.now() - started).toBeLessThan(500); // no retry back-off (the SDK waits ≥ 0.9 s between attempts)
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.status.code).toBe(2);
    expect(spans[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'gen_ai.request.model': 'command-x', 'error.type': 'PolicyDeniedError' });
  });

  it('rejects a denied client.fetch passthrough request with PolicyDeniedError', async () => {
    const requests = server.requests.length;
    const err = await client.fetch('/v1/models', { method: 'GET' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(guard.evaluations).toBe(1);
    expect(server.requests.length).toBe(requests);
    expect(o.spans()[0]!.attributes['gen_ai.operation.name']).toBe('models');
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await client.chat({ model: 'command-r', messages: [{ role: 'user', content: 'x' }] });
    expect(r.id).toBe('c-1');
    expect(guard.evaluations).toBe(2);
    expect(o.spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(o.spans().map((s) => s.attributes['gen_ai.request.model'])).toEqual(['command-r', 'command-r']);
  });

  it('dry_run: a denied call passes, with the would-be decision on the span', async () => {
    const dry = await countingGuard(policy(server.port, 'dry_run'));
    inst.setConfig({ guard: dry });
    fetchInst.setConfig({ guard: dry });
    const requests = server.requests.length;
    const r = await client.chat({ model: 'command-x', messages: [{ role: 'user', content: 'x' }] });
    expect(r.id).toBe('c-1');
    expect(dry.evaluations).toBe(1);
    expect(server.requests.length).toBe(requests + 1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'deny',
      'checkrd.policy.enforced': false,
      'checkrd.policy.mode': 'dry_run',
      'gen_ai.request.model': 'command-x',
      'http.response.status_code': 200,
    });
  });

  it('streams: one decision for a chatStream call, the stream left to the caller', async () => {
    const stream = await client.chatStream({ model: 'command-a', messages: [{ role: 'user', content: 'x' }] });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['message-start', 'message-end']);
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'command-a' });
  });
});

describe('cohere instrumentation: unpatch', () => {
  it('unpatchClient leaves the SDK as it was (the fetch layer alone decides, and the SDK wraps its error)', async () => {
    const o = otel();
    const server = await testServer();
    const guard = await countingGuard(policy(server.port, 'enforce'));
    const fetchInst = new FetchInstrumentation({ guard });
    const inst = new CohereInstrumentation({ guard });
    inst.patchClient(cohereModule as never);
    inst.unpatchClient(cohereModule as never);
    try {
      const client = new CohereClientV2({ token: 't', environment: server.url, maxRetries: 0 });
      const err = await client.chat({ model: 'command-x', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CohereError);
      expect(isPolicyDenied(err)).toBe(true); // CohereError → TypeError('fetch failed') → PolicyDeniedError
      expect(guard.evaluations).toBe(1);
      expect(o.spans()[0]!.attributes['gen_ai.provider.name']).toBeUndefined();
      expect(server.requests.length).toBe(0);
    } finally {
      inst.disable();
      fetchInst.disable();
      await server.close();
    }
  });
});
