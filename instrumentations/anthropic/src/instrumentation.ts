/**
 * The @anthropic-ai/sdk SDK (Stainless-generated, 1.x). Unlike openai, this SDK calls `prepareRequest`
 * inside `fetchWithTimeout`, as the innermost step of its middleware chain (client.ts, `innerFetch`), and
 * an error thrown there counts as a fetch error: the SDK retries it and then throws APIConnectionError
 * with it as the cause. So the guard does not decide in `prepareRequest`. It decides in a middleware of
 * its own, appended innermost to the client's `backendMiddleware()` (the hook third-party backends use to
 * rewrite and sign requests). The chain runs once per HTTP attempt, retries included, and again for each
 * `next()` of a middleware that replays a request; the guard sees the URL, headers and body as every
 * other middleware left them (only `prepareRequest`'s auth headers and trace headers are set after it).
 * With a middleware present, `makeRequest` hands an error a middleware threw to the caller as is — no
 * retry, no APIConnectionError — unless it is fetch-origin, an abort, an APIConnectionError or a
 * RetryableError, or its text says "timeout" (see keepOffTimeoutPath). The allowed request's `next()`
 * runs marked as decided, so the fetch and node:http instrumentations below make no second decision.
 */
import type { Span } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  anthropicExtractor,
  endWithError,
  guardRequest,
  PolicyDeniedError,
  resolveGuard,
  runDecided,
  tapResponse,
  type Guard,
  type GuardedRequest,
} from '@checkrd/instrumentation-common';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export interface AnthropicInstrumentationConfig extends InstrumentationConfig {
  /** The guard to decide with; default: the one checkrd's init() installed. */
  guard?: Guard;
}

/** Supported @anthropic-ai/sdk versions (bounded above: a new major is tested before it is claimed). */
export const SUPPORTED_VERSIONS = ['>=1.0.0 <2'];

/** The request a middleware gets: the built RequestInit with `Headers`, and the full URL. */
interface APIRequest extends RequestInit {
  url: string;
  headers: Headers;
}

/** The part of the SDK's request options (`ctx.options`) the guard reads. */
interface RequestOptions {
  method?: string;
  path?: string;
  body?: unknown;
}

type Middleware = (request: APIRequest, next: (request: APIRequest) => Promise<Response>, ctx: { options?: RequestOptions | undefined }) => Promise<Response>;

interface ClientProto {
  backendMiddleware(): ReadonlyArray<Middleware>;
}

type ClientClass = { prototype: ClientProto };

interface AnthropicModule {
  BaseAnthropic?: ClientClass;
  Anthropic?: ClientClass;
  default?: ClientClass;
}

/** The object on `proto`'s chain that owns `backendMiddleware` (BaseAnthropic.prototype today). */
function owner(mod: AnthropicModule): ClientProto | undefined {
  let proto: object | null = (mod.BaseAnthropic ?? mod.Anthropic ?? mod.default)?.prototype ?? null;
  while (proto && proto !== Object.prototype) {
    if (Object.hasOwn(proto, 'backendMiddleware')) return proto as ClientProto;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return undefined;
}

/** `gen_ai.operation.name` from the SDK's request path (`/v1/messages`, `/v1/messages?beta=true`, …). */
export function operationName(path: string | undefined): string {
  const p = (path ?? '').split('?')[0]!.replace(/^\/(v1\/)?/, '');
  if (p === 'messages') return 'chat';
  if (p === 'complete') return 'text_completion';
  if (p === 'messages/count_tokens') return 'count_tokens';
  if (p.startsWith('messages/batches')) return 'batches';
  return p.split('/')[0] || 'unknown';
}

export class AnthropicInstrumentation extends InstrumentationBase<AnthropicInstrumentationConfig> {
  /** The one middleware this instrumentation appends to every client's backend middleware. */
  readonly #middleware: Middleware = (request, next, ctx) => this.#decide(request, next, ctx);

  constructor(config: AnthropicInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        '@anthropic-ai/sdk',
        SUPPORTED_VERSIONS,
        (moduleExports: AnthropicModule) => {
          this.patchClient(moduleExports);
          return moduleExports;
        },
        (moduleExports: AnthropicModule | undefined) => {
          if (moduleExports) this.unpatchClient(moduleExports);
        },
      ),
    ];
  }

  /** Patches the client class of an already-loaded @anthropic-ai/sdk module (CommonJS exports or ESM namespace). */
  patchClient(mod: AnthropicModule): void {
    const proto = owner(mod);
    if (!proto || typeof proto.backendMiddleware !== 'function' || isWrapped(proto.backendMiddleware)) return;
    const middleware = this.#middleware;
    this._wrap(proto, 'backendMiddleware', (original) =>
      function (this: unknown) {
        return [...original.call(this), middleware];
      },
    );
  }

  unpatchClient(mod: AnthropicModule): void {
    const proto = owner(mod);
    if (proto && isWrapped(proto.backendMiddleware)) this._unwrap(proto, 'backendMiddleware');
  }

  async #decide(request: APIRequest, next: (request: APIRequest) => Promise<Response>, ctx: { options?: RequestOptions | undefined }): Promise<Response> {
    const guard = resolveGuard(this.getConfig().guard, 'anthropic');
    if (!guard) return next(request);
    const options = ctx.options;
    const params = (options?.body ?? {}) as { model?: unknown };
    const body = request.body;
    let guarded: GuardedRequest;
    try {
      guarded = guardRequest(
        this.tracer,
        guard,
        {
          method: request.method ?? options?.method ?? 'GET',
          url: request.url,
          headers: request.headers,
          ...(typeof body === 'string' || body instanceof Uint8Array ? { body } : body == null ? {} : { bodyUnavailable: true }),
        },
        {
          attributes: {
            [ATTR_GEN_AI_PROVIDER_NAME]: 'anthropic',
            [ATTR_GEN_AI_OPERATION_NAME]: operationName(options?.path ?? URL.parse(request.url)?.pathname),
            ...(typeof params.model === 'string' ? { [ATTR_GEN_AI_REQUEST_MODEL]: params.model } : {}),
          },
        },
      );
    } catch (err) {
      // An enforced deny: the SDK hands a middleware's error to the caller as is.
      keepOffTimeoutPath(err);
      throw err;
    }
    const { span, decision } = guarded;
    return send(span, () => runDecided({ decision, by: 'anthropic', url: request.url, method: request.method ?? 'GET' }, () => next(request)));
  }
}

/**
 * The SDK takes a failed attempt whose `String(error)` matches this for a timeout, whoever threw it, and
 * then retries it and throws APIConnectionTimeoutError in its place (client.ts, `isTimeout` in
 * makeRequest). A denial's message holds the rule's name and the host, either of which may say "timeout".
 */
const SDK_TIMEOUT_TEST = /timed? ?out/i;

/** Gives such a denial a `toString` without the rule's name and host; its message stays as it is. */
function keepOffTimeoutPath(err: unknown): void {
  if (!(err instanceof PolicyDeniedError) || !SDK_TIMEOUT_TEST.test(String(err))) return;
  const text = `${err.name}: checkrd: ${err.method} request denied by policy (${err.reason})`;
  Object.defineProperty(err, 'toString', { value: () => text, configurable: true, writable: true, enumerable: false });
}

/** Sends the allowed request; its span ends with the error, or when the response body has been read. */
async function send(span: Span, call: () => Promise<Response>): Promise<Response> {
  let res: Response;
  try {
    res = await call();
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
  // The span ends when the body has been read (JSON) or the stream ends, errors or is cancelled.
  return tapResponse(res, span, anthropicExtractor);
}
