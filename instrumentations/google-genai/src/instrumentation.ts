/**
 * The @google/genai SDK (2.32 to 3.x; separate CommonJS and ESM bundles, each with its own classes).
 * It has two HTTP stacks, both patched:
 *  - the classic one (models, chats, files, caches, batches…): `ApiClient.apiCall`, see api-client.ts;
 *  - the "NextGen" one (interactions, agents, webhooks…): a Speakeasy-generated client bundled in the
 *    package (its own ClientSDK and HTTPClient), see speakeasy.ts.
 * Neither class is exported. Both prototypes are reached from one throwaway client made with the
 * module's own `GoogleGenAI` (an API key, no network): `ai.apiClient`, and the NextGen SDK that
 * `ai.interactions.getClient()` builds (a ClientSDK subclass, holding its HTTPClient in `_httpClient`).
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL, resolveGuard, type Guard } from '@checkrd/instrumentation-common';
import { wrapApiCall, type ApiCallFn, type ApiClientHost } from './api-client.js';
import { speakeasyTargets, wrapCreateRequest, wrapDo, wrapRequest, type CreateRequestFn, type DoFn, type SpeakeasyHost, type SpeakeasyTargets } from '@checkrd/instrumentation-common';
import { providerOfUrl, requestShape } from './utils.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface GoogleGenAIInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported @google/genai versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=2.32.0 <4'];

interface GoogleGenAILike {
  apiClient?: object;
  interactions?: { getClient?: () => { _httpClient?: object } | undefined };
}

interface GenAIExports {
  GoogleGenAI?: new (options: object) => GoogleGenAILike;
}

/** The package's entry module: the CommonJS exports or the ESM namespace (of either bundle). */
export interface GoogleGenAIModule extends GenAIExports {
  default?: GenAIExports;
}

interface Targets {
  apiClient?: { apiCall: ApiCallFn };
  nextGen?: SpeakeasyTargets;
}

const probed = new WeakMap<object, Targets>();

/** Finds the prototypes to patch from a throwaway client of this very module (cached per module object). */
function targets(mod: GoogleGenAIModule): Targets {
  const cached = probed.get(mod);
  if (cached) return cached;
  const found: Targets = {};
  const GoogleGenAI = mod.GoogleGenAI ?? mod.default?.GoogleGenAI;
  if (typeof GoogleGenAI !== 'function') return found;
  let ai: GoogleGenAILike;
  try {
    ai = new GoogleGenAI({ apiKey: 'checkrd-probe', vertexai: false, httpOptions: { baseUrl: 'http://127.0.0.1/' } });
  } catch {
    return found;
  }
  const apiClient = ai.apiClient ? (Object.getPrototypeOf(ai.apiClient) as { apiCall?: unknown }) : undefined;
  // apiCall(url, requestInit, retryOptions, timeout, abortSignal, fetchFn): the shape this package relies on.
  if (apiClient && typeof apiClient.apiCall === 'function' && (isWrapped(apiClient.apiCall) || apiClient.apiCall.length >= 6)) {
    found.apiClient = apiClient as Targets['apiClient'];
  }
  try {
    const sdk = ai.interactions?.getClient?.();
    const nextGen = sdk?._httpClient ? speakeasyTargets(Object.getPrototypeOf(sdk) as object, Object.getPrototypeOf(sdk._httpClient) as object) : undefined;
    if (nextGen) found.nextGen = nextGen;
  } catch {
    // No NextGen surface in this version.
  }
  probed.set(mod, found);
  return found;
}

export class GoogleGenAIInstrumentation extends InstrumentationBase<GoogleGenAIInstrumentationConfig> {
  readonly #apiClientHost: ApiClientHost = {
    tracer: () => this.tracer,
    guard: () => resolveGuard(this.getConfig().guard, 'google-genai'),
  };

  readonly #nextGenHost: SpeakeasyHost = {
    who: 'google-genai',
    tracer: () => this.tracer,
    guard: () => resolveGuard(this.getConfig().guard, 'google-genai'),
    attributes: (req, model) => {
      const shape = requestShape(req.url, req.method, model);
      return {
        [ATTR_GEN_AI_PROVIDER_NAME]: providerOfUrl(req.url),
        [ATTR_GEN_AI_OPERATION_NAME]: shape.operation,
        ...(shape.model ? { [ATTR_GEN_AI_REQUEST_MODEL]: shape.model } : {}),
      };
    },
  };

  constructor(config: GoogleGenAIInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        '@google/genai',
        SUPPORTED_VERSIONS,
        (moduleExports: GoogleGenAIModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: GoogleGenAIModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches both HTTP stacks of an already-loaded @google/genai (CommonJS exports or ESM namespace). */
  patchClient(mod: GoogleGenAIModule): void {
    const { apiClient, nextGen } = targets(mod);
    if (!apiClient) this._diag.warn('@google/genai: ApiClient.apiCall not found; its requests are left to the fetch instrumentation');
    else if (!isWrapped(apiClient.apiCall)) this._wrap(apiClient, 'apiCall', (original) => wrapApiCall(original, this.#apiClientHost));
    if (!nextGen) return;
    if (!isWrapped(nextGen.client[nextGen.createRequest])) this._wrap(nextGen.client, nextGen.createRequest, (original) => wrapCreateRequest(original as CreateRequestFn));
    if (!isWrapped(nextGen.client[nextGen.do])) this._wrap(nextGen.client, nextGen.do, (original) => wrapDo(original as DoFn));
    if (!isWrapped(nextGen.httpClient.request)) this._wrap(nextGen.httpClient, 'request', (original) => wrapRequest(original, this.#nextGenHost));
  }

  unpatchClient(mod: GoogleGenAIModule): void {
    const { apiClient, nextGen } = targets(mod);
    if (apiClient && isWrapped(apiClient.apiCall)) this._unwrap(apiClient, 'apiCall');
    if (!nextGen) return;
    if (isWrapped(nextGen.client[nextGen.createRequest])) this._unwrap(nextGen.client, nextGen.createRequest);
    if (isWrapped(nextGen.client[nextGen.do])) this._unwrap(nextGen.client, nextGen.do);
    if (isWrapped(nextGen.httpClient.request)) this._unwrap(nextGen.httpClient, 'request');
  }
}
