import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as genaiModule from '@google/genai';
import { GoogleGenAI } from '@google/genai';
import { isPolicyDenied, PolicyDeniedError } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '../../fetch/src/index.js';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { GoogleGenAIInstrumentation } from '../src/index.js';

const generated = (model: string) => ({
  candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP', index: 0 }],
  modelVersion: model,
  usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 },
});
const interaction = (model: string) => ({
  id: 'i-1',
  object: 'interaction',
  status: 'completed',
  model,
  role: 'model',
  outputs: [{ type: 'text', text: 'hi' }],
  created: '2026-01-01T00:00:00Z',
  updated: '2026-01-01T00:00:00Z',
});

const policy = (port: number, mode: 'enforce' | 'dry_run') => `
default: deny
mode: ${mode}
rules:
  - name: allow_gemini_flash
    allow:
      method: [POST]
      url: "127.0.0.1:${port}/**/models/gemini-2.0-flash:*"
  - name: allow_interactions
    allow:
      method: [POST]
      url: "127.0.0.1:${port}/*/interactions"
      body:
        - jsonpath: "$.model"
          in: [gemini-2.5-flash]
`;

// Retries on (the SDK's default is none): a denial must still not be retried.
const retryOptions = { attempts: 3, initialDelay: 0.01, maxDelay: 0.02 };

describe('google-genai instrumentation (real @google/genai SDK against a local server)', () => {
  const o = otel();
  let server: TestServer;
  let failNext = 0;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: GoogleGenAIInstrumentation;
  let fetchInst: FetchInstrumentation;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    server = await testServer((req, body, res) => {
      if (failNext > 0) {
        failNext--;
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end('{"error":{"code":500,"message":"boom","status":"INTERNAL"}}');
        return;
      }
      const url = req.url ?? '';
      const model = /models\/([^/:]+):/.exec(url)?.[1] ?? (JSON.parse(body || '{}') as { model?: string }).model ?? 'x';
      if (url.includes(':streamGenerateContent')) {
        res.setHeader('content-type', 'text/event-stream');
        res.end(`data: ${JSON.stringify(generated(model))}\r\n\r\n`);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(url.endsWith('/interactions') ? interaction(model) : generated(model)));
    });
    guard = await countingGuard(policy(server.port, 'enforce'));
    // Both layers active: the vendor layer decides, the fetch layer must not decide again.
    fetchInst = new FetchInstrumentation({ guard });
    inst = new GoogleGenAIInstrumentation({ guard });
    inst.patchClient(genaiModule as never);
    inst.patchClient(genaiModule as never); // idempotent
    ai = new GoogleGenAI({ apiKey: 'gemini-test-secret', httpOptions: { baseUrl: server.url, retryOptions } });
  });
  afterAll(async () => {
    inst.unpatchClient(genaiModule as never);
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
    const r = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hello' });
    expect(r.text).toBe('hi');
    expect(guard.evaluations).toBe(1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe('POST 127.0.0.1');
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'allow_gemini_flash',
      'checkrd.policy.enforced': true,
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.operation.name': 'generate_content',
      'gen_ai.request.model': 'gemini-2.0-flash',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': server.port,
    });
    expect(String(spans[0]!.attributes['url.path'])).toMatch(/\/models\/gemini-2\.0-flash:generateContent$/);
    expect(JSON.stringify(spans[0]!.attributes)).not.toContain('gemini-test-secret');
    expect(server.requests.at(-1)!.headers['x-goog-api-key']).toBe('gemini-test-secret');
  });

  it('rejects a denied call at once with PolicyDeniedError itself, though retries are on: no retry, no connection', async () => {
    const connections = server.connections;
    const requests = server.requests.length;
    const err = await ai.models.generateContent({ model: 'gemini-ultra', contents: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(isPolicyDenied(err)).toBe(true);
    expect((err as PolicyDeniedError).reason).toBe('default_deny');
    expect(guard.evaluations).toBe(1);
    expect(server.connections).toBe(connections);
    expect(server.requests.length).toBe(requests);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.status.code).toBe(2);
    expect(spans[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'gen_ai.request.model': 'gemini-ultra', 'error.type': 'PolicyDeniedError' });
  });

  it('a denial without retries configured (the SDK default) is PolicyDeniedError too', async () => {
    const plain = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: server.url } });
    const err = await plain.models.generateContent({ model: 'gemini-ultra', contents: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyDeniedError);
    expect(guard.evaluations).toBe(1);
  });

  it('decides through a user-supplied httpOptions.fetch, and calls it only for allowed attempts', async () => {
    let fetched = 0;
    const custom = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: server.url, fetch: (input, init) => (fetched++, fetch(input, init)) } });
    expect((await custom.models.generateContent({ model: 'gemini-2.0-flash', contents: 'x' })).text).toBe('hi');
    expect(await custom.models.generateContent({ model: 'gemini-ultra', contents: 'x' }).catch((e: unknown) => e)).toBeInstanceOf(PolicyDeniedError);
    expect(fetched).toBe(1);
    expect(guard.evaluations).toBe(2);
  });

  it('evaluates every retry of an allowed call as a new request', async () => {
    failNext = 1;
    const r = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'x' });
    expect(r.text).toBe('hi');
    expect(guard.evaluations).toBe(2);
    expect(o.spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(o.spans().map((s) => s.attributes['gen_ai.request.model'])).toEqual(['gemini-2.0-flash', 'gemini-2.0-flash']);
  });

  it('dry_run: a denied call passes, with the would-be decision on the span', async () => {
    const dry = await countingGuard(policy(server.port, 'dry_run'));
    inst.setConfig({ guard: dry });
    fetchInst.setConfig({ guard: dry });
    const requests = server.requests.length;
    const r = await ai.models.generateContent({ model: 'gemini-ultra', contents: 'x' });
    expect(r.text).toBe('hi');
    expect(dry.evaluations).toBe(1);
    expect(server.requests.length).toBe(requests + 1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.policy.result': 'deny',
      'checkrd.policy.enforced': false,
      'checkrd.policy.mode': 'dry_run',
      'gen_ai.request.model': 'gemini-ultra',
      'http.response.status_code': 200,
    });
  });

  it('streams: one decision for generateContentStream, the stream left to the caller', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'x' });
    const texts: (string | undefined)[] = [];
    for await (const chunk of stream) texts.push(chunk.text);
    expect(texts).toEqual(['hi']);
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'generate_content', 'gen_ai.request.model': 'gemini-2.0-flash' });
    expect(server.requests.at(-1)!.url).toContain('alt=sse');
  });

  it('names Vertex AI as the provider for a Vertex client', async () => {
    const vertex = new GoogleGenAI({ vertexai: true, apiKey: 'k', httpOptions: { baseUrl: server.url } });
    expect((await vertex.models.generateContent({ model: 'gemini-2.0-flash', contents: 'x' })).text).toBe('hi');
    expect(o.spans()[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'gcp.vertex_ai', 'checkrd.policy.result': 'allow' });
  });

  describe('the NextGen surface (interactions: a Speakeasy client inside @google/genai)', () => {
    it('allows a permitted interaction: one decision, model from the body', async () => {
      const r = await ai.interactions.create({ model: 'gemini-2.5-flash', input: 'hello' });
      expect(r.id).toBe('i-1');
      expect(guard.evaluations).toBe(1);
      expect(o.spans()).toHaveLength(1);
      expect(o.spans()[0]!.attributes).toMatchObject({
        'checkrd.policy.rule': 'allow_interactions',
        'gen_ai.provider.name': 'gcp.gen_ai',
        'gen_ai.operation.name': 'generate_content',
        'gen_ai.request.model': 'gemini-2.5-flash',
        'http.response.status_code': 200,
      });
      expect(JSON.stringify(o.spans()[0]!.attributes)).not.toContain('gemini-test-secret');
    });

    it('rejects a denied interaction with PolicyDeniedError itself, though its default retries cover connection errors', async () => {
      const requests = server.requests.length;
      const err = await ai.interactions.create({ model: 'gemini-ultra', input: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PolicyDeniedError);
      expect(guard.evaluations).toBe(1);
      expect(server.requests.length).toBe(requests);
      expect(o.spans()[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'gen_ai.request.model': 'gemini-ultra' });
    });

    it('evaluates every retry of an allowed interaction', async () => {
      failNext = 1;
      const r = await ai.interactions.create({ model: 'gemini-2.5-flash', input: 'x' });
      expect(r.id).toBe('i-1');
      expect(guard.evaluations).toBe(2);
      expect(o.spans().map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    });
  });
});

