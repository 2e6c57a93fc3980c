import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as anthropicModule from '@anthropic-ai/sdk';
import Anthropic, { APIConnectionError, type Middleware } from '@anthropic-ai/sdk';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '../../fetch/src/index.js';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { AnthropicInstrumentation } from '../src/index.js';
import { operationName } from '../src/instrumentation.js';

const SCOPE = '@checkrd/instrumentation-anthropic';

const message = (model: string) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model,
  content: [{ type: 'text', text: 'hi' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 1 },
});

/** The SSE events of a streamed message, as the API sends them. */
const messageStream = (model: string) =>
  [
    ['message_start', { type: 'message_start', message: { ...message(model), content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }],
    ['message_stop', { type: 'message_stop' }],
  ]
    .map(([event, data]) => `event: ${event as string}\ndata: ${JSON.stringify(data)}\n\n`)
    .join('');

const POLICY = (host: string, mode: 'enforce' | 'dry_run') => `
default: deny
mode: ${mode}
rules:
  - name: allow_claude_messages
    allow:
      method: [POST]
      url: "${host}/v1/messages"
      body:
        - jsonpath: "$.model"
          in: [claude-sonnet-5, claude-haiku-5]
`;

describe('anthropic instrumentation (real @anthropic-ai/sdk against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let dryRun: Awaited<ReturnType<typeof countingGuard>>;
  let inst: AnthropicInstrumentation;
  let fetchInst: FetchInstrumentation;
  let client: Anthropic;
  // Our spans only: the SDK traces its own calls with the global tracer provider (1.x, on by default).
  const spans = () => o.spans().filter((s) => s.instrumentationScope.name === SCOPE);
  const create = (c: Anthropic, model: string) => c.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] });

  beforeAll(async () => {
    server = await testServer((_req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.end('{"type":"error","error":{"type":"api_error","message":"boom"}}');
        return;
      }
      const params = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
      if (params.stream) {
        res.setHeader('content-type', 'text/event-stream');
        res.end(messageStream(params.model ?? 'x'));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(message(params.model ?? 'x')));
    });
    guard = await countingGuard(POLICY(`127.0.0.1:${server.port}`, 'enforce'));
    dryRun = await countingGuard(POLICY(`127.0.0.1:${server.port}`, 'dry_run'));
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new AnthropicInstrumentation({ guard });
    inst.patchClient(anthropicModule as never);
    client = new Anthropic({ apiKey: 'sk-ant-test-secret', baseURL: server.url, maxRetries: 2 });
  });
  afterAll(async () => {
    inst.unpatchClient(anthropicModule as never);
    inst.disable();
    fetchInst.disable();
    await server.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
    dryRun.evaluations = 0;
    failNext = 0;
  });

  it('allows a permitted call: one decision, one span, GenAI and HTTP attributes, no secret', async () => {
    const r = await create(client, 'claude-sonnet-5');
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'hi' });
    expect(guard.evaluations).toBe(1);
    const ours = spans();
    expect(ours).toHaveLength(1);
    expect(ours[0]!.name).toBe('POST 127.0.0.1');
    expect(ours[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_claude_messages',
      'checkrd.policy.mode': 'enforce',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-5',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.path': '/v1/messages',
      'gen_ai.response.model': 'claude-sonnet-5',
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 1,
    });
    for (const s of o.spans()) expect(JSON.stringify(s.attributes)).not.toContain('sk-ant-test-secret');
  });

  it('a streamed call: its span ends with the stream, with the model and usage the events report', async () => {
    const stream = await client.messages.create({ model: 'claude-sonnet-5', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hello' }] });
    expect(spans()).toHaveLength(0);
    let text = '';
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    expect(text).toBe('hi there');
    expect(guard.evaluations).toBe(1);
    const ours = spans();
    expect(ours).toHaveLength(1);
    expect(ours[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-5',
      'gen_ai.response.model': 'claude-sonnet-5',
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 5,
      'http.response.status_code': 200,
    });
  });

  it('rejects a denied call at once with PolicyDeniedError: not wrapped, not retried, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await create(client, 'claude-opus-5').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).not.toBeInstanceOf(APIConnectionError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const ours = spans();
    expect(ours).toHaveLength(1);
    expect(ours[0]!.status.code).toBe(2);
    expect(ours[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'deny',
      'checkrd.policy.enforced': true,
      'error.type': 'PolicyDeniedError',
      'gen_ai.request.model': 'claude-opus-5',
    });
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await create(client, 'claude-haiku-5');
    expect(r.model).toBe('claude-haiku-5');
    expect(guard.evaluations).toBe(2);
    expect(spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(server.requests.slice(-2).map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
  });

  it('dry_run: a denied call goes through, with the would-be decision on the span', async () => {
    inst.setConfig({ guard: dryRun });
    fetchInst.setConfig({ guard: dryRun });
    try {
      const requests = server.requests.length;
      const r = await create(client, 'claude-opus-5');
      expect(r.model).toBe('claude-opus-5');
      expect(server.requests.length).toBe(requests + 1);
      expect(dryRun.evaluations).toBe(1);
      const ours = spans();
      expect(ours).toHaveLength(1);
      expect(ours[0]!.attributes).toMatchObject({
        'checkrd.policy.result': 'deny',
        'checkrd.policy.reason': 'default_deny',
        'checkrd.policy.mode': 'dry_run',
        'checkrd.policy.enforced': false,
        'http.response.status_code': 200,
      });
      expect(ours[0]!.status.code).not.toBe(2);
    } finally {
      inst.setConfig({ guard });
      fetchInst.setConfig({ guard });
    }
  });

  it('decides on the request as the user middleware left it (the guard runs innermost)', async () => {
    const toOpus: Middleware = (req, next) => next({ ...req, body: String(req.body).replace('claude-sonnet-5', 'claude-opus-5') });
    const withMiddleware = new Anthropic({ apiKey: 'sk-ant-test-secret', baseURL: server.url, maxRetries: 2, middleware: [toOpus] });
    const requests = server.requests.length;
    const err = await create(withMiddleware, 'claude-sonnet-5').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(guard.evaluations).toBe(1);
    expect(server.requests.length).toBe(requests);
  });

  it('decides every request a middleware sends: a replay through next() is decided again', async () => {
    const replay: Middleware = async (req, next) => {
      const first = await next(req);
      await first.body?.cancel();
      return next(req);
    };
    const withReplay = new Anthropic({ apiKey: 'sk-ant-test-secret', baseURL: server.url, maxRetries: 0, middleware: [replay] });
    const requests = server.requests.length;
    const r = await create(withReplay, 'claude-sonnet-5');
    expect(r.model).toBe('claude-sonnet-5');
    expect(guard.evaluations).toBe(2);
    expect(server.requests.length).toBe(requests + 2);
    expect(spans().map((s) => s.attributes['checkrd.policy.result'])).toEqual(['allow', 'allow']);
  });

  // Regression: the SDK takes any attempt error whose String() says "timeout" for a timeout, retries it
  // and throws APIConnectionTimeoutError instead; a denial names its rule, which may say "timeout".
  it('a denial by a rule whose name says "timeout" is still refused as is, once', async () => {
    const timeoutRule = await countingGuard(`
default: allow
mode: enforce
rules:
  - name: deny_timeout_prone_model
    deny:
      body:
        - jsonpath: "$.model"
          in: [claude-opus-5]
      url: "127.0.0.1:${server.port}/**"
`);
    inst.setConfig({ guard: timeoutRule });
    try {
      const requests = server.requests.length;
      const err = await create(client, 'claude-opus-5').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PolicyDeniedError);
      expect((err as PolicyDeniedError).rule).toBe('deny_timeout_prone_model');
      expect((err as PolicyDeniedError).message).toContain('deny_timeout_prone_model');
      expect(String(err)).not.toMatch(/timed? ?out/i);
      expect(timeoutRule.evaluations).toBe(1);
      expect(server.requests.length).toBe(requests);
    } finally {
      inst.setConfig({ guard });
    }
  });

  it('patching twice adds one middleware; unpatching removes it', async () => {
    inst.patchClient(anthropicModule as never);
    await create(client, 'claude-sonnet-5');
    expect(guard.evaluations).toBe(1);
    inst.unpatchClient(anthropicModule as never);
    try {
      o.reset();
      guard.evaluations = 0;
      // Unpatched, the fetch layer beneath still decides, once.
      await create(client, 'claude-sonnet-5');
      expect(guard.evaluations).toBe(1);
      expect(spans()).toHaveLength(0);
    } finally {
      inst.patchClient(anthropicModule as never);
    }
  });

  it('names operations from the SDK paths', () => {
    expect(operationName('/v1/messages')).toBe('chat');
    expect(operationName('/v1/messages?beta=true')).toBe('chat');
    expect(operationName('/v1/messages/count_tokens')).toBe('count_tokens');
    expect(operationName('/v1/messages/batches/b_1/results')).toBe('batches');
    expect(operationName('/v1/models')).toBe('models');
    expect(operationName(undefined)).toBe('unknown');
  });
});
