/**
 * One guarded request: the real ClientRequest, constructed with its connection held (connection.ts),
 * decided once, then connected or failed.
 *
 * When the decision is made:
 * - the policy reads bodies (`engine.needsBody`): at `end()`, when the body is known; or as soon as the
 *   writes pass the body limit (or cannot be read), with the body unavailable — the writes so far are
 *   replayed and the rest streams through. Until then `write()` keeps the chunk, calls back at once and
 *   returns true, so a writer that waits for callbacks or 'drain' keeps writing up to `end()`.
 * - otherwise: on the next tick (after headers set right after `http.request()` returns); writes made
 *   before then wait in the request's own buffer, as for any request still waiting for a socket.
 * - a request that is already ended when the constructor returns (`http.get`): at once.
 * A request destroyed before it is decided is not decided: it fails as Node fails a destroyed request
 * that never got a socket ('error' unless aborted, then 'close'). A held request that expects
 * 100-continue gets its 'continue' from us (expect.ts).
 */
import { context, diag, trace, type Span, type Tracer } from '@opentelemetry/api';
import { guardRequest, type Guard } from '@checkrd/instrumentation-common';
import type { Agent, ClientRequest } from 'node:http';
import { HeldBody } from './body.js';
import { failHeld, holdConnection } from './connection.js';
import { dropNextContinue, expectsContinue } from './expect.js';
import { option, readArgs, requestHeaders, requestPort, requestUrl, type CallShape } from './facts.js';
import type { BodyFacts, ClientRequestInternals, CoreHttpModule, RequestFn, Scheme } from './internal-types.js';
import { endSpanWithRequest } from './span.js';

export interface RequestGuard {
  tracer: Tracer;
  guard: Guard;
  scheme: Scheme;
  module: CoreHttpModule;
}

/** Requests already guarded (a patched function calling another would otherwise decide twice). */
const guarded = new WeakSet<ClientRequest>();

type Method = (this: ClientRequest, ...args: unknown[]) => unknown;

let warnedUnheld = false;

