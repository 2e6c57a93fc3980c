/** tapResponse on hand-made Responses: JSON, SSE at every chunking, cancellation, errors, GC, extractors. */
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { trace, type Span } from '@opentelemetry/api';
import { anthropicExtractor, openaiExtractor, tapResponse, type ResponseFacts } from '../src/index.js';
import { MAX_SSE_LINE_BYTES, SseParser } from '../src/sse.js';
import { otel } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const o = otel();
const tracer = trace.getTracer('response-test');
const enc = new TextEncoder();
const dec = new TextDecoder();
const JSON_HEADERS = { 'content-type': 'application/json' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' };

/** A span whose end() calls are counted. */
function countedSpan(name = 'req'): Span & { ends: number } {
  const span = tracer.startSpan(name) as Span & { ends: number };
  span.ends = 0;
  const end = span.end.bind(span);
  span.end = (t) => {
    span.ends++;
    end(t);
  };
  return span;
}

const finished = () => o.spans();
const only = () => {
  const spans = finished();
  expect(spans).toHaveLength(1);
  return spans[0]!;
};

interface Source {
  stream: ReadableStream<Uint8Array>;
  pulls: number;
  cancelReason: unknown;
  cancelled: boolean;
}

/** A stream serving `chunks` one per pull (never ahead: highWaterMark 0), then `fail` or the end. */
function source(chunks: Uint8Array[], opts: { bytes?: boolean; fail?: Error } = {}): Source {
  let i = 0;
  const s: Source = { stream: undefined as never, pulls: 0, cancelReason: undefined, cancelled: false };
  const pull = (c: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) => {
    s.pulls++;
    if (i < chunks.length) c.enqueue(chunks[i++]!.slice() as Uint8Array<ArrayBuffer>);
    else if (opts.fail) c.error(opts.fail);
    else c.close();
  };
  const cancel = (reason: unknown) => {
    s.cancelled = true;
    s.cancelReason = reason;
  };
  s.stream = opts.bytes
    ? new ReadableStream({ type: 'bytes', pull, cancel })
    : new ReadableStream<Uint8Array>({ pull, cancel }, { highWaterMark: 0 });
  return s;
}

async function readAll(stream: ReadableStream<unknown> | null): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of stream as ReadableStream<Uint8Array>) parts.push(c);
  return Buffer.concat(parts);
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
};

/** An OpenAI chat stream with include_usage, mixing line endings, comments, multi-line data, unknown fields. */
const chatStream =
  ': keep-alive\r\n\r\n' +
  'data: {"object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"delta":{"content":"h"}}],"usage":null}\r\n\r\n' +
  'id: 7\nretry: 100\ndata: {"object":"chat.completion.chunk",\ndata: "model":"gpt-4o-2024-08-06","choices":[{"delta":{"content":"é€😀"}}],"usage":null}\n\n' +
  'data:{"object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5}}\r\r' +
  'data: [DONE]\n\n';

