/**
 * Ending a request's span when its response is really finished, with the model and token usage the
 * response reports.
 *
 * `tapResponse(res, span, extract)` instruments the Response in place. It observes exactly what the caller
 * reads and nothing else: no draining, no `clone()`, no read-ahead. Own properties on the Response shadow
 * the prototype's:
 *  - `body`: a ReadableStream wrapping the original, created on first access and cached (the SDKs read
 *    `response.body` more than once). Its pull() reads one chunk of the original only when the caller
 *    asks for one (highWaterMark 0), looks at it (SSE events or JSON bytes) and enqueues the same chunk.
 *    It is a byte stream when the original is one (fetch bodies are), so BYOB readers and `tee()` behave
 *    as before. The span ends when the original is done, errors, or when the caller cancels the wrapper
 *    (which cancels the original with the same reason).
 *  - `text`, `json`, `arrayBuffer`, `bytes`, `blob`, `formData`: call the original, look at the result,
 *    end the span, then resolve with the very same value (or reject with the same error).
 *  - `clone`: refuses, as the original would, once the wrapped body is locked or read.
 *
 * Outcomes: body read to its end → facts recorded, status as the HTTP status said. Read error → the
 * exception is recorded, status error. Cancelled by the caller (breaking out of a stream, an SDK
 * discarding a retried response) → facts so far recorded, no error: the caller chose to stop. A stream
 * event that reports an error (`event: error`, `{"type":"error"}`, `{"error":{…}}`) → status error with
 * the error's type, the span still ends with the stream. `span.end()` runs exactly once.
 *
 * A body nobody ever touches: the Response is registered in a FinalizationRegistry, and the body wrapper
 * is too once it exists; the span ends (with what it has) when the object is garbage-collected. That is
 * the body's real lifetime: undici keeps an unread body's connection until the Response is collected, so
 * the span lasts exactly as long as the exchange holds resources. Touching the body through a method
 * unregisters the Response (the method's promise settles and ends the span); a wrapper that was handed
 * out and then dropped unread ends the span when it is collected. No timer guesses when a caller that
 * still holds the Response will read it (`withResponse()` callers may read much later).
 *
 * Bounded work: SSE lines (and event data) over 1 MiB are skipped, never accumulated; a JSON body is
 * parsed for facts only up to 8 MiB (larger ones still end the span, without facts).
 */
import { diag, SpanStatusCode, type Span } from '@opentelemetry/api';
import * as A from './attributes.js';
import { recordError, recordResponseStatus } from './guard.js';
import { SseParser } from './sse.js';

export { anthropicExtractor, openaiExtractor } from './extractors.js';

export interface ResponseFacts {
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
}

/** Called with each parsed JSON body (non-streaming) or each SSE `data:` JSON object (streaming); fills `facts`. */
export type ResponseExtractor = (event: unknown, facts: ResponseFacts) => void;

/** JSON bodies larger than this are not parsed for facts. */
const MAX_JSON_BYTES = 8 << 20;

type Kind = 'sse' | 'json' | 'other' | 'unknown';

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

function kindOf(contentType: string | null): Kind {
  if (contentType === null) return 'unknown';
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if (media === 'text/event-stream') return 'sse';
  // As the Stainless SDKs decide it.
  if (media.includes('application/json') || media.endsWith('+json')) return 'json';
  return 'other';
}

/** For a response without content-type: what its first bytes look like. */
function sniff(bytes: Uint8Array): Kind {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)) i++;
  if (i === bytes.length) return 'unknown';
  const c = bytes[i];
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) return 'json';
  const head = new TextDecoder().decode(bytes.subarray(i, i + 6));
  if (head.startsWith(':') || head.startsWith('data:') || head.startsWith('event:') || head.startsWith('id:')) return 'sse';
  return 'other';
}

const encoder = new TextEncoder();

