/**
 * The cohere-ai SDK (Fern-generated, 7.17 to 8.x). Every endpoint of every client (CohereClient,
 * CohereClientV2 and their resources) calls core/fetcher `fetcher(args)` once per call; it runs
 * `requestWithRetries(() => makeRequest(fetchFn, url, method, headers, body, …), maxRetries)`, so
 * `makeRequest` runs once per HTTP attempt, retries included, with the attempt's final URL (query
 * included), method, headers (auth included) and body, and nothing else stands between it and fetch.
 * `client.fetch(...)` (makePassthroughRequest) goes through `makeRequest` as well.
 *
 * The guard decides in `makeRequest`, before it calls fetch. A denial thrown there is never retried
 * (requestWithRetries retries on a response status only and does not catch), but fetcherImpl catches
 * every error into `{ ok: false, error: { reason: 'unknown', … } }`, which the endpoint turns into a
 * CohereError (8.x keeps the denial as its `cause`, 7.x drops it). So the wrapped `fetcher` remembers
 * the denial of its call and throws it in place of that result: the caller gets PolicyDeniedError itself.
 * The allowed attempt's fetch runs marked as decided, so the fetch and node:http instrumentations make
 * no second decision.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  PolicyDeniedError,
  endWithError,
  endWithStatus,
  guardRequest,
  resolveGuard,
  runDecided,
  type Guard,
  type GuardedRequest,
} from '@checkrd/instrumentation-common';
import type { CallState, CohereModule, FetcherFn, MakeRequestFn } from './internal-types.js';
import { bodyFacts, cohereInternals, modelOf, operationName } from './utils.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface CohereInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported cohere-ai versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=7.17.0 <9'];

const calls = new AsyncLocalStorage<CallState>();

export class CohereInstrumentation extends InstrumentationBase<CohereInstrumentationConfig> {
  constructor(config: CohereInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'cohere-ai',
        SUPPORTED_VERSIONS,
        (moduleExports: CohereModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: CohereModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /**
   * Patches the core fetcher of an already-loaded cohere-ai (its CommonJS exports or ESM namespace).
   * The patch is on the package's shared internal modules, so it covers clients made before and after.
   */
  patchClient(mod: CohereModule): void {
    const internals = cohereInternals(mod);
    if (!internals) {
      this._diag.warn('cohere-ai: core/fetcher not found; requests are left to the fetch instrumentation');
      return;
    }
    if (!isWrapped(internals.fetcher.fetcher)) this._wrap(internals.fetcher, 'fetcher', (original) => rethrowDenial(original));
    if (!isWrapped(internals.makeRequest.makeRequest)) this._wrap(internals.makeRequest, 'makeRequest', (original) => this.#makeRequest(original));
  }

  unpatchClient(mod: CohereModule): void {
    const internals = cohereInternals(mod);
    if (!internals) return;
    if (isWrapped(internals.fetcher.fetcher)) this._unwrap(internals.fetcher, 'fetcher');
    if (isWrapped(internals.makeRequest.makeRequest)) this._unwrap(internals.makeRequest, 'makeRequest');
  }

  #makeRequest(original: MakeRequestFn): MakeRequestFn {
    const inst = this;
    return async function (this: unknown, fetchFn, url, method, headers, requestBody, ...rest) {
      const send = () => original.call(this, fetchFn, url, method, headers, requestBody, ...rest);
      const guard = resolveGuard(inst.getConfig().guard, 'cohere');
      if (!guard) return send();
      const call = calls.getStore();
      let guarded: GuardedRequest;
      try {
        guarded = guardRequest(
          inst.tracer,
          guard,
          { method, url, ...(headers ? { headers } : {}), ...bodyFacts(requestBody) },
          {
            attributes: {
              [ATTR_GEN_AI_PROVIDER_NAME]: 'cohere',
              [ATTR_GEN_AI_OPERATION_NAME]: call?.operation ?? operationName(url),
              ...(call?.model ? { [ATTR_GEN_AI_REQUEST_MODEL]: call.model } : {}),
            },
          },
        );
      } catch (err) {
        if (call && err instanceof PolicyDeniedError) call.denied = err;
        throw err;
      }
      const { span, decision } = guarded;
      try {
        const res = await runDecided({ decision, by: 'cohere' }, send);
        endWithStatus(span, res.status);
        return res;
      } catch (err) {
        endWithError(span, err);
        throw err;
      }
    };
  }
}

/** Runs one endpoint call with its CallState, and throws the denial of its attempt, if any, itself. */
function rethrowDenial(original: FetcherFn): FetcherFn {
  return async function (this: unknown, args) {
    const call: CallState = { operation: operationName(args.url), model: modelOf(args.body) };
    const result = await calls.run(call, () => original.call(this, args));
    if (call.denied) throw call.denied;
    return result;
  };
}