describe('tapResponse: JSON bodies', () => {
  beforeEach(() => o.reset());

  it('text(): the caller gets the same text; the span has status, model and usage and ended before text() resolved', async () => {
    const span = countedSpan();
    const body = JSON.stringify(chatCompletion);
    const res = tapResponse(new Response(body, { headers: JSON_HEADERS }), span, openaiExtractor);
    expect(finished()).toHaveLength(0);
    const text = await res.text();
    expect(text).toBe(body);
    expect(span.ends).toBe(1);
    expect(only().attributes).toMatchObject({
      'http.response.status_code': 200,
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 5,
    });
    expect(only().status.code).toBe(0);
    expect(res.bodyUsed).toBe(true);
  });

  it('json(): the caller gets the value the original parsed', async () => {
    const res = tapResponse(new Response(JSON.stringify(chatCompletion), { headers: JSON_HEADERS }), countedSpan(), openaiExtractor);
    expect(await res.json()).toEqual(chatCompletion);
    expect(only().attributes['gen_ai.usage.output_tokens']).toBe(5);
  });

  it('arrayBuffer() and bytes(): same bytes, facts read', async () => {
    const body = JSON.stringify(chatCompletion);
    const a = tapResponse(new Response(body, { headers: JSON_HEADERS }), countedSpan('a'), openaiExtractor);
    expect(dec.decode(await a.arrayBuffer())).toBe(body);
    const b = tapResponse(new Response(body, { headers: JSON_HEADERS }), countedSpan('b'), openaiExtractor);
    expect(dec.decode(await b.bytes())).toBe(body);
    expect(finished().map((s) => s.attributes['gen_ai.usage.input_tokens'])).toEqual([12, 12]);
  });

  it('read from the body stream: same bytes, ended when the stream is done, not before', async () => {
    const body = enc.encode(JSON.stringify(chatCompletion));
    const src = source(splitAt(body, [10, 50, 51, 120]));
    const span = countedSpan();
    const res = tapResponse(new Response(src.stream, { headers: JSON_HEADERS }), span, openaiExtractor);
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      expect(span.ends).toBe(0);
      parts.push(r.value);
    }
    expect(Buffer.concat(parts).equals(Buffer.from(body))).toBe(true);
    expect(span.ends).toBe(1);
    expect(only().attributes['gen_ai.response.model']).toBe('gpt-4o-2024-08-06');
  });

  it('an error status is an error span, ended when the error body has been read', async () => {
    const span = countedSpan();
    const res = tapResponse(new Response('{"error":{"message":"nope"}}', { status: 429, headers: JSON_HEADERS }), span, openaiExtractor);
    expect(span.ends).toBe(0);
    await res.text();
    expect(only().attributes).toMatchObject({ 'http.response.status_code': 429, 'error.type': '429' });
    expect(only().status.code).toBe(2);
  });

  it('a response without a body ends at once', () => {
    const span = countedSpan();
    const res = tapResponse(new Response(null, { status: 204 }), span, openaiExtractor);
    expect(res.body).toBeNull();
    expect(span.ends).toBe(1);
    expect(only().attributes['http.response.status_code']).toBe(204);
  });

  it('json() of a body that is not JSON: the same SyntaxError, the span ends without error', async () => {
    const span = countedSpan();
    const res = tapResponse(new Response('nope', { headers: JSON_HEADERS }), span, openaiExtractor);
    const err = await res.json().catch((e: unknown) => e);
    const plain = await new Response('nope').json().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyntaxError);
    expect((err as Error).message).toBe((plain as Error).message);
    expect(span.ends).toBe(1);
    expect(only().status.code).toBe(0);
  });

  it('no content-type: JSON and SSE are recognised from their first bytes', async () => {
    const a = tapResponse(new Response(source([enc.encode(JSON.stringify(chatCompletion))]).stream), countedSpan('a'), openaiExtractor);
    await readAll(a.body);
    const b = tapResponse(new Response(source([enc.encode(chatStream)]).stream), countedSpan('b'), openaiExtractor);
    await readAll(b.body);
    expect(finished().map((s) => s.attributes['gen_ai.usage.input_tokens'])).toEqual([12, 12]);
  });
});