describe('google-genai instrumentation: unpatch', () => {
  it('unpatchClient restores the SDK: the fetch layer alone decides (TypeError "fetch failed" for models; a retried connection error for interactions)', async () => {
    const o = otel();
    const server = await testServer();
    const guard = await countingGuard(policy(server.port, 'enforce'));
    const fetchInst = new FetchInstrumentation({ guard });
    const inst = new GoogleGenAIInstrumentation({ guard });
    inst.patchClient(genaiModule as never);
    inst.unpatchClient(genaiModule as never);
    try {
      const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: server.url, retryOptions } });
      const err = await ai.models.generateContent({ model: 'gemini-ultra', contents: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect(isPolicyDenied(err)).toBe(true);
      expect(guard.evaluations).toBe(1);
      expect(o.spans()[0]!.attributes['gen_ai.provider.name']).toBeUndefined();

      guard.evaluations = 0;
      const err2 = await ai.interactions.create({ model: 'gemini-ultra', input: 'x' }, { maxRetries: 1 }).catch((e: unknown) => e);
      expect(err2).not.toBeInstanceOf(PolicyDeniedError);
      expect(isPolicyDenied(err2)).toBe(true);
      expect(guard.evaluations).toBe(2); // the denial was retried as a connection error
      expect(server.requests.length).toBe(0);
    } finally {
      inst.disable();
      fetchInst.disable();
      await server.close();
    }
  });
});
