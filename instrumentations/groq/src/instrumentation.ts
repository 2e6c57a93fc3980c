/**
 * The groq-sdk SDK (Stainless-generated, 1.x: the same client shape as openai 5 to 7). Each HTTP attempt
 * of the SDK passes through `prepareRequest(req, { url, options })` (called once per attempt, retries
 * included, by `makeRequest`) and then `fetchWithTimeout(url, req, …)`. The guard decides in
 * `prepareRequest`: `makeRequest` awaits it outside the `.catch(castToError)` that turns fetch failures
 * into retries and APIConnectionError, so an error thrown there reaches the caller as is, and nothing has
 * been sent. The allowed attempt's fetch runs marked as decided, so the fetch and node:http
 * instrumentations below make no second decision.
 */
import type { Span } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  endWithError,
  guardRequest,
  resolveGuard,
  runDecided,
  tapResponse,
  type Guard,
} from '@checkrd/instrumentation-common';
import type { Decision } from '@checkrd/core';
import { groqExtractor } from './extractor.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface GroqInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported groq-sdk versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=1.0.0 <2'];

const ATTEMPT = Symbol.for('checkrd.groq.attempt');

interface Attempt {
  span: Span;
  decision: Decision;
}

interface ClientProto {
  prepareRequest(req: RequestInit & { [ATTEMPT]?: Attempt }, ctx: { url: string; options: { method?: string; path?: string; body?: unknown } }): Promise<void>;
  fetchWithTimeout(url: string, init: (RequestInit & { [ATTEMPT]?: Attempt }) | undefined, ms: number, controller: AbortController): Promise<Response>;
}

interface GroqModule {
  Groq?: { prototype: ClientProto };
  default?: { prototype: ClientProto };
}

/** `gen_ai.operation.name` from the SDK's request path (`/openai/v1/chat/completions`, …). */
export function operationName(path: string | undefined): string {
  const p = (path ?? '').split('?')[0]!.replace(/^\/(openai\/)?(v1\/)?/, '');
  if (p === 'chat/completions') return 'chat';
  if (p === 'embeddings') return 'embeddings';
  if (p === 'completions') return 'text_completion';
  return p.split('/')[0] || 'unknown';
}

export class GroqInstrumentation extends InstrumentationBase<GroqInstrumentationConfig> {
  constructor(config: GroqInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'groq-sdk',
        SUPPORTED_VERSIONS,
        (moduleExports: GroqModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: GroqModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches the client class of an already-loaded groq-sdk module (CommonJS exports or ESM namespace). */
  patchClient(mod: GroqModule): void {
    const proto = (mod.Groq ?? mod.default)?.prototype;
    if (!proto || typeof proto.prepareRequest !== 'function' || typeof proto.fetchWithTimeout !== 'function') return;
    if (!isWrapped(proto.prepareRequest)) this._wrap(proto, 'prepareRequest', (original) => this.#prepareRequest(original));
    if (!isWrapped(proto.fetchWithTimeout)) this._wrap(proto, 'fetchWithTimeout', (original) => fetchWithTimeout(original));
  }

  unpatchClient(mod: GroqModule): void {
    const proto = (mod.Groq ?? mod.default)?.prototype;
    if (!proto) return;
    if (isWrapped(proto.prepareRequest)) this._unwrap(proto, 'prepareRequest');
    if (isWrapped(proto.fetchWithTimeout)) this._unwrap(proto, 'fetchWithTimeout');
  }

  #prepareRequest(original: ClientProto['prepareRequest']): ClientProto['prepareRequest'] {
    const inst = this;
    return async function (this: unknown, req, ctx) {
      await original.call(this, req, ctx);
      const guard = resolveGuard(inst.getConfig().guard, 'groq');
      if (!guard) return;
      const body = req.body;
      const params = (ctx.options?.body ?? {}) as { model?: unknown };
      // Throws PolicyDeniedError on an enforced deny: makeRequest does not catch what prepareRequest throws.
      const { span, decision } = guardRequest(
        inst.tracer,
        guard,
        {
          method: req.method ?? ctx.options?.method ?? 'GET',
          url: ctx.url,
          ...(req.headers ? { headers: req.headers as Headers } : {}),
          ...(typeof body === 'string' || body instanceof Uint8Array ? { body } : body == null ? {} : { bodyUnavailable: true }),
        },
        {
          attributes: {
            [ATTR_GEN_AI_PROVIDER_NAME]: 'groq',
            [ATTR_GEN_AI_OPERATION_NAME]: operationName(ctx.options?.path),
            ...(typeof params.model === 'string' ? { [ATTR_GEN_AI_REQUEST_MODEL]: params.model } : {}),
          },
        },
      );
      Object.defineProperty(req, ATTEMPT, { value: { span, decision }, enumerable: false, configurable: true });
    };
  }
}

function fetchWithTimeout(original: ClientProto['fetchWithTimeout']): ClientProto['fetchWithTimeout'] {
  return async function (this: unknown, url, init, ms, controller) {
    const attempt = init?.[ATTEMPT];
    if (!attempt) return original.call(this, url, init, ms, controller);
    let res: Response;
    try {
      res = await runDecided({ decision: attempt.decision, by: 'groq', url, method: init?.method ?? 'GET' }, () => original.call(this, url, init, ms, controller));
    } catch (err) {
      endWithError(attempt.span, err);
      throw err;
    }
    // The span ends when the body has been read (JSON) or the stream ends, errors or is cancelled.
    return tapResponse(res, attempt.span, groqExtractor);
  };
}