describe('tapResponse: SSE streams', () => {
  beforeEach(() => o.reset());

  it('split at arbitrary chunk boundaries: the caller reads the same bytes, the span gets the same facts', async () => {
    const bytes = enc.encode(chatStream);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), async (cuts, byteStream) => {
        o.reset();
        const span = countedSpan();
        const src = source(splitAt(bytes, cuts), { bytes: byteStream });
        const res = tapResponse(new Response(src.stream, { headers: SSE_HEADERS }), span, openaiExtractor);
        const read = await readAll(res.body);
        expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
        expect(span.ends).toBe(1);
        expect(only().attributes).toMatchObject({
          'gen_ai.response.model': 'gpt-4o-2024-08-06',
          'gen_ai.usage.input_tokens': 12,
          'gen_ai.usage.output_tokens': 5,
        });
      }),
      { numRuns: 200 },
    );
  });

  it('one byte per chunk: CR and LF of one CRLF in different chunks are one line end', async () => {
    const events: [string, string][] = [];
    const p = new SseParser((e, d) => events.push([e, d]));
    for (const b of enc.encode('event: a\r\ndata: 1\r\n\r\ndata: x\rdata: y\r\rdata: z\n\n')) p.push(Uint8Array.of(b));
    p.end();
    expect(events).toEqual([
      ['a', '1'],
      ['', 'x\ny'],
      ['', 'z'],
    ]);
  });

  it('multi-line data is joined with LF; comments, unknown fields, [DONE] and non-JSON data are ignored', () => {
    const events: unknown[] = [];
    const facts: ResponseFacts = {};
    const res = tapResponse(
      new Response('data: {"model":\ndata: "m1"}\n\n: c\nfoo: bar\ndata: not json\n\ndata: [DONE]\n\n', { headers: SSE_HEADERS }),
      countedSpan(),
      (e, f) => {
        events.push(e);
        openaiExtractor(e, f);
        Object.assign(facts, f);
      },
    );
    return readAll(res.body).then(() => {
      expect(events).toEqual([{ model: 'm1' }]);
      expect(facts.model).toBe('m1');
    });
  });

  it('the SDK flush: an event not followed by a blank line is still seen at the end of the stream', async () => {
    const res = tapResponse(
      new Response('data: {"model":"m","usage":{"prompt_tokens":1,"completion_tokens":2}}', { headers: SSE_HEADERS }),
      countedSpan(),
      openaiExtractor,
    );
    await readAll(res.body);
    expect(only().attributes['gen_ai.usage.output_tokens']).toBe(2);
  });

  it('a line over 1 MiB is skipped, never accumulated; the events around it still count', async () => {
    const seen: string[] = [];
    const p = new SseParser((_e, d) => seen.push(d.slice(0, 20)));
    p.push(enc.encode('data: {"model":"before"}\n\ndata: '));
    const block = new Uint8Array(64 * 1024).fill(0x61);
    let maxBuffered = 0;
    for (let i = 0; i < 40; i++) {
      p.push(block);
      maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
    }
    p.push(enc.encode('\n\ndata: {"model":"after"}\n\n'));
    p.end();
    expect(maxBuffered).toBeLessThanOrEqual(MAX_SSE_LINE_BYTES);
    expect(p.bufferedBytes).toBe(0);
    expect(p.skippedLines).toBe(1);
    expect(seen).toEqual(['{"model":"before"}', '{"model":"after"}']);

    // Through tapResponse: the caller still reads every byte; facts come from the other events.
    const huge = 'data: {"model":"x","pad":"' + 'a'.repeat(MAX_SSE_LINE_BYTES + 10) + '"}\n\n';
    const body = enc.encode(
      'data: {"model":"m","usage":null}\n\n' + huge + 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n',
    );
    const res = tapResponse(new Response(source(splitAt(body, [100, 70_000, 700_000, 1_200_000])).stream, { headers: SSE_HEADERS }), countedSpan(), openaiExtractor);
    expect((await readAll(res.body)).length).toBe(body.length);
    expect(only().attributes).toMatchObject({ 'gen_ai.response.model': 'm', 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 4 });
  });

  it('event data growing over the limit across many data lines is dropped', () => {
    const seen: string[] = [];
    const p = new SseParser((_e, d) => seen.push(d), 100);
    for (let i = 0; i < 20; i++) p.push(enc.encode('data: 0123456789\n'));
    p.push(enc.encode('\ndata: ok\n\n'));
    expect(seen).toEqual(['ok']);
  });

  it('never reads ahead: the original is pulled only when the caller reads', async () => {
    const src = source([enc.encode('data: {"model":"a"}\n\n'), enc.encode('data: {"model":"b"}\n\n')]);
    const res = tapResponse(new Response(src.stream, { headers: SSE_HEADERS }), countedSpan(), openaiExtractor);
    const body = res.body!;
    expect(res.body).toBe(body);
    const reader = body.getReader();
    await new Promise((r) => setTimeout(r, 10));
    expect(src.pulls).toBe(0);
    await reader.read();
    await new Promise((r) => setTimeout(r, 10));
    expect(src.pulls).toBe(1);
  });

  it('cancel (breaking out of a loop): the original is cancelled with the same reason, the span ends once, no error', async () => {
    const src = source([enc.encode('data: {"model":"a","usage":null}\n\n'), enc.encode('data: {"model":"b"}\n\n')]);
    const span = countedSpan();
    const res = tapResponse(new Response(src.stream, { headers: SSE_HEADERS }), span, openaiExtractor);
    const reader = res.body!.getReader();
    await reader.read();
    const reason = new Error('enough');
    await reader.cancel(reason);
    expect(src.cancelReason).toBe(reason);
    expect(span.ends).toBe(1);
    expect(only().attributes['gen_ai.response.model']).toBe('a');
    expect(only().status.code).toBe(0);
    // Nothing ends it again.
    await res.text().catch(() => undefined);
    expect(span.ends).toBe(1);
  });

  it('for await … break cancels through the wrapper', async () => {
    const src = source([enc.encode('data: {"model":"a"}\n\n'), enc.encode('data: {"model":"b"}\n\n')], { bytes: true });
    const span = countedSpan();
    const res = tapResponse(new Response(src.stream, { headers: SSE_HEADERS }), span, openaiExtractor);
    for await (const _ of res.body!) break;
    expect(src.cancelled).toBe(true);
    expect(span.ends).toBe(1);
  });

  it('an error of the original mid-stream: the caller gets the same error, the span ends with it', async () => {
    const boom = new TypeError('terminated');
    const src = source([enc.encode('data: {"model":"a"}\n\n')], { fail: boom });
    const span = countedSpan();
    const res = tapResponse(new Response(src.stream, { headers: SSE_HEADERS }), span, openaiExtractor);
    const err = await readAll(res.body).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(span.ends).toBe(1);
    const s = only();
    expect(s.status).toMatchObject({ code: 2, message: 'terminated' });
    expect(s.attributes['error.type']).toBe('TypeError');
    expect(s.events.map((e) => e.name)).toContain('exception');
    expect(s.attributes['gen_ai.response.model']).toBe('a');
  });

  it('an error event in the stream marks the span as an error (OpenAI and Anthropic shapes)', async () => {
    const cases: [string, string][] = [
      ['data: {"error":{"message":"boom","type":"server_error"}}\n\n', 'server_error'],
      ['event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', 'overloaded_error'],
      ['event: error\ndata: {"type":"error","code":"rate_limit_exceeded","message":"slow down"}\n\n', 'rate_limit_exceeded'],
    ];
    for (const [body, type] of cases) {
      o.reset();
      const res = tapResponse(new Response(body, { headers: SSE_HEADERS }), countedSpan(), openaiExtractor);
      await readAll(res.body);
      expect(only().attributes['error.type']).toBe(type);
      expect(only().status.code).toBe(2);
    }
  });

  it('an extractor that throws changes nothing for the caller', async () => {
    const res = tapResponse(new Response(chatStream, { headers: SSE_HEADERS }), countedSpan(), () => {
      throw new Error('extractor bug');
    });
    expect(dec.decode(await readAll(res.body))).toBe(chatStream);
    expect(finished()).toHaveLength(1);
  });
});

