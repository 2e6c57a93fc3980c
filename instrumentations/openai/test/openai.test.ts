import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as openaiModule from 'openai';
import OpenAI, { APIConnectionError } from 'openai';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '@checkrd/instrumentation-fetch';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { OpenAIInstrumentation } from '../src/index.js';

const completion = (model: string) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

describe('openai instrumentation (real openai SDK against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: OpenAIInstrumentation;
  let fetchInst: FetchInstrumentation;
  let client: OpenAI;

  beforeAll(async () => {
    server = await testServer((_req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.end('{"error":{"message":"boom"}}');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(completion(JSON.parse(body || '{}').model ?? 'x')));
    });
    guard = await countingGuard(`
default: deny
mode: enforce
rules:
  - name: allow_openai_chat
    allow:
      method: [POST]
      url: "127.0.0.1:${server.port}/v1/chat/completions"
      body:
        - jsonpath: "$.model"
          in: [gpt-4o, gpt-4o-mini]
`);
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new OpenAIInstrumentation({ guard });
    inst.patchClient(openaiModule as never);
    client = new OpenAI({ apiKey: 'sk-test-secret', baseURL: `${server.url}/v1`, maxRetries: 2 });
  });
  afterAll(async () => {
    inst.unpatchClient(openaiModule as never);
    inst.disable();
    fetchInst.disable();
    await server.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
    failNext = 0;
  });

  it('allows a permitted call: one decision, one span named as in the seed, GenAI and HTTP attributes', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(r.choices[0]!.message.content).toBe('hi');
    expect(guard.evaluations).toBe(1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe('POST 127.0.0.1');
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_openai_chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'http.response.status_code': 200,
      'server.port': server.port,
    });
    expect(JSON.stringify(spans[0]!.attributes)).not.toContain('sk-test-secret');
  });

  it('rejects a denied call at once with PolicyDeniedError: not wrapped, not retried, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(err).not.toBeInstanceOf(APIConnectionError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const [span] = o.spans();
    expect(span!.status.code).toBe(2);
    expect(span!.attributes['gen_ai.request.model']).toBe('gpt-5');
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    expect(r.model).toBe('gpt-4o-mini');
    expect(guard.evaluations).toBe(2);
    const statuses = o.spans().map((s) => s.attributes['http.response.status_code']);
    expect(statuses).toEqual([500, 200]);
  });
});
