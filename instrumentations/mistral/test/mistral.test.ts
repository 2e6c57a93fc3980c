import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as mistralModule from '@mistralai/mistralai';
import { HTTPClient, Mistral } from '@mistralai/mistralai';
import { ConnectionError, UnexpectedClientError } from '@mistralai/mistralai/models/errors/index.js';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '../../fetch/src/index.js';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { MistralInstrumentation } from '../src/index.js';

const completion = (model: string) => ({
  id: 'm-1',
  object: 'chat.completion',
  model,
  created: 1,
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

const policy = (port: number, mode: 'enforce' | 'dry_run') => `
default: deny
mode: ${mode}
rules:
  - name: allow_mistral_chat
    allow:
      method: [POST]
      url: "127.0.0.1:${port}/v1/chat/completions"
      body:
        - jsonpath: "$.model"
          in: [mistral-small-latest, mistral-large-latest]
`;

// Retries on, connection errors included: a denial must still not be retried.
const retryConfig = {
  strategy: 'backoff' as const,
  backoff: { initialInterval: 1, maxInterval: 50, exponent: 1.1, maxElapsedTime: 300 },
  retryConnectionErrors: true,
};

describe('mistral instrumentation (real @mistralai/mistralai SDK against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: MistralInstrumentation;
  let fetchInst: FetchInstrumentation;
  let client: Mistral;

  beforeAll(async () => {
    server = await testServer((_req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end('{"message":"boom"}');
        return;
      }
      const req = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
      if (req.stream) {
        res.setHeader('content-type', 'text/event-stream');
        const chunk = { id: 'm-1', model: req.model, choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] };
        res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(completion(req.model ?? 'x')));
    });
    guard = await countingGuard(policy(server.port, 'enforce'));
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new MistralInstrumentation({ guard });
    inst.patchClient(mistralModule as never);
    inst.patchClient(mistralModule as never); // idempotent
    client = new Mistral({ apiKey: 'mistral-test-secret', serverURL: server.url, retryConfig });
  });
  afterAll(async () => {
    inst.unpatchClient(mistralModule as never);
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
    const r = await client.chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'hello' }] });
    expect(r.choices[0]!.message.content).toBe('hi');
    expect(guard.evaluations).toBe(1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe('POST 127.0.0.1');
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_mistral_chat',
      'checkrd.policy.enforced': true,
      'gen_ai.provider.name': 'mistral_ai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'mistral-small-latest',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.path': '/v1/chat/completions',
    });
    expect(JSON.stringify(spans[0]!.attributes)).not.toContain('mistral-test-secret');
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer mistral-test-secret');
  });

  it('rejects a denied call at once with PolicyDeniedError itself: not wrapped, not retried, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await client.chat.complete({ model: 'mistral-tiny', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).not.toBeInstanceOf(UnexpectedClientError);
    expect(err).not.toBeInstanceOf(ConnectionError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.status.code).toBe(2);
    expect(spans[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'gen_ai.request.model': 'mistral-tiny', 'error.type': 'PolicyDeniedError' });
  });

  it('decides the request as the HTTPClient sends it, after its own beforeRequest hooks (custom fetcher kept)', async () => {
    let fetched = 0;
    const http = new HTTPClient({ fetcher: (input, init) => (fetched++, fetch(input, init)) });
    // The hook rewrites the path: the policy must see the rewritten request, not the one the SDK built.
    http.addHook('beforeRequest', (req) => new Request(req.url.replace('/v1/chat/completions', '/v1/admin'), req));
    const hooked = new Mistral({ apiKey: 'k', serverURL: server.url, httpClient: http });
    const err = await hooked.chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(fetched).toBe(0);
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes['url.path']).toBe('/v1/admin');
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await client.chat.complete({ model: 'mistral-large-latest', messages: [{ role: 'user', content: 'x' }] });
    expect(r.model).toBe('mistral-large-latest');
    expect(guard.evaluations).toBe(2);
    expect(o.spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(o.spans().map((s) => s.attributes['gen_ai.request.model'])).toEqual(['mistral-large-latest', 'mistral-large-latest']);
  });

  it('dry_run: a denied call passes, with the would-be decision on the span', async () => {
    const dry = await countingGuard(policy(server.port, 'dry_run'));
    inst.setConfig({ guard: dry });
    fetchInst.setConfig({ guard: dry });
    const requests = server.requests.length;
    const r = await client.chat.complete({ model: 'mistral-tiny', messages: [{ role: 'user', content: 'x' }] });
    expect(r.model).toBe('mistral-tiny');
    expect(dry.evaluations).toBe(1);
    expect(server.requests.length).toBe(requests + 1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'deny',
      'checkrd.policy.enforced': false,
      'checkrd.policy.mode': 'dry_run',
      'gen_ai.request.model': 'mistral-tiny',
      'http.response.status_code': 200,
    });
  });

  it('streams: one decision for a chat.stream call, the stream left to the caller', async () => {
    const stream = await client.chat.stream({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'x' }] });
    const deltas: unknown[] = [];
    for await (const event of stream) deltas.push(event.data.choices[0]?.delta.content);
    expect(deltas).toEqual(['hi']);
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'mistral-small-latest' });
  });
});

describe('mistral instrumentation: unpatch', () => {
  it('unpatchClient restores the SDK: the fetch layer alone decides, and Speakeasy wraps and retries its error', async () => {
    const o = otel();
    const server = await testServer();
    const guard = await countingGuard(policy(server.port, 'enforce'));
    const fetchInst = new FetchInstrumentation({ guard });
    const inst = new MistralInstrumentation({ guard });
    inst.patchClient(mistralModule as never);
    inst.unpatchClient(mistralModule as never);
    try {
      const client = new Mistral({ apiKey: 'k', serverURL: server.url, retryConfig });
      const err = await client.chat.complete({ model: 'mistral-tiny', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      // TypeError('fetch failed', { cause: PolicyDeniedError }) is a "connection error" to Speakeasy.
      expect(err).toBeInstanceOf(ConnectionError);
      expect(isPolicyDenied(err)).toBe(true);
      expect(guard.evaluations).toBeGreaterThanOrEqual(2);
      expect(o.spans()[0]!.attributes['gen_ai.provider.name']).toBeUndefined();
      expect(server.requests.length).toBe(0);
    } finally {
      inst.disable();
      fetchInst.disable();
      await server.close();
    }
  });
});
