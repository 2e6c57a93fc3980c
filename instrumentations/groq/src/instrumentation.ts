/**
 * groq-sdk 1.x (Stainless-generated, the same client shape as openai 5 to 7): see common's stainless.ts.
 * Groq reports streamed usage in the last chunk's `x_groq.usage`, hence its own extractor.
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  isStainlessProto,
  resolveGuard,
  stainlessFetchWithTimeout,
  stainlessPrepareRequest,
  type Guard,
  type StainlessClientProto,
  type StainlessVendor,
} from '@checkrd/instrumentation-common';
import { groqExtractor } from './extractor.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface GroqInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported groq-sdk versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=1.0.0 <2'];

interface ClientModule {
  Groq?: { prototype: StainlessClientProto };
  default?: { prototype: StainlessClientProto };
}

/** `gen_ai.operation.name` from the SDK's request path (`/openai/v1/chat/completions`, …). */
export function operationName(path: string | undefined): string {
  const p = (path ?? '').split('?')[0]!.replace(/^\/(openai\/)?(v1\/)?/, '');
  if (p === 'chat/completions') return 'chat';
  if (p === 'embeddings') return 'embeddings';
  if (p === 'completions') return 'text_completion';
  return p.split('/')[0] || 'unknown';
}

const VENDOR: StainlessVendor = { who: 'groq', provider: 'groq', operationName, extractor: groqExtractor };

export class GroqInstrumentation extends InstrumentationBase<GroqInstrumentationConfig> {
  constructor(config: GroqInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'groq-sdk',
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

  /** Patches the client class of an already-loaded groq-sdk module (CommonJS exports or ESM namespace). */
  patchClient(mod: ClientModule): void {
    const proto = (mod.Groq ?? mod.default)?.prototype;
    if (!isStainlessProto(proto)) return;
    const guard = () => resolveGuard(this.getConfig().guard, 'groq');
    if (!isWrapped(proto.prepareRequest)) this._wrap(proto, 'prepareRequest', stainlessPrepareRequest(VENDOR, () => this.tracer, guard));
    if (!isWrapped(proto.fetchWithTimeout)) this._wrap(proto, 'fetchWithTimeout', stainlessFetchWithTimeout(VENDOR));
  }

  unpatchClient(mod: ClientModule): void {
    const proto = (mod.Groq ?? mod.default)?.prototype;
    if (!proto) return;
    if (isWrapped(proto.prepareRequest)) this._unwrap(proto, 'prepareRequest');
    if (isWrapped(proto.fetchWithTimeout)) this._unwrap(proto, 'fetchWithTimeout');
  }
}
