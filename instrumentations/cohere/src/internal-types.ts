/** The shapes of cohere-ai's core/fetcher this package relies on (not exported). */
import type { PolicyDeniedError } from '@checkrd/instrumentation-common';

/** `core/fetcher/Fetcher.js` `fetcher(args)`: one call of an endpoint, retries included. */
export interface FetcherArgs {
  url: string;
  method: string;
  body?: unknown;
  [key: string]: unknown;
}
export type FetcherFn = (args: FetcherArgs) => Promise<unknown>;

/** `core/fetcher/makeRequest.js` `makeRequest(fetchFn, url, method, headers, body, …)`: one HTTP attempt. */
export type MakeRequestFn = (
  fetchFn: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  method: string,
  headers: Headers | Record<string, string>,
  requestBody: unknown,
  ...rest: unknown[]
) => Promise<Response>;

export interface FetcherModule {
  fetcher: FetcherFn;
}

export interface MakeRequestModule {
  makeRequest: MakeRequestFn;
}

/** The SDK's internal modules that are patched. */
export interface CohereInternals {
  fetcher: FetcherModule;
  makeRequest: MakeRequestModule;
}

/** The package's entry module, as CommonJS exports or as the ESM namespace of them. */
export interface CohereModule {
  CohereClient?: unknown;
  CohereClientV2?: unknown;
  default?: unknown;
}

/** What one `fetcher` call shares with its attempts. */
export interface CallState {
  operation: string;
  model: string | undefined;
  /** The attempt's denial, rethrown by `fetcher` instead of the CohereError the SDK makes of it. */
  denied?: PolicyDeniedError;
}