describe('tapResponse: the Response behaves as before', () => {
  beforeEach(() => o.reset());

  it('a byte-stream body stays one: BYOB reads see the same bytes', async () => {
    const bytes = enc.encode(chatStream);
    const res = tapResponse(new Response(bytes, { headers: SSE_HEADERS }), countedSpan(), openaiExtractor);
    const reader = res.body!.getReader({ mode: 'byob' });
    const out: number[] = [];
    for (;;) {
      const r = await reader.read(new Uint8Array(7));
      if (r.done) break;
      out.push(...r.value);
    }
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
    expect(only().attributes['gen_ai.usage.input_tokens']).toBe(12);
  });

  it('body.tee(): both branches read every byte; the span ends once with the facts', async () => {
    const span = countedSpan();
    const res = tapResponse(new Response(source(splitAt(enc.encode(chatStream), [5, 99, 180])).stream, { headers: SSE_HEADERS }), span, openaiExtractor);
    const [a, b] = res.body!.tee();
    const [ra, rb] = await Promise.all([readAll(a), readAll(b)]);
    expect(dec.decode(ra)).toBe(chatStream);
    expect(dec.decode(rb)).toBe(chatStream);
    expect(span.ends).toBe(1);
    expect(only().attributes['gen_ai.usage.output_tokens']).toBe(5);
  });

  it('reading a consumed or locked body fails as it does without instrumentation', async () => {
    const make = () => new Response('{"a":1}', { headers: JSON_HEADERS });
    const attempt = async (res: Response) => {
      const errors: string[] = [];
      res.body!.getReader();
      for (const f of [() => res.text(), () => res.json(), async () => res.clone()]) {
        await f().then(
          () => errors.push('ok'),
          (e: unknown) => errors.push(`${(e as Error).name}: ${(e as Error).message}`),
        );
      }
      return errors;
    };
    const plain = await attempt(make());
    const tapped = await attempt(tapResponse(make(), countedSpan(), openaiExtractor));
    expect(tapped).toEqual(plain);
    expect(plain[0]).toMatch(/TypeError/);

    // After text(), `body` is the original, consumed stream, as without instrumentation.
    const p = make();
    const t = tapResponse(make(), countedSpan(), openaiExtractor);
    await p.text();
    await t.text();
    expect(t.bodyUsed).toBe(p.bodyUsed);
    expect(t.body!.locked).toBe(p.body!.locked);
    expect(() => t.body!.getReader()).toThrow(TypeError);
  });

  it('end() runs once whatever happens after the end: cancel after done, text() after done, a second read', async () => {
    const span = countedSpan();
    const res = tapResponse(new Response(chatStream, { headers: SSE_HEADERS }), span, openaiExtractor);
    const reader = res.body!.getReader();
    while (!(await reader.read()).done);
    await reader.cancel(new Error('late'));
    await res.text().catch(() => undefined);
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(span.ends).toBe(1);
  });

  it('tapping twice composes: both spans end with the facts, the caller reads the same bytes', async () => {
    const outer = countedSpan('outer');
    const innerSpan = countedSpan('inner');
    const res = tapResponse(tapResponse(new Response(chatStream, { headers: SSE_HEADERS }), innerSpan, openaiExtractor), outer, openaiExtractor);
    expect(dec.decode(await readAll(res.body))).toBe(chatStream);
    expect([outer.ends, innerSpan.ends]).toEqual([1, 1]);
    expect(finished().map((x) => x.attributes['gen_ai.usage.input_tokens'])).toEqual([12, 12]);
  });

  it('clone() before reading still works; the original is tracked', async () => {
    const span = countedSpan();
    const res = tapResponse(new Response(JSON.stringify(chatCompletion), { headers: JSON_HEADERS }), span, openaiExtractor);
    void res.body; // the SDKs log `response.body` before reading it
    const copy = res.clone();
    expect(await copy.json()).toEqual(chatCompletion);
    expect(span.ends).toBe(0);
    expect(JSON.parse(dec.decode(await readAll(res.body)))).toEqual(chatCompletion);
    expect(span.ends).toBe(1);
  });
});

