import { CheckrdError, type Decision } from '@checkrd/core';

const DENIED = 'CHECKRD_E_POLICY_DENIED';

/**
 * Thrown (or used to fail the request) when the policy denies an outbound call in enforce mode. No byte
 * of the request reached the network. `instanceof` holds across duplicate copies of the package.
 */
export class PolicyDeniedError extends CheckrdError {
  readonly rule: string | null;
  readonly reason: Decision['reason'];
  readonly agentId: string;
  readonly decision: Decision;
  readonly method: string;
  readonly host: string;

  constructor(decision: Decision, details: { agentId: string; method: string; host: string }) {
    const why = decision.matched_rule ? `rule "${decision.matched_rule}" (${decision.reason})` : decision.reason;
    super(DENIED, `checkrd: ${details.method} ${details.host} denied by policy: ${why}`);
    this.name = 'PolicyDeniedError';
    this.rule = decision.matched_rule;
    this.reason = decision.reason;
    this.agentId = details.agentId;
    this.decision = decision;
    this.method = details.method;
    this.host = details.host;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === DENIED && value instanceof CheckrdError;
  }
}

/**
 * True if `err` is a PolicyDeniedError, or wraps one in its `cause` chain (fetch rejects with
 * `TypeError('fetch failed', { cause })`; some clients wrap errors again).
 */
export function isPolicyDenied(err: unknown): err is Error {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    // Some clients (node-fetch v2) keep only the original error's code, not the error itself.
    if (e instanceof PolicyDeniedError || (e as { code?: unknown }).code === DENIED) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The PolicyDeniedError in `err`'s cause chain, if any. */
export function policyDenial(err: unknown): PolicyDeniedError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    if (e instanceof PolicyDeniedError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
