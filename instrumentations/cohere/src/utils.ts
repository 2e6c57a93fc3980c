import { createRequire } from 'node:module';
import type { CohereInternals, FetcherModule, MakeRequestModule } from './internal-types.js';

const localRequire = createRequire(import.meta.url);

/**
 * Finds core/fetcher/Fetcher.js and core/fetcher/makeRequest.js of the cohere-ai copy whose entry module
 * is `mod` (its CommonJS exports, or an ESM namespace whose `default` is them). cohere-ai is CommonJS
 * only, so an ESM import loads it through the CommonJS loader too and it is in `require.cache`; the
 * internal files are then required relative to the entry file (the package's `exports` map, from 8.0 on,
 * does not list them, but a relative require from inside the package is not subject to it).
 */
export function cohereInternals(mod: unknown): CohereInternals | undefined {
  const candidates = [mod, (mod as { default?: unknown } | undefined)?.default].filter((x) => typeof x === 'object' && x !== null);
  const entry = Object.values(localRequire.cache).find((m) => m !== undefined && candidates.includes(m.exports));
  if (!entry) return undefined;
  const fromEntry = createRequire(entry.filename);
  try {
    const fetcher = fromEntry('./core/fetcher/Fetcher.js') as FetcherModule;
    const makeRequest = fromEntry('./core/fetcher/makeRequest.js') as MakeRequestModule;
    if (typeof fetcher.fetcher !== 'function' || typeof makeRequest.makeRequest !== 'function') return undefined;
    return { fetcher, makeRequest };
  } catch {
    return undefined;
  }
}

/** gen_ai.operation.name from the endpoint path (`/v2/chat` → chat). */
export function operationName(url: string): string {
  const segments = (URL.parse(url)?.pathname ?? '').split('/').filter(Boolean);
  const version = segments.findIndex((s) => /^v\d+$/.test(s));
  const endpoint = (version >= 0 ? segments[version + 1] : segments[0]) ?? 'unknown';
  switch (endpoint) {
    case 'chat':
    case 'chat_stream':
      return 'chat';
    case 'generate':
      return 'text_completion';
    case 'embed':
      return 'embeddings';
    default:
      return endpoint;
  }
}

/** The `model` field of the request object an endpoint serialises. */
export function modelOf(body: unknown): string | undefined {
  const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : undefined;
}

export { bodyFacts } from '@checkrd/instrumentation-common';
