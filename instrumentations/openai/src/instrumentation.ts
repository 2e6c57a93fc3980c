/**
 * The openai SDK (Stainless-generated, versions 5 to 7): the decision is made per HTTP attempt in
 * `prepareRequest` and the attempt is sent marked as decided (see common's stainless.ts for why that hook).
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  isStainlessProto,
  resolveGuard,
  stainlessFetchWithTimeout,
  stainlessPrepareRequest,
  openaiExtractor,
  type Guard,
  type StainlessClientProto,
  type StainlessVendor,
} from '@checkrd/instrumentation-common';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface OpenAIInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported openai versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=5.0.0 <8'];

interface ClientModule {
  OpenAI?: { prototype: StainlessClientProto };
  default?: { prototype: StainlessClientProto };
}

/** `gen_ai.operation.name` from the SDK's request path. */
export function operationName(path: string | undefined): string {
  if (!path) return 'unknown';
  if (path.includes('/chat/completions')) return 'chat';
  if (path.includes('/responses')) return 'chat';
  if (path.includes('/embeddings')) return 'embeddings';
  if (path.includes('/completions')) return 'text_completion';
  return path.replace(/^\//, '').split('/')[0] ?? 'unknown';
}

const VENDOR: StainlessVendor = { who: 'openai', provider: 'openai', operationName, extractor: openaiExtractor };

export class OpenAIInstrumentation extends InstrumentationBase<OpenAIInstrumentationConfig> {
  constructor(config: OpenAIInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'openai',
        SUPPORTED_VERSIONS,
        (moduleExports: ClientModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: ClientModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches the client class of an already-loaded openai module (CommonJS exports or ESM namespace). */
  patchClient(mod: ClientModule): void {
    const proto = (mod.OpenAI ?? mod.default)?.prototype;
    if (!isStainlessProto(proto)) return;
    const guard = () => resolveGuard(this.getConfig().guard, 'openai');
    if (!isWrapped(proto.prepareRequest)) this._wrap(proto, 'prepareRequest', stainlessPrepareRequest(VENDOR, () => this.tracer, guard));
    if (!isWrapped(proto.fetchWithTimeout)) this._wrap(proto, 'fetchWithTimeout', stainlessFetchWithTimeout(VENDOR));
  }

  unpatchClient(mod: ClientModule): void {
    const proto = (mod.OpenAI ?? mod.default)?.prototype;
    if (!proto) return;
    if (isWrapped(proto.prepareRequest)) this._unwrap(proto, 'prepareRequest');
    if (isWrapped(proto.fetchWithTimeout)) this._unwrap(proto, 'fetchWithTimeout');
  }
}
