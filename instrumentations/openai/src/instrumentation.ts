/**
 * The openai SDK (Stainless-generated, versions 5 to 7). Each HTTP attempt of the SDK passes through
 * `prepareRequest(req, { url, options })` (a hook the SDK calls once per attempt, retries included) and
 * then `fetchWithTimeout(url, req, …)`. The guard decides in `prepareRequest`: an error thrown there
 * propagates to the caller as is — the SDK neither retries it nor wraps it into APIConnectionError — and
 * nothing has been sent. The allowed attempt's fetch runs marked as decided, so the fetch and node:http
 * instrumentations below make no second decision. The attempt's span ends when its response is finished
 * (body read, stream ended, errored or cancelled), with the response model and token usage it reports.
 */
import type { Span } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  endWithError,
  guardRequest,
  openaiExtractor,
  resolveGuard,
  runDecided,
  tapResponse,
  type Guard,
} from '@checkrd/instrumentation-common';
import type { Decision } from '@checkrd/core';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface OpenAIInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported openai versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=5.0.0 <8'];

const ATTEMPT = Symbol.for('checkrd.openai.attempt');

interface Attempt {
  span: Span;
  decision: Decision;
}

interface ClientProto {
  prepareRequest(req: RequestInit & { [ATTEMPT]?: Attempt }, ctx: { url: string; options: { method?: string; path?: string; body?: unknown } }): Promise<void>;
  fetchWithTimeout(url: string, init: (RequestInit & { [ATTEMPT]?: Attempt }) | undefined, ms: number, controller: AbortController): Promise<Response>;
}

interface OpenAIModule {
  OpenAI?: { prototype: ClientProto };
  default?: { prototype: ClientProto };
}

function operationName(path: string | undefined): string {
  if (!path) return 'unknown';
  if (path.includes('/chat/completions')) return 'chat';
  if (path.includes('/responses')) return 'chat';
  if (path.includes('/embeddings')) return 'embeddings';
  if (path.includes('/completions')) return 'text_completion';
  return path.replace(/^\//, '').split('/')[0] ?? 'unknown';
}

export class OpenAIInstrumentation extends InstrumentationBase<OpenAIInstrumentationConfig> {
  constructor(config: OpenAIInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'openai',
        SUPPORTED_VERSIONS,
        (moduleExports: OpenAIModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: OpenAIModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches the client class of an already-loaded openai module (CommonJS exports or ESM namespace). */
  patchClient(mod: OpenAIModule): void {
    const proto = (mod.OpenAI ?? mod.default)?.prototype;
    if (!proto || typeof proto.prepareRequest !== 'function' || typeof proto.fetchWithTimeout !== 'function') return;
    if (!isWrapped(proto.prepareRequest)) this._wrap(proto, 'prepareRequest', (original) => this.#prepareRequest(original));
    if (!isWrapped(proto.fetchWithTimeout)) this._wrap(proto, 'fetchWithTimeout', (original) => fetchWithTimeout(original));
  }

  unpatchClient(mod: OpenAIModule): void {
    const proto = (mod.OpenAI ?? mod.default)?.prototype;
    if (!proto) return;
    if (isWrapped(proto.prepareRequest)) this._unwrap(proto, 'prepareRequest');
    if (isWrapped(proto.fetchWithTimeout)) this._unwrap(proto, 'fetchWithTimeout');
  }

  #prepareRequest(original: ClientProto['prepareRequest']): ClientProto['prepareRequest'] {
    const inst = this;
    return async function (this: unknown, req, ctx) {
      await original.call(this, req, ctx);
      const guard = resolveGuard(inst.getConfig().guard, 'openai');
      if (!guard) return;
      const body = req.body;
      const params = (ctx.options?.body ?? {}) as { model?: unknown };
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
            [ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
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
      res = await runDecided({ decision: attempt.decision, by: 'openai', url, method: init?.method ?? 'GET' }, () => original.call(this, url, init, ms, controller));
    } catch (err) {
      endWithError(attempt.span, err);
      throw err;
    }
    // The span ends when the body has been read (JSON) or the stream ends, errors or is cancelled.
    return tapResponse(res, attempt.span, openaiExtractor);
  };
}
