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
