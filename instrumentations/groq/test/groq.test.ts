import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as groqModule from 'groq-sdk';
import Groq, { APIConnectionError } from 'groq-sdk';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '../../fetch/src/index.js';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { GroqInstrumentation } from '../src/index.js';
import { groqExtractor } from '../src/extractor.js';
import { operationName } from '../src/instrumentation.js';

const SCOPE = '@checkrd/instrumentation-groq';

const completion = (model: string) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

/** A streamed completion as Groq sends it: the usage in the final chunk's x_groq, then [DONE]. */
const completionStream = (model: string) =>
  [
    { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }], x_groq: { id: 'req_1' } },
    { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: ' there' }, finish_reason: null }] },
    {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model,
      choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      x_groq: { id: 'req_1', usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    },
  ]
    .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
    .concat('data: [DONE]\n\n')
    .join('');

const POLICY = (host: string, mode: 'enforce' | 'dry_run') => `
default: deny
mode: ${mode}
rules:
  - name: allow_groq_chat
    allow:
      method: [POST]
      url: "${host}/openai/v1/chat/completions"
      body:
        - jsonpath: "$.model"
          in: [llama-3.3-70b-versatile, llama-3.1-8b-instant]
`;

describe('groq instrumentation (real groq-sdk against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let dryRun: Awaited<ReturnType<typeof countingGuard>>;
  let inst: GroqInstrumentation;
  let fetchInst: FetchInstrumentation;
  let client: Groq;
  const spans = () => o.spans().filter((s) => s.instrumentationScope.name === SCOPE);
  const create = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });

  beforeAll(async () => {
    server = await testServer((_req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.end('{"error":{"message":"boom"}}');
        return;
      }
      const params = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
      if (params.stream) {
        res.setHeader('content-type', 'text/event-stream');
        res.end(completionStream(params.model ?? 'x'));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(completion(params.model ?? 'x')));
    });
    guard = await countingGuard(POLICY(`127.0.0.1:${server.port}`, 'enforce'));
    dryRun = await countingGuard(POLICY(`127.0.0.1:${server.port}`, 'dry_run'));
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new GroqInstrumentation({ guard });
    inst.patchClient(groqModule as never);
    client = new Groq({ apiKey: 'gsk-test-secret', baseURL: server.url, maxRetries: 2 });
  });
  afterAll(async () => {
    inst.unpatchClient(groqModule as never);
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
    const r = await create('llama-3.3-70b-versatile');
    expect(r.choices[0]!.message.content).toBe('hi');
    expect(guard.evaluations).toBe(1);
    expect(o.spans()).toHaveLength(1);
    const [span] = spans();
    expect(span!.name).toBe('POST 127.0.0.1');
    expect(span!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_groq_chat',
      'checkrd.policy.mode': 'enforce',
      'gen_ai.provider.name': 'groq',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'llama-3.3-70b-versatile',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.path': '/openai/v1/chat/completions',
      'gen_ai.response.model': 'llama-3.3-70b-versatile',
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 1,
    });
    expect(JSON.stringify(span!.attributes)).not.toContain('gsk-test-secret');
  });

  it('a streamed call: its span ends with the stream, with the usage of the final chunk (x_groq.usage)', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-3.1-8b-instant', stream: true, messages: [{ role: 'user', content: 'hello' }] });
    expect(spans()).toHaveLength(0);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('hi there');
    expect(guard.evaluations).toBe(1);
    const ours = spans();
    expect(ours).toHaveLength(1);
    expect(ours[0]!.attributes).toMatchObject({
      'gen_ai.request.model': 'llama-3.1-8b-instant',
      'gen_ai.response.model': 'llama-3.1-8b-instant',
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 2,
      'http.response.status_code': 200,
    });
  });

  it('rejects a denied call at once with PolicyDeniedError: not wrapped, not retried, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await create('openai/gpt-oss-120b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).not.toBeInstanceOf(APIConnectionError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const [span, ...rest] = spans();
    expect(rest).toHaveLength(0);
    expect(span!.status.code).toBe(2);
    expect(span!.attributes).toMatchObject({
      'checkrd.policy.result': 'deny',
      'checkrd.policy.enforced': true,
      'error.type': 'PolicyDeniedError',
      'gen_ai.request.model': 'openai/gpt-oss-120b',
    });
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await create('llama-3.1-8b-instant');
    expect(r.model).toBe('llama-3.1-8b-instant');
    expect(guard.evaluations).toBe(2);
    expect(spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(server.requests.slice(-2).map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
  });

  it('dry_run: a denied call goes through, with the would-be decision on the span', async () => {
    inst.setConfig({ guard: dryRun });
    fetchInst.setConfig({ guard: dryRun });
    try {
      const requests = server.requests.length;
      const r = await create('openai/gpt-oss-120b');
      expect(r.model).toBe('openai/gpt-oss-120b');
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

  it('patching twice wraps once; unpatched, the fetch layer decides instead', async () => {
    inst.patchClient(groqModule as never);
    await create('llama-3.3-70b-versatile');
    expect(guard.evaluations).toBe(1);
    inst.unpatchClient(groqModule as never);
    try {
      o.reset();
      guard.evaluations = 0;
      await create('llama-3.3-70b-versatile');
      expect(guard.evaluations).toBe(1);
      expect(spans()).toHaveLength(0);
      expect(o.spans()).toHaveLength(1);
    } finally {
      inst.patchClient(groqModule as never);
    }
  });

  it('reads x_groq.usage of stream chunks only (in a completion it holds cache statistics)', () => {
    const facts = {};
    groqExtractor({ object: 'chat.completion', model: 'm', usage: { prompt_tokens: 3, completion_tokens: 1 }, x_groq: { id: 'r', usage: { dram_cached_tokens: 9 } } }, facts);
    expect(facts).toEqual({ model: 'm', inputTokens: 3, outputTokens: 1 });
  });

  it('names operations from the SDK paths', () => {
    expect(operationName('/openai/v1/chat/completions')).toBe('chat');
    expect(operationName('/openai/v1/embeddings')).toBe('embeddings');
    expect(operationName('/openai/v1/audio/transcriptions')).toBe('audio');
    expect(operationName('/openai/v1/models')).toBe('models');
    expect(operationName(undefined)).toBe('unknown');
  });
});