describe('tapResponse: bodies nobody reads', () => {
  beforeEach(() => o.reset());

  const tick = () => new Promise((r) => setTimeout(r, 5));
  /** Collects garbage until `done()`. gc() runs in a job of its own: a WeakRef deref'd in a job keeps its target to the job's end. */
  async function collectUntil(done: () => boolean): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await tick();
      gc();
      await tick();
      if (done()) return;
    }
  }

  it('a Response whose body is never touched: the span ends when the Response is garbage-collected', async () => {
    const span = countedSpan('never-touched');
    ((): void => {
      tapResponse(new Response(JSON.stringify(chatCompletion), { headers: JSON_HEADERS }), span, openaiExtractor);
    })();
    expect(span.ends).toBe(0);
    await collectUntil(() => span.ends > 0);
    expect(span.ends).toBe(1);
    // (Responses that earlier tests left unread may be collected here too.)
    const mine = finished().filter((s) => s.name === 'never-touched');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.attributes['http.response.status_code']).toBe(200);
  });

  it('a body taken but dropped unread: the span ends when the body is garbage-collected', async () => {
    const span = countedSpan();
    let keep: Response | undefined = tapResponse(new Response(chatStream, { headers: SSE_HEADERS }), span, openaiExtractor);
    ((r: Response): void => {
      void r.body;
    })(keep);
    keep = undefined;
    await collectUntil(() => span.ends > 0);
    expect(span.ends).toBe(1);
  });

  it('a body being read is not ended by the collection of its Response', async () => {
    const span = countedSpan('being-read');
    const [body, ref] = ((): [ReadableStream<Uint8Array>, WeakRef<Response>] => {
      const res = tapResponse(new Response(chatStream, { headers: SSE_HEADERS }), span, openaiExtractor);
      return [res.body!, new WeakRef(res)];
    })();
    const reader = body.getReader();
    await reader.read();
    await collectUntil(() => ref.deref() === undefined);
    expect(ref.deref()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
    expect(span.ends).toBe(0);
    while (!(await reader.read()).done);
    expect(span.ends).toBe(1);
    expect(finished().find((s) => s.name === 'being-read')!.attributes['gen_ai.usage.input_tokens']).toBe(12);
  });
});

