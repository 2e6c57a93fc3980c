/**
 * The span of an allowed openai request ends when its response is finished, with the response model and
 * usage — real openai SDK against a local server serving JSON and SSE chat completions. Streams are
 * observed, never drained: every behaviour is compared with the same call made without instrumentation.
 */
import type http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as openaiModule from 'openai';
import OpenAI from 'openai';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { OpenAIInstrumentation } from '../src/index.js';

const MODEL = 'gpt-4o-2024-08-06';
type Scenario = 'normal' | 'slow-json' | 'endless' | 'die' | 'error-event';

const chunk = (content: string | null, usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null = null) => ({
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 1,
  model: MODEL,
  choices: content === null ? [] : [{ index: 0, delta: { content }, finish_reason: null }],
  usage,
});
const CONTENT = ['He', 'llo', ', wör', 'ld 😀'];
const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
const eventsFor = (includeUsage: boolean) => [...CONTENT.map((c) => chunk(c)), ...(includeUsage ? [chunk(null, USAGE)] : [])];

const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

interface Exchange {
  sent: Buffer[];
  /** Set when the server's response closes: true if it closed before the server finished it. */
  aborted?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('openai: the span ends when the response is finished (real SDK, local server)', () => {
  const o = otel();
  let server: TestServer;
  let scenario: Scenario = 'normal';
  const exchanges: Exchange[] = [];
  let inst: OpenAIInstrumentation;
  let client: OpenAI;

  const respond = (_req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
    const ex: Exchange = { sent: [] };
    exchanges.push(ex);
    res.on('close', () => (ex.aborted = !res.writableFinished));
    const write = (s: string) => {
      const b = Buffer.from(s);
      ex.sent.push(b);
      res.write(b);
    };
    const params = JSON.parse(body || '{}') as { stream?: boolean; stream_options?: { include_usage?: boolean } };
    if (!params.stream) {
      const json = JSON.stringify(completion);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (scenario === 'slow-json') {
        // Headers now, the body 150 ms later: the span must cover the body.
        write(json.slice(0, 20));
        setTimeout(() => {
          write(json.slice(20));
          res.end();
        }, 150);
      } else {
        write(json);
        res.end();
      }
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const events = eventsFor(params.stream_options?.include_usage === true);
    void (async () => {
      if (scenario === 'endless') {
        for (let i = 0; i < 500 && !res.destroyed; i++) {
          write(`data: ${JSON.stringify(chunk(String(i)))}\n\n`);
          await sleep(10);
        }
        res.end();
        return;
      }
      for (const [i, e] of events.entries()) {
        if (res.destroyed) return;
        if (scenario === 'die' && i === 2) {
          res.socket?.destroy();
          return;
        }
        if (scenario === 'error-event' && i === 2) {
          write('data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}\n\n');
          res.end();
          return;
        }
        // Odd line endings and split writes: the caller must still get exactly these bytes.
        write(i % 2 ? `data: ${JSON.stringify(e)}\r\n\r\n` : `data: ${JSON.stringify(e)}\n\n`);
        await sleep(2);
      }
      write('data: [DONE]\n\n');
      res.end();
    })();
  };

  /** Runs `fn` with the openai client unpatched: the baseline every behaviour is compared with. */
  async function plain<T>(fn: () => Promise<T>): Promise<T> {
    inst.unpatchClient(openaiModule as never);
    try {
      return await fn();
    } finally {
      inst.patchClient(openaiModule as never);
    }
  }

  const create = (stream: true, includeUsage = true) =>
    client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
      stream,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    });

  async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  }

  const errorShape = (e: unknown) => ({ name: (e as Error)?.constructor?.name, message: (e as Error)?.message });

  async function closed(ex: Exchange): Promise<boolean | undefined> {
    for (let i = 0; i < 200 && ex.aborted === undefined; i++) await sleep(10);
    return ex.aborted;
  }

  const only = (): ReadableSpan => {
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    return spans[0]!;
  };

  const durationMs = (s: ReadableSpan) => s.duration[0] * 1e3 + s.duration[1] / 1e6;

  beforeAll(async () => {
    server = await testServer(respond);
    const guard = await countingGuard(`
default: deny
mode: enforce
rules:
  - name: allow_chat
    allow:
      method: [POST]
      url: "127.0.0.1:${server.port}/v1/chat/completions"
`);
    inst = new OpenAIInstrumentation({ guard });
    inst.patchClient(openaiModule as never);
    client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    inst.unpatchClient(openaiModule as never);
    inst.disable();
    await server.close();
  });
  beforeEach(() => {
    o.reset();
    scenario = 'normal';
    exchanges.length = 0;
  });

  it('non-streaming: ended after the body was read (not at headers), with response model, usage and status', async () => {
    scenario = 'slow-json';
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(r).toMatchObject(completion);
    // Ended by the time the result resolved.
    const span = only();
    expect(span.attributes).toMatchObject({
      'http.response.status_code': 200,
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': MODEL,
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 1,
    });
    expect(durationMs(span)).toBeGreaterThanOrEqual(140);
    expect(span.status.code).toBe(0);
  });

