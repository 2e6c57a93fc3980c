/**
 * The guard: the one place an instrumentation asks "may this request go out?". It evaluates the request
 * with the engine BEFORE the span starts, starts the span with the decision as attributes, and refuses
 * an enforced deny with PolicyDeniedError (the span ends with an error status; no byte was sent).
 */
import { diag, SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { createEngine, type Decision, type Engine, type EngineOptions, type PolicyDocument, type RequestFacts } from '@checkrd/core';
import { loadPolicyFile, parsePolicy, type LoadedPolicy } from '@checkrd/policy';
import * as A from './attributes.js';
import { PolicyDeniedError } from './errors.js';

export interface GuardOptions {
  engine: Engine;
  agentId: string;
  /** `sha256:<hex>` of the policy's YAML bytes (checkrd.policy.hash). */
  policyHash: string;
  /** The policy's mode (checkrd.policy.mode). */
  mode: 'enforce' | 'dry_run';
}

export class Guard {
  readonly engine: Engine;
  readonly agentId: string;
  policyHash: string;
  mode: 'enforce' | 'dry_run';

  constructor(opts: GuardOptions) {
    this.engine = opts.engine;
    this.agentId = opts.agentId;
    this.policyHash = opts.policyHash;
    this.mode = opts.mode;
  }

  /** Evaluates the request. Never throws (an engine failure is a decision with reason engine_error). */
  evaluate(facts: RequestFacts): Decision {
    return this.engine.evaluate(facts);
  }

  decisionAttributes(d: Decision): Attributes {
    const attrs: Attributes = {
      [A.ATTR_CHECKRD_AGENT_ID]: this.agentId,
      [A.ATTR_CHECKRD_POLICY_RESULT]: d.result,
      [A.ATTR_CHECKRD_POLICY_REASON]: d.reason,
      [A.ATTR_CHECKRD_POLICY_MODE]: this.mode,
      [A.ATTR_CHECKRD_POLICY_ENFORCED]: d.enforced,
      [A.ATTR_CHECKRD_POLICY_HASH]: this.policyHash,
    };
    if (d.matched_rule !== null) attrs[A.ATTR_CHECKRD_POLICY_RULE] = d.matched_rule;
    return attrs;
  }
}

export interface CreateGuardOptions {
  agentId: string;
  /** A path to a YAML file, YAML text, or the parsed policy object. */
  policy: string | PolicyDocument | LoadedPolicy;
  /** Overrides the policy's own `mode`. */
  mode?: 'enforce' | 'dry_run';
  onEngineError?: EngineOptions['onEngineError'];
  orgPolicy?: PolicyDocument | null;
}

/** Loads the policy as given (path, YAML text or object), validates it and builds the engine. */
export async function loadPolicyInput(policy: CreateGuardOptions['policy']): Promise<LoadedPolicy> {
  if (typeof policy === 'string') {
    // YAML text has a newline or a `key:`; a path has neither.
    const looksLikeYaml = policy.includes('\n') || /^\s*[A-Za-z_]+\s*:/.test(policy);
    return looksLikeYaml ? parsePolicy(policy) : loadPolicyFile(policy);
  }
  if ('document' in policy && 'hash' in policy && 'source' in policy) return policy as LoadedPolicy;
  return parsePolicy(JSON.stringify(policy));
}

export async function createGuard(opts: CreateGuardOptions): Promise<Guard> {
  const loaded = await loadPolicyInput(opts.policy);
  const document = opts.mode ? { ...loaded.document, mode: opts.mode } : loaded.document;
  const engine = await createEngine({ policy: document, orgPolicy: opts.orgPolicy ?? null, ...(opts.onEngineError ? { onEngineError: opts.onEngineError } : {}) });
  const mode = document.mode === 'enforce' ? 'enforce' : 'dry_run';
  return new Guard({ engine, agentId: opts.agentId, policyHash: loaded.hash, mode });
}

const GUARD_KEY = Symbol.for('checkrd.guard.v1');
const g = globalThis as unknown as Record<symbol, Guard | undefined>;

/** The guard instrumentations use when their config names none (set by checkrd's `init`). */
export function setGlobalGuard(guard: Guard | undefined): void {
  g[GUARD_KEY] = guard;
}

export function getGlobalGuard(): Guard | undefined {
  return g[GUARD_KEY];
}

let warned = false;
/** The guard for an instrumentation: its own, else the global one; warns once when there is none. */
export function resolveGuard(own: Guard | undefined, who: string): Guard | undefined {
  const guard = own ?? getGlobalGuard();
  if (!guard && !warned) {
    warned = true;
    diag.warn(`checkrd: ${who} instrumentation has no policy (pass { guard } or call checkrd's init()); requests pass unchecked`);
  }
  return guard;
}

export interface GuardedRequest {
  span: Span;
  decision: Decision;
}

export interface GuardRequestOptions {
  /** Extra attributes for the span (e.g. gen_ai.*). */
  attributes?: Attributes;
  /** The span name; default `METHOD host`. */
  name?: string;
}

/** `scheme`, `host`, `port`, `path` of a URL, without query, fragment or credentials. */
export function urlParts(url: string | URL): { scheme: string; host: string; port: number; path: string } | undefined {
  const u = typeof url === 'string' ? URL.parse(url) : url;
  if (!u) return undefined;
  const scheme = u.protocol.replace(/:$/, '');
  const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : scheme === 'http' ? 80 : 0;
  return { scheme, host: u.hostname, port, path: u.pathname };
}

/** The HTTP client semantic-convention attributes of a request: never the query string or credentials. */
export function httpAttributes(method: string, url: string | URL): Attributes {
  const p = urlParts(url);
  const attrs: Attributes = { [A.ATTR_HTTP_REQUEST_METHOD]: method.toUpperCase() };
  if (p) {
    attrs[A.ATTR_SERVER_ADDRESS] = p.host;
    attrs[A.ATTR_SERVER_PORT] = p.port;
    attrs[A.ATTR_URL_SCHEME] = p.scheme;
    attrs[A.ATTR_URL_PATH] = p.path;
  }
  return attrs;
}

/**
 * Decides `facts` and starts the request's span (client kind) with the decision on it. An enforced deny
 * ends the span with an error status and throws PolicyDeniedError; dry_run lets the call through with
 * the would-be decision on the span.
 */
export function guardRequest(tracer: Tracer, guard: Guard, facts: RequestFacts, opts: GuardRequestOptions = {}): GuardedRequest {
  const decision = guard.evaluate(facts);
  const method = facts.method.toUpperCase();
  const host = urlParts(facts.url)?.host ?? '';
  const span = tracer.startSpan(opts.name ?? `${method} ${host}`, {
    kind: SpanKind.CLIENT,
    attributes: { ...httpAttributes(method, facts.url), ...guard.decisionAttributes(decision), ...opts.attributes },
  });
  if (decision.result === 'deny' && decision.enforced) {
    const err = new PolicyDeniedError(decision, { agentId: guard.agentId, method, host });
    span.recordException(err);
    span.setAttribute(A.ATTR_ERROR_TYPE, 'PolicyDeniedError');
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    span.end();
    throw err;
  }
  return { span, decision };
}

/** Records a failure of an allowed request on its span (error.type, exception, error status). */
export function recordError(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setAttribute(A.ATTR_ERROR_TYPE, (err as Error)?.name ?? 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
}

/** Records a failure of an allowed request on its span and ends it. */
export function endWithError(span: Span, err: unknown): void {
  recordError(span, err);
  span.end();
}

/** Records the response status on the span (status ≥ 400 is an error for a client span). */
export function recordResponseStatus(span: Span, status: number): void {
  span.setAttribute(A.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 400) {
    span.setAttribute(A.ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** Records the response status on the span and ends it (status ≥ 400 is an error for a client span). */
export function endWithStatus(span: Span, status: number): void {
  recordResponseStatus(span, status);
  span.end();
}

/**
 * The body facts of a request body as given to fetch: the bytes when it has them; otherwise (FormData,
 * Blob, a stream) "unavailable", which body conditions treat as failing closed.
 */
export function bodyFacts(body: unknown): Pick<RequestFacts, 'body' | 'bodyUnavailable'> {
  if (body == null) return {};
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) return { body };
  if (body instanceof URLSearchParams) return { body: body.toString() };
  return { bodyUnavailable: true };
}
