/**
 * "This request was already decided": set by the outermost instrumentation that evaluated a request
 * (a vendor SDK's), read by the ones below it (fetch, node:http), so every outbound request gets exactly
 * one decision. Kept on globalThis so that duplicate copies of this package share it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Decision } from '@checkrd/core';

export interface DecidedContext {
  decision: Decision;
  /** Which instrumentation decided, e.g. "openai". */
  by: string;
  /**
   * The request that was decided (absolute URL and method). When given, a lower layer skips only that
   * request: a redirect to another URL made while the mark is set is decided again.
   */
  url?: string;
  method?: string;
}

/** True when the request at `url` with `method` is the one an outer layer already decided. */
export function isDecided(url: string, method: string): boolean {
  const ctx = storage.getStore();
  if (!ctx) return false;
  if (ctx.url === undefined) return true;
  return sameRequest(ctx.url, url) && (ctx.method === undefined || ctx.method.toUpperCase() === method.toUpperCase());
}

function sameRequest(a: string, b: string): boolean {
  const ua = URL.parse(a);
  const ub = URL.parse(b);
  return !!ua && !!ub && ua.origin === ub.origin && ua.pathname === ub.pathname && ua.search === ub.search;
}

const KEY = Symbol.for('checkrd.decided.v1');
const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<DecidedContext> | undefined>;
const storage: AsyncLocalStorage<DecidedContext> = (g[KEY] ??= new AsyncLocalStorage<DecidedContext>());

/** Runs `fn` with the request marked as decided; async work it starts inherits the mark. */
export function runDecided<T>(ctx: DecidedContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The decision an outer instrumentation already made for the request being sent, if any. */
export function currentDecided(): DecidedContext | undefined {
  return storage.getStore();
}

/** Runs `fn` outside any decided mark (for work that starts new, unrelated requests). */
export function runUndecided<T>(fn: () => T): T {
  return storage.exit(fn);
}