  it('streaming with include_usage: the raw body is byte for byte what the server sent; the SDK yields the same chunks as without instrumentation', async () => {
    const res = await create(true).asResponse();
    const parts: Uint8Array[] = [];
    for await (const c of res.body as ReadableStream<Uint8Array>) parts.push(c);
    expect(Buffer.concat(parts).equals(Buffer.concat(exchanges[0]!.sent))).toBe(true);
    expect(only().attributes).toMatchObject({ 'gen_ai.response.model': MODEL, 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 7 });

    o.reset();
    const chunks = await collect(await create(true));
    const baseline = await plain(async () => collect(await create(true)));
    expect(chunks).toEqual(eventsFor(true));
    expect(chunks).toEqual(baseline);
  });

  it('the span ends only when the stream is exhausted, and then has the usage', async () => {
    const stream = await create(true);
    const it = stream[Symbol.asyncIterator]();
    let n = 0;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      n++;
      // The usage chunk itself has been delivered: the stream is not over until [DONE] and its end.
      expect(o.spans()).toHaveLength(0);
    }
    expect(n).toBe(CONTENT.length + 1);
    const span = only();
    expect(span.attributes).toMatchObject({
      'http.response.status_code': 200,
      'gen_ai.response.model': MODEL,
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 7,
    });
    expect(span.status.code).toBe(0);
  });

  it('without include_usage: the span ends at the end of the stream with the model and no usage', async () => {
    await collect(await create(true, false));
    const span = only();
    expect(span.attributes['gen_ai.response.model']).toBe(MODEL);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
  });

  it('stream.tee(): both halves yield every chunk, as without instrumentation; one span with usage', async () => {
    const run = async () => {
      const [a, b] = (await create(true)).tee();
      const left = await collect(a);
      const right = await collect(b);
      return { left, right };
    };
    const tapped = await run();
    expect(tapped.left).toEqual(eventsFor(true));
    expect(tapped.right).toEqual(eventsFor(true));
    expect(only().attributes['gen_ai.usage.output_tokens']).toBe(7);
    expect(await plain(run)).toEqual(tapped);

    // Both halves read concurrently.
    o.reset();
    const [a, b] = (await create(true)).tee();
    const [l, r] = await Promise.all([collect(a), collect(b)]);
    expect(l).toEqual(eventsFor(true));
    expect(r).toEqual(eventsFor(true));
    expect(only().attributes['gen_ai.usage.input_tokens']).toBe(11);
  });

  it('iterating the same stream twice behaves exactly as without instrumentation', async () => {
    const run = async () => {
      const stream = await create(true);
      const first = await collect(stream);
      const second = await collect(stream).then(
        (v) => ({ ok: v }),
        (e: unknown) => ({ error: errorShape(e) }),
      );
      return { first, second };
    };
    const tapped = await run();
    expect(only().attributes['gen_ai.usage.output_tokens']).toBe(7);
    const baseline = await plain(run);
    expect(tapped).toEqual(baseline);
    expect(tapped.first).toEqual(eventsFor(true));
  });

  it('breaking out early ends the span; the server sees the request aborted, as without instrumentation', async () => {
    scenario = 'endless';
    const run = async () => {
      const stream = await create(true);
      const seen: unknown[] = [];
      for await (const c of stream) {
        seen.push(c);
        if (seen.length === 2) break;
      }
      return { seen, aborted: await closed(exchanges[exchanges.length - 1]!) };
    };
    const tapped = await run();
    const span = only();
    expect(span.attributes['gen_ai.response.model']).toBe(MODEL);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(span.status.code).toBe(0);
    expect(tapped.aborted).toBe(true);
    expect(await plain(run)).toEqual(tapped);
  });

  it('stream.controller.abort() mid-stream ends the span', async () => {
    scenario = 'endless';
    const stream = await create(true);
    const seen: unknown[] = [];
    for await (const c of stream) {
      seen.push(c);
      if (seen.length === 1) stream.controller.abort();
    }
    expect(await closed(exchanges[0]!)).toBe(true);
    for (let i = 0; i < 100 && o.spans().length === 0; i++) await sleep(5);
    expect(o.spans()).toHaveLength(1);
  });

  it('the server dying mid-stream: the caller gets the same error as without instrumentation; the span ends with an error', async () => {
    scenario = 'die';
    const run = async () => {
      const stream = await create(true);
      const seen: unknown[] = [];
      const err = await (async () => {
        for await (const c of stream) seen.push(c);
      })().then(
        () => undefined,
        (e: unknown) => errorShape(e),
      );
      return { seen, err };
    };
    const tapped = await run();
    expect(tapped.err).toBeDefined();
    expect(tapped.seen).toHaveLength(2);
    const span = only();
    expect(span.status.code).toBe(2);
    expect(span.attributes['error.type']).toBeDefined();
    expect(span.attributes['http.response.status_code']).toBe(200);
    expect(await plain(run)).toEqual(tapped);
  });

  it('an error event mid-stream: the SDK throws as without instrumentation; the span ends with an error status', async () => {
    scenario = 'error-event';
    const run = async () => {
      const stream = await create(true);
      return collect(stream).then(
        () => undefined,
        (e: unknown) => errorShape(e),
      );
    };
    const tapped = await run();
    expect(tapped).toMatchObject({ name: 'APIError' });
    const span = only();
    expect(span.status.code).toBe(2);
    expect(span.attributes['error.type']).toBe('server_error');
    expect(await plain(run)).toEqual(tapped);
  });
});