describe('extractors', () => {
  const run = (extract: typeof openaiExtractor, events: unknown[]): ResponseFacts => {
    const facts: ResponseFacts = {};
    for (const e of events) extract(e, facts);
    return facts;
  };

  it('openai: chat completion, stream chunks, embeddings, Responses API', () => {
    expect(run(openaiExtractor, [chatCompletion])).toEqual({ model: 'gpt-4o-2024-08-06', inputTokens: 12, outputTokens: 5 });
    expect(
      run(openaiExtractor, [
        { object: 'chat.completion.chunk', model: 'm', choices: [], usage: null },
        { object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } },
      ]),
    ).toEqual({ model: 'm', inputTokens: 1, outputTokens: 2 });
    expect(run(openaiExtractor, [{ object: 'list', data: [], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } }])).toEqual({
      model: 'text-embedding-3-small',
      inputTokens: 8,
    });
    expect(run(openaiExtractor, [{ object: 'response', model: 'gpt-5', usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 } }])).toEqual({
      model: 'gpt-5',
      inputTokens: 9,
      outputTokens: 4,
    });
    expect(
      run(openaiExtractor, [
        { type: 'response.created', response: { object: 'response', model: 'gpt-5', usage: null } },
        { type: 'response.output_text.delta', delta: 'hi' },
        { type: 'response.completed', response: { object: 'response', model: 'gpt-5', usage: { input_tokens: 9, output_tokens: 4 } } },
      ]),
    ).toEqual({ model: 'gpt-5', inputTokens: 9, outputTokens: 4 });
    expect(run(openaiExtractor, [null, 'x', [1], { usage: { prompt_tokens: 'many' } }])).toEqual({});
  });

  it('anthropic: message JSON and stream events; cached input counts are included', () => {
    expect(
      run(anthropicExtractor, [{ type: 'message', model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 3 } }]),
    ).toEqual({ model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 3 });
    expect(
      run(anthropicExtractor, [
        { type: 'message_start', message: { type: 'message', model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 1 } } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 15 } },
        { type: 'message_stop' },
      ]),
    ).toEqual({ model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 15 });
    expect(
      run(anthropicExtractor, [
        { type: 'message', model: 'c', usage: { input_tokens: 10, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 3 } },
      ]),
    ).toEqual({ model: 'c', inputTokens: 1110, outputTokens: 3 });
    expect(run(anthropicExtractor, [{ type: 'ping' }, { type: 'error', error: { type: 'overloaded_error' } }])).toEqual({});
  });

  it('anthropic stream through tapResponse', async () => {
    o.reset();
    const body =
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":7,"output_tokens":1}}}\n\n' +
      'event: ping\ndata: {"type":"ping"}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n';
    const res = tapResponse(new Response(body, { headers: SSE_HEADERS }), countedSpan(), anthropicExtractor);
    await readAll(res.body);
    expect(only().attributes).toMatchObject({ 'gen_ai.response.model': 'claude-x', 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 9 });
  });
});
