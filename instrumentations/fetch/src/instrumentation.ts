/**
 * fetch and undici: an undici dispatcher interceptor on the global dispatcher (the one Node's built-in
 * fetch and the undici package both use, kept on globalThis under Symbol.for('undici.globalDispatcher.1')).
 * The interceptor is composed onto Node's own bundled dispatcher: importing the npm undici package here
 * would install its Agent under the built-in fetch, which upstream reports break (undici #5500, #5858).
 * Diagnostics channels observe requests but cannot stop them; an interceptor runs before the connection is made and can fail the request instead of dispatching it,
 * so a denied request never opens a socket. fetch then rejects with TypeError('fetch failed',
 * { cause: PolicyDeniedError }) — `isPolicyDenied(err)` looks through the cause.
 */
import { context, trace, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { endWithError, endWithStatus, guardRequest, isDecided, resolveGuard, type Guard } from '@checkrd/instrumentation-common';
import type { Dispatcher } from 'undici';
import { peekBody, type DispatchBody } from './body.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface FetchInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/**
 * The global dispatchers: Symbol.for('undici.globalDispatcher.1') is the one Node's bundled fetch uses
 * (and undici 6/7); undici 8 keeps its own under '.2' and, when it is first imported, also replaces '.1'.
 * Each one present is wrapped; enable() is idempotent and re-wraps a dispatcher that replaced ours, so
 * calling it again after importing undici 8 restores the guard.
 */
const SYMBOLS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];

type Handler = Dispatcher.DispatchHandler & Record<string, unknown>;
type DispatchFn = (opts: Dispatcher.DispatchOptions, handler: Handler) => boolean;
const ORIGINALS = Symbol.for('checkrd.fetch.originals.v1');
const g = globalThis as unknown as Record<symbol, unknown>;
type Originals = Map<symbol, { original: Dispatcher; composed: Dispatcher }>;
const originals = (): Originals => ((g[ORIGINALS] as Originals | undefined) ?? (g[ORIGINALS] = new Map()) as Originals);

export class FetchInstrumentation extends InstrumentationBase<FetchInstrumentationConfig> {
  constructor(config: FetchInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [];
  }

  /** The instrumentation's tracer (for the interceptor). */
  get decisionTracer() {
    return this.tracer;
  }

  override enable(): void {
    // Load Node's bundled undici (synchronously) so that its global dispatcher exists to be wrapped.
    if (!g[SYMBOLS[0]!]) new Response('');
    const map = originals();
    for (const sym of SYMBOLS) {
      const current = g[sym] as Dispatcher | undefined;
      if (!current || typeof current.compose !== 'function') continue;
      if (map.get(sym)?.composed === current) continue;
      // compose() calls the interceptor at once; enable() may run inside InstrumentationBase's constructor.
      const composed = current.compose((dispatch) => intercept(this, dispatch as unknown as DispatchFn));
      map.set(sym, { original: current, composed });
      g[sym] = composed;
    }
  }

  override disable(): void {
    const map = originals();
    for (const [sym, { original, composed }] of map) {
      if (g[sym] === composed) g[sym] = original;
    }
    map.clear();
  }
}

function intercept(inst: FetchInstrumentation, dispatch: DispatchFn): DispatchFn {
  return (opts, handler) => {
    const guard = resolveGuard(inst.getConfig().guard, 'fetch');
    if (!guard) return dispatch(opts, handler);
    const origin = typeof opts.origin === 'string' ? opts.origin : (opts.origin?.toString() ?? '');
    const url = origin.replace(/\/$/, '') + (opts.path ?? '/');
    const method = opts.method ?? 'GET';
    if (isDecided(url, method)) return dispatch(opts, handler);
    const headers = headerRecord(opts.headers);
    const decideAndSend = (bodyFacts: Uint8Array | string | undefined | 'too_large', body: DispatchBody) => {
      let span: Span;
      try {
        ({ span } = guardRequest(inst.decisionTracer, guard, {
          method,
          url,
          headers,
          ...(bodyFacts === 'too_large' ? { bodyUnavailable: true } : bodyFacts !== undefined ? { body: bodyFacts } : {}),
        }));
      } catch (denied) {
        fail(handler, denied);
        return true;
      }
      const next = { ...opts, body } as Dispatcher.DispatchOptions;
      return context.with(trace.setSpan(context.active(), span), () => dispatch(next, wrapHandler(handler, span)));
    };
    if (!guard.engine.needsBody || opts.body == null || typeof opts.body === 'string' || opts.body instanceof Uint8Array) {
      const b = opts.body as DispatchBody;
      return decideAndSend(b == null ? undefined : typeof b === 'string' || b instanceof Uint8Array ? b : 'too_large', b);
    }
    peekBody(opts.body as DispatchBody, guard.engine.bodyLimit).then(
      (p) => decideAndSend(p.facts, p.body),
      (err: unknown) => fail(handler, err),
    );
    return true;
  };
}

function headerRecord(h: Dispatcher.DispatchOptions['headers']): [string, string][] {
  const out: [string, string][] = [];
  if (!h) return out;
  if (Array.isArray(h)) {
    // flat [name, value, name, value, …]
    for (let i = 0; i + 1 < h.length; i += 2) out.push([String(h[i]), String(h[i + 1])]);
    return out;
  }
  if (typeof (h as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [n, v] of h as Iterable<[string, string | string[]]>) for (const x of ([] as string[]).concat(v)) out.push([n, x]);
    return out;
  }
  for (const [n, v] of Object.entries(h as Record<string, string | string[] | undefined>)) {
    if (v === undefined) continue;
    for (const x of ([] as string[]).concat(v)) out.push([n, x]);
  }
  return out;
}

const noopController = { abort() {}, pause() {}, resume() {}, aborted: false, paused: false, reason: null };

/** Fails the request without dispatching it: no connection is made. */
function fail(handler: Handler, err: unknown): void {
  if (typeof handler.onResponseError === 'function') (handler.onResponseError as (c: unknown, e: unknown) => void)(noopController, err);
  else if (typeof handler.onError === 'function') (handler.onError as (e: unknown) => void)(err);
}

/** Forwards every callback, ending the span with the response status, or the error. */
function wrapHandler(handler: Handler, span: Span): Handler {
  let ended = false;
  let status = 0;
  const end = (f: () => void) => {
    if (!ended) {
      ended = true;
      f();
    }
  };
  return new Proxy(handler, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'onResponseStart':
          return (controller: unknown, code: number, ...rest: unknown[]) => {
            status = code;
            return (value as (...a: unknown[]) => unknown).call(target, controller, code, ...rest);
          };
        case 'onHeaders':
          return (code: number, ...rest: unknown[]) => {
            status = code;
            return (value as (...a: unknown[]) => unknown).call(target, code, ...rest);
          };
        case 'onResponseEnd':
        case 'onComplete':
          return (...args: unknown[]) => {
            end(() => endWithStatus(span, status));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        case 'onResponseError':
        case 'onError':
          return (...args: unknown[]) => {
            end(() => endWithError(span, args[args.length - 1]));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        default:
          return (value as (...a: unknown[]) => unknown).bind(target);
      }
    },
  });
}
