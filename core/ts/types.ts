/** Public types of @checkrd/core. */

export type PolicyResult = 'allow' | 'deny';
export type DecisionReason =
  | 'rule_allow'
  | 'rule_deny'
  | 'default_allow'
  | 'default_deny'
  | 'rate_limited'
  | 'kill_switch'
  | 'bad_request'
  | 'engine_error';
export type RuleSource = 'org' | 'agent';

/** One rule tried, when an explanation was asked for. Never contains header or body values. */
export interface ExplainStep {
  rule: string;
  source: RuleSource;
  outcome: 'matched' | 'no_match' | 'counted' | 'exhausted' | 'not_applicable';
  detail: string;
}

/** The decision of policy-language.md. */
export interface Decision {
  readonly result: PolicyResult;
  /** False in dry_run: the decision is reported, not enforced. */
  readonly enforced: boolean;
  readonly matched_rule: string | null;
  readonly reason: DecisionReason;
  readonly rule_source: RuleSource | null;
  readonly explanation?: ExplainStep[];
}

export type HeaderInput =
  | Record<string, string | string[] | number | undefined>
  | Iterable<readonly [string, string]>
  | { forEach(cb: (value: string, name: string) => void): void };

/** The facts of one outbound request. */
export interface RequestFacts {
  method: string;
  /** Absolute http(s) URL, as a string or a WHATWG URL. */
  url: string | URL;
  headers?: HeaderInput;
  /** The body exactly as it will be sent; absent for none. */
  body?: string | Uint8Array | ArrayBuffer | null;
  /**
   * The request has a body that could not be read for the policy (a stream, or larger than the body
   * limit): body conditions fail closed, exactly as for a body over the limit.
   */
  bodyUnavailable?: boolean;
}

export interface EvaluateOptions {
  /** The request time (ms since the epoch, or a Date); defaults to Date.now(). */
  now?: number | Date;
  /** Attach an explanation of every rule tried. */
  explain?: boolean;
}

/** A policy in its JSON form (what YAML parses to). @checkrd/policy loads files into this. */
export type PolicyDocument = Record<string, unknown>;

export interface EngineOptions {
  /** The agent's policy. */
  policy: PolicyDocument;
  /** The org policy layered above it: its deny rules and limits always apply. */
  orgPolicy?: PolicyDocument | null;
  /** Bodies larger than this fail closed (default 1 MiB). */
  bodyLimit?: number;
  /** Keys kept per rate limit (default 10,000; see docs/policy-language.md). */
  maxKeysPerLimit?: number;
  /** Require `agent:` in the policy (the control plane does). */
  requireAgent?: boolean;
  /** What a request gets when the engine fails: 'deny' (default) or 'allow'. */
  onEngineError?: 'deny' | 'allow';
  /** Precompiled module or wasm bytes (they are integrity-checked too); default: the bundled module. */
  wasm?: WebAssembly.Module | Uint8Array;
}

export interface EngineStats {
  limit_keys: number;
  limit_heap_bytes: number;
  memory_bytes: number;
}

export interface ValidationResult {
  ok: boolean;
  errors: import('./errors.js').PolicyDiagnostic[];
  warnings: import('./errors.js').PolicyDiagnostic[];
}
