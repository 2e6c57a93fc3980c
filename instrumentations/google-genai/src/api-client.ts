/**
 * The classic surface of @google/genai (models, chats, files, caches, batches, tunings, operations…):
 * every request goes `ApiClient.request`/`requestStream` → `unaryApiCall`/`streamApiCall` →
 * `apiCall(url, requestInit, retryOptions, timeout, abortSignal, fetchFn)`, whose inner `runFetch` calls
 * `fetchFunc(url, { ...requestInit, signal })` (fetchFunc = fetchFn ?? global fetch) once per attempt:
 * directly when `httpOptions.retryOptions` is unset (the default), else through p-retry. The URL is final
 * (query included), the headers carry the auth, the body is the JSON text.
 *
 * The wrapped `apiCall` passes a guarded fetch in place of `fetchFn` (the user's `httpOptions.fetch`, or
 * the global fetch looked up at call time, exactly as the SDK would), so the decision runs per attempt.
 * A denial must not be retried: p-retry 4 retries every Error except its own AbortError and a TypeError
 * that is not a network error. So the guarded fetch throws the denial inside a DeniedAttempt (a TypeError
 * whose message is not one of p-retry's network messages: p-retry stops at once and rejects with it),
 * and the wrapped `apiCall` unwraps it: the caller gets PolicyDeniedError itself. Without retries the SDK
 * rethrows fetch errors as they are (unaryApiCall's catch passes any Error through).
 */
import type { Tracer } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  PolicyDeniedError,
  endWithError,
  endWithStatus,
  guardRequest,
  runDecided,
  type Guard,
  type GuardedRequest,
} from '@checkrd/instrumentation-common';
import { bodyFacts, PROVIDER_GEMINI, PROVIDER_UNKNOWN, PROVIDER_VERTEX, requestShape } from './utils.js';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type ApiCallFn = (
  url: string,
  requestInit: RequestInit,
  retryOptions: unknown,
  timeout: unknown,
  abortSignal: unknown,
  fetchFn: Fetch | undefined,
) => Promise<Response>;

export interface ApiClientHost {
  tracer(): Tracer;
  guard(): Guard | undefined;
}

/** Carries a denial out of p-retry, which stops at once on a TypeError that is not a network error. */
class DeniedAttempt extends TypeError {
  readonly denied: PolicyDeniedError;
  constructor(denied: PolicyDeniedError) {
    super('checkrd: request denied by policy', { cause: denied });
    this.denied = denied;
  }
}

export function wrapApiCall(original: ApiCallFn, host: ApiClientHost): ApiCallFn {
  return async function (this: { isVertexAI?: () => boolean }, url, requestInit, retryOptions, timeout, abortSignal, fetchFn) {
    const guard = host.guard();
    if (!guard) return original.call(this, url, requestInit, retryOptions, timeout, abortSignal, fetchFn);
    const provider = typeof this.isVertexAI === 'function' ? (this.isVertexAI() ? PROVIDER_VERTEX : PROVIDER_GEMINI) : PROVIDER_UNKNOWN;
    const guarded: Fetch = async (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const shape = requestShape(target, method);
      let decided: GuardedRequest;
      try {
        decided = guardRequest(
          host.tracer(),
          guard,
          { method, url: target, ...(init?.headers ? { headers: init.headers as Headers } : {}), ...bodyFacts(init?.body) },
          {
            attributes: {
              [ATTR_GEN_AI_PROVIDER_NAME]: provider,
              [ATTR_GEN_AI_OPERATION_NAME]: shape.operation,
              ...(shape.model ? { [ATTR_GEN_AI_REQUEST_MODEL]: shape.model } : {}),
            },
          },
        );
      } catch (err) {
        throw err instanceof PolicyDeniedError ? new DeniedAttempt(err) : err;
      }
      const { span, decision } = decided;
      try {
        const send = fetchFn ?? globalThis.fetch;
        const res = await runDecided({ decision, by: 'google-genai' }, () => send(input, init));
        endWithStatus(span, res.status);
        return res;
      } catch (err) {
        endWithError(span, err);
        throw err;
      }
    };
    try {
      return await original.call(this, url, requestInit, retryOptions, timeout, abortSignal, guarded);
    } catch (err) {
      throw err instanceof DeniedAttempt ? err.denied : err;
    }
  };
}
