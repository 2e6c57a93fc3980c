/**
 * The @mistralai/mistralai SDK (Speakeasy-generated, 1.x; CommonJS). Every method of every resource
 * goes through `ClientSDK._createRequest` and `ClientSDK._do` (the `Mistral` class and its resources
 * extend ClientSDK) and the client's `HTTPClient`: see speakeasy.ts for where each HTTP attempt is
 * decided and how a denial gets to the caller as PolicyDeniedError, unretried and unwrapped. Both
 * prototypes are reached from the package's exports: `HTTPClient` is exported, ClientSDK is the
 * prototype of `Mistral.prototype`.
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL, resolveGuard, type Guard } from '@checkrd/instrumentation-common';
import { speakeasyTargets, wrapCreateRequest, wrapDo, wrapRequest, type CreateRequestFn, type DoFn, type SpeakeasyHost, type SpeakeasyTargets } from '@checkrd/instrumentation-common';
import { operationName } from './utils.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface MistralInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported @mistralai/mistralai versions (2.x is a different package layout: not claimed until tested). */
export const SUPPORTED_VERSIONS = ['>=1.0.0 <2'];

interface MistralExports {
  Mistral?: { prototype: object };
  HTTPClient?: { prototype: object };
}

/** The package's entry module, as CommonJS exports or as the ESM namespace of them. */
export interface MistralModule extends MistralExports {
  default?: MistralExports;
}

function targets(mod: MistralModule): SpeakeasyTargets | undefined {
  const Mistral = mod.Mistral ?? mod.default?.Mistral;
  const HTTPClient = mod.HTTPClient ?? mod.default?.HTTPClient;
  return speakeasyTargets(Mistral?.prototype, HTTPClient?.prototype);
}

export class MistralInstrumentation extends InstrumentationBase<MistralInstrumentationConfig> {
  readonly #host: SpeakeasyHost = {
    who: 'mistral',
    tracer: () => this.tracer,
    guard: () => resolveGuard(this.getConfig().guard, 'mistral'),
    attributes: (req, model) => ({
      [ATTR_GEN_AI_PROVIDER_NAME]: 'mistral_ai',
      [ATTR_GEN_AI_OPERATION_NAME]: operationName(req.url),
      ...(model ? { [ATTR_GEN_AI_REQUEST_MODEL]: model } : {}),
    }),
  };

  constructor(config: MistralInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        '@mistralai/mistralai',
        SUPPORTED_VERSIONS,
        (moduleExports: MistralModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: MistralModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches ClientSDK and HTTPClient of an already-loaded @mistralai/mistralai (CommonJS exports or ESM namespace). */
  patchClient(mod: MistralModule): void {
    const t = targets(mod);
    if (!t) {
      this._diag.warn('@mistralai/mistralai: ClientSDK/HTTPClient not found; requests are left to the fetch instrumentation');
      return;
    }
    if (!isWrapped(t.client[t.createRequest])) this._wrap(t.client, t.createRequest, (original) => wrapCreateRequest(original as CreateRequestFn));
    if (!isWrapped(t.client[t.do])) this._wrap(t.client, t.do, (original) => wrapDo(original as DoFn));
    if (!isWrapped(t.httpClient.request)) this._wrap(t.httpClient, 'request', (original) => wrapRequest(original, this.#host));
  }

  unpatchClient(mod: MistralModule): void {
    const t = targets(mod);
    if (!t) return;
    if (isWrapped(t.client[t.createRequest])) this._unwrap(t.client, t.createRequest);
    if (isWrapped(t.client[t.do])) this._unwrap(t.client, t.do);
    if (isWrapped(t.httpClient.request)) this._unwrap(t.httpClient, 'request');
  }
}