/** Calls `original(...args)` with the connection held and the decision deferred as above. */
export function guardedRequest(g: RequestGuard, self: unknown, original: RequestFn, args: unknown[]): ClientRequest {
  let shape: CallShape;
  try {
    shape = readArgs(args);
  } catch {
    return original.apply(self, args); // an invalid URL: Node throws the same error
  }
  const defaultAgent =
    g.scheme === 'https' ? g.module.globalAgent : ((option(shape, '_defaultAgent') as Agent | undefined) || g.module.globalAgent);
  const hold = holdConnection(args, shape, defaultAgent);
  const req = hold.construct((a) => original.apply(self, a));
  if (guarded.has(req)) return req;
  guarded.add(req);
  const parent = context.active();
  const { guard, tracer } = g;

  const facts = (body: BodyFacts) => ({
    method: req.method,
    url: requestUrl(req, requestPort(shape, (req as unknown as ClientRequestInternals).agent)),
    headers: requestHeaders(req, shape),
    ...body,
  });

  if (!hold.caught) {
    // The agent could not be held (not extensible): decide now, before the socket is assigned on the
    // next tick, from what is known; a body cannot be waited for, so body conditions fail closed.
    if (!warnedUnheld) {
      warnedUnheld = true;
      diag.warn('checkrd: http instrumentation could not hold the connection of a request (agent not extensible); deciding it at once');
    }
    const body = guard.engine.needsBody && !req.writableEnded ? { bodyUnavailable: true } : {};
    try {
      const { span } = context.with(parent, () => guardRequest(tracer, guard, facts(body)));
      endSpanWithRequest(req, span);
    } catch (err) {
      req.destroy(err as Error);
    }
    return req;
  }

  // Our own-property overrides on the request while it is undecided.
  const installed = new Map<string, Method>();
  const inherited = (name: string) => Reflect.get(Object.getPrototypeOf(req) as object, name, req) as Method;
  const install = (name: string, fn: Method) => {
    Object.defineProperty(req, name, { value: fn, configurable: true, writable: true, enumerable: false });
    installed.set(name, fn);
  };
  const uninstall = () => {
    // Last installed first: V8 undoes the shape transitions instead of turning the request into a dictionary.
    for (const [name, fn] of [...installed].reverse()) {
      // Leave it if someone wrapped over it: it passes through once settled.
      if (Object.getOwnPropertyDescriptor(req, name)?.value === fn) delete (req as unknown as Record<string, unknown>)[name];
    }
    installed.clear();
  };
  let settled = false;
  let answeredContinue = false;

  /** Decides once; `replay` re-issues the held writes (and the end) against the real request. */
  const settle = <T>(body: BodyFacts, replay: () => T): T => {
    settled = true;
    uninstall();
    if (req.destroyed) {
      // Destroyed where we could not see it (an already-aborted signal in the constructor): no decision.
      failHeld(req);
      return replay();
    }
    let span: Span;
    try {
      ({ span } = context.with(parent, () => guardRequest(tracer, guard, facts(body))));
    } catch (denied) {
      try {
        return replay(); // the request records what was written, as a request whose connection failed
      } finally {
        failHeld(req, denied);
      }
    }
    endSpanWithRequest(req, span);
    if (answeredContinue) dropNextContinue(req);
    try {
      context.with(trace.setSpan(parent, span), () => hold.release());
    } catch (err) {
      failHeld(req, err);
    }
    return replay();
  };

  const replayWrites = (writes: HeldBody['writes']) => {
    let ret = true;
    const write = inherited('write');
    for (const w of writes) ret = write.call(req, w.chunk, w.encoding, w.callback) as boolean;
    return ret;
  };

  install('destroy', function (this: ClientRequest, err?: unknown) {
    if (settled) return inherited('destroy').call(this, err);
    settled = true;
    uninstall();
    inherited('destroy').call(this, err); // marks it destroyed with its error; there is no socket to destroy
    failHeld(this);
    return this;
  });

  if (req.destroyed || req.writableEnded) {
    settle({}, () => undefined);
    return req;
  }

  if (!guard.engine.needsBody) {
    process.nextTick(() => {
      if (!settled) settle({}, () => undefined);
    });
    return req;
  }

  process.nextTick(() => {
    if (!settled && !req.destroyed && expectsContinue(req)) {
      answeredContinue = true;
      req.emit('continue');
    }
  });
  const body = new HeldBody(guard.engine.bodyLimit);
  install('write', function (this: ClientRequest, chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (settled) return inherited('write').call(this, chunk, encoding, callback);
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    // Not a chunk Node accepts: let Node throw its own error.
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return inherited('write').call(this, chunk, encoding, callback);
    const cb = typeof callback === 'function' ? (callback as (err?: Error | null) => void) : undefined;
    body.keep(chunk, encoding, undefined);
    if (!body.exhausted) {
      if (cb) process.nextTick(cb);
      return true;
    }
    body.writes[body.writes.length - 1]!.callback = cb;
    return settle(body.facts(), () => replayWrites(body.writes));
  });
  install('end', function (this: ClientRequest, chunk?: unknown, encoding?: unknown, callback?: unknown) {
    if (settled) return inherited('end').call(this, chunk, encoding, callback);
    const last = typeof chunk === 'function' ? undefined : chunk;
    const enc = typeof chunk === 'function' || typeof encoding === 'function' ? undefined : encoding;
    if (last) {
      if (typeof last !== 'string' && !(last instanceof Uint8Array)) return inherited('end').call(this, chunk, encoding, callback);
      body.read(last, enc);
    }
    settle(body.facts(), () => {
      replayWrites(body.writes);
      inherited('end').call(this, chunk, encoding, callback);
    });
    return this;
  });
  return req;
}