/** What is known about one response and its span; holds neither the Response nor its body (see the registry). */
class Tap {
  /** Unregister token for the body wrappers. */
  readonly token: object = {};
  /** Unregister token for the Response while its body is untouched. */
  readonly untouched: object = {};
  readonly #span: Span;
  readonly #extract: ResponseExtractor;
  readonly #facts: ResponseFacts = {};
  #kind: Kind;
  #sse: SseParser | undefined;
  #json: Uint8Array[] | undefined;
  #jsonBytes = 0;
  #jsonOverflow = false;
  #ended = false;

  constructor(span: Span, extract: ResponseExtractor, kind: Kind) {
    this.#span = span;
    this.#extract = extract;
    this.#kind = kind;
  }

  /** A chunk the caller read from the body stream. */
  feed(chunk: unknown): void {
    if (this.#ended) return;
    const bytes =
      chunk instanceof Uint8Array
        ? chunk
        : ArrayBuffer.isView(chunk)
          ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : chunk instanceof ArrayBuffer
            ? new Uint8Array(chunk)
            : typeof chunk === 'string'
              ? encoder.encode(chunk)
              : undefined;
    if (!bytes || bytes.length === 0) return;
    try {
      if (this.#kind === 'unknown') this.#kind = sniff(bytes);
      if (this.#kind === 'sse') {
        (this.#sse ??= new SseParser(this.#onSse)).push(bytes);
      } else if (this.#kind === 'json' && !this.#jsonOverflow) {
        if (this.#jsonBytes + bytes.length > MAX_JSON_BYTES) {
          this.#jsonOverflow = true;
          this.#json = undefined;
        } else {
          // A copy: the chunk's buffer is transferred when it is enqueued into a byte stream.
          (this.#json ??= []).push(bytes.slice());
          this.#jsonBytes += bytes.length;
        }
      }
    } catch (err) {
      diag.debug('checkrd: response tap could not read a chunk', err);
    }
  }

  /** The whole body, as text (from `text()`). */
  readText(text: string): void {
    if (this.#ended) return;
    if (this.#kind === 'json' || (this.#kind === 'unknown' && /^[\s\uFEFF]*[{[]/.test(text))) {
      if (text.length <= MAX_JSON_BYTES) this.#parseJson(text);
    } else if (this.#kind === 'sse' || this.#kind === 'unknown') {
      this.feed(encoder.encode(text));
    }
  }

  /** A parsed JSON value the caller got (from `json()`), or one this tap parsed. */
  accept(value: unknown): void {
    if (this.#ended) return;
    try {
      this.#extract(value, this.#facts);
    } catch (err) {
      diag.debug('checkrd: response extractor failed', err);
    }
  }

  /** The body has been read to its end. */
  complete(): void {
    if (this.#ended) return;
    try {
      if (this.#sse) this.#sse.end();
      else if (this.#json) this.#parseJson(new TextDecoder().decode(concat(this.#json, this.#jsonBytes)));
    } catch (err) {
      diag.debug('checkrd: response tap could not finish reading', err);
    }
    this.finish();
  }

  /** Ends the span once: records facts, and the error if there is one. */
  finish(failure?: { error: unknown }): void {
    if (this.#ended) return;
    this.#ended = true;
    registry.unregister(this.token);
    registry.unregister(this.untouched);
    this.#sse = undefined;
    this.#json = undefined;
    const span = this.#span;
    try {
      const f = this.#facts;
      if (typeof f.model === 'string' && f.model !== '') span.setAttribute(A.ATTR_GEN_AI_RESPONSE_MODEL, f.model);
      const input = count(f.inputTokens);
      if (input !== undefined) span.setAttribute(A.ATTR_GEN_AI_USAGE_INPUT_TOKENS, input);
      const output = count(f.outputTokens);
      if (output !== undefined) span.setAttribute(A.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, output);
      if (failure) recordError(span, failure.error);
    } finally {
      span.end();
    }
  }

  #parseJson(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    this.accept(value);
  }

  readonly #onSse = (event: string, data: string): void => {
    if (data === '[DONE]') return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    this.#streamError(event, value);
    this.accept(value);
  };

  /** An error the server reported inside a 200 stream. */
  #streamError(event: string, value: unknown): void {
    let err: unknown;
    if (isRecord(value) && isRecord(value.error)) err = value.error;
    else if (event === 'error' || (isRecord(value) && value.type === 'error')) err = value;
    if (err === undefined) return;
    const e = isRecord(err) ? err : {};
    const type =
      typeof e.type === 'string' && e.type !== 'error' ? e.type : typeof e.code === 'string' ? e.code : 'stream_error';
    this.#span.setAttribute(A.ATTR_ERROR_TYPE, type);
    this.#span.setStatus({ code: SpanStatusCode.ERROR, ...(typeof e.message === 'string' ? { message: e.message } : {}) });
  }
}

function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Ends the span of a Response (or body wrapper) that was garbage-collected before anyone finished
 * reading it. The held value is the Tap, which references neither.
 */
const registry = new FinalizationRegistry<Tap>((tap) => tap.finish());

interface Wrapped {
  readonly inner: ReadableStream<unknown>;
  readonly outer: ReadableStream<unknown>;
  /** The caller has read from or cancelled the wrapper. */
  started: boolean;
}

interface Sink {
  enqueue(chunk: unknown): void;
  close(): void;
  error(err: unknown): void;
}

/** True if `s` is a byte stream (the probe takes and releases a BYOB reader; it reads nothing). */
function isByteStream(s: ReadableStream<unknown>): boolean {
  try {
    (s as ReadableStream<Uint8Array>).getReader({ mode: 'byob' }).releaseLock();
    return true;
  } catch {
    return false;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The stream was already closed or errored.
  }
}

/** A stream that reads `inner` only when its own reader asks, and shows every chunk to `tap` first. */
function wrapBody(inner: ReadableStream<unknown>, tap: Tap): Wrapped {
  let reader: ReadableStreamDefaultReader<unknown> | undefined;
  let cancelled = false;
  const state = { started: false };

  const step = async (sink: Sink): Promise<void> => {
    state.started = true;
    if (!reader) {
      try {
        reader = inner.getReader();
      } catch (err) {
        // The original is locked by another reader (a misuse the caller would also hit without us).
        sink.error(err);
        return;
      }
    }
    let r: ReadableStreamReadResult<unknown>;
    try {
      r = await reader.read();
    } catch (err) {
      if (cancelled) return;
      tap.finish({ error: err });
      safely(() => sink.error(err));
      return;
    }
    if (cancelled) return;
    if (r.done) {
      tap.complete();
      safely(() => sink.close());
      return;
    }
    tap.feed(r.value);
    try {
      sink.enqueue(r.value);
    } catch (err) {
      // Not a chunk this stream can carry (e.g. a non-byte chunk): the caller gets the error.
      tap.finish({ error: err });
      safely(() => sink.error(err));
    }
  };

  const cancel = (reason: unknown): Promise<void> => {
    state.started = true;
    cancelled = true;
    tap.finish();
    return reader ? reader.cancel(reason) : inner.cancel(reason);
  };

  const outer: ReadableStream<unknown> = isByteStream(inner)
    ? new ReadableStream({
        type: 'bytes',
        pull: (c: ReadableByteStreamController) =>
          step({
            enqueue: (chunk) => c.enqueue(chunk as Uint8Array<ArrayBuffer>),
            close: () => {
              c.close();
              // A pending BYOB read is answered "done" only by respond(0) after close().
              c.byobRequest?.respond(0);
            },
            error: (err) => c.error(err),
          }),
        cancel,
      })
    : new ReadableStream<unknown>({ pull: (c) => step(c), cancel }, { highWaterMark: 0 });

  return {
    inner,
    outer,
    get started() {
      return state.started;
    },
  };
}

function findGetter(obj: object, key: PropertyKey): ((this: unknown) => unknown) | undefined {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d.get ?? (() => d.value as unknown);
  }
  return undefined;
}

const isStream = (v: unknown): v is ReadableStream<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as ReadableStream).getReader === 'function';

type Reader = 'text' | 'json' | 'arrayBuffer' | 'bytes' | 'blob' | 'formData';

/**
 * Instruments `res` in place and returns it: the span gets the status now, and ends (with model and
 * usage) when the body has been consumed, or errors, or is cancelled. Never reads a byte the caller
 * does not read (no draining, no clone), never changes what the caller reads.
 */
export function tapResponse(res: Response, span: Span, extract: ResponseExtractor): Response {
  let tap: Tap;
  try {
    recordResponseStatus(span, res.status);
    tap = new Tap(span, extract, kindOf(res.headers.get('content-type')));
  } catch (err) {
    diag.debug('checkrd: could not tap the response', err);
    span.end();
    return res;
  }
  let getBody: ((this: unknown) => unknown) | undefined;
  let initial: unknown;
  try {
    getBody = findGetter(res, 'body');
    initial = getBody?.call(res);
  } catch {
    getBody = undefined;
  }
  if (!getBody || !isStream(initial)) {
    // No body (204, HEAD, …): the response is complete with its headers.
    tap.complete();
    return res;
  }
  try {
    instrument(res, tap, getBody);
  } catch (err) {
    // A frozen or exotic Response: nothing can be observed; don't leave the span open.
    diag.debug('checkrd: could not tap the response', err);
    tap.finish();
  }
  return res;
}

function instrument(res: Response, tap: Tap, getBody: (this: unknown) => unknown): void {
  let wrapped: Wrapped | undefined;
  /** Read through text()/json()/…: `body` is the original from then on. */
  let viaMethod = false;
  const touch = () => registry.unregister(tap.untouched);
  const consumed = () => wrapped !== undefined && (wrapped.outer.locked || wrapped.started);
  const target = res as unknown as Record<string, unknown>;

  Object.defineProperty(res, 'body', {
    configurable: true,
    enumerable: false,
    get(this: unknown) {
      const inner = getBody.call(res);
      if (this !== res || viaMethod || !isStream(inner)) return inner;
      // The original changes only by clone() (which tees it), and only while the wrapper is unread.
      if (wrapped?.inner !== inner) {
        touch();
        wrapped = wrapBody(inner, tap);
        registry.register(wrapped.outer, tap, tap.token);
      }
      return wrapped.outer;
    },
  });

  const shadow = (name: Reader, look: (value: unknown) => void) => {
    const original = target[name];
    if (typeof original !== 'function') return;
    Object.defineProperty(res, name, {
      configurable: true,
      enumerable: false,
      writable: true,
      value: function (this: unknown, ...args: unknown[]): unknown {
        if (this !== res) return Reflect.apply(original, this, args);
        // The same refusal the original gives for a locked or disturbed body.
        if (consumed()) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
        touch();
        viaMethod = true;
        let result: unknown;
        try {
          result = Reflect.apply(original, res, args);
        } catch (err) {
          tap.finish({ error: err });
          throw err;
        }
        if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
          tap.complete();
          return result;
        }
        return Promise.resolve(result).then(
          (value: unknown) => {
            look(value);
            tap.complete();
            return value;
          },
          (err: unknown) => {
            // json() of a body that is not JSON: the body was read; that is the caller's parse error.
            if (err instanceof SyntaxError) tap.complete();
            else tap.finish({ error: err });
            throw err;
          },
        );
      },
    });
  };
  shadow('text', (v) => {
    if (typeof v === 'string') tap.readText(v);
  });
  shadow('json', (v) => tap.accept(v));
  shadow('arrayBuffer', (v) => {
    if (v instanceof ArrayBuffer) tap.feed(v);
  });
  shadow('bytes', (v) => {
    if (v instanceof Uint8Array) tap.feed(v);
  });
  shadow('blob', () => undefined);
  shadow('formData', () => undefined);

  const clone = target.clone;
  if (typeof clone === 'function') {
    Object.defineProperty(res, 'clone', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: function (this: unknown, ...args: unknown[]): unknown {
        if (this === res && consumed()) throw new TypeError('Response.clone: Body has already been consumed.');
        return Reflect.apply(clone, this, args);
      },
    });
  }

  registry.register(res, tap, tap.untouched);
}
