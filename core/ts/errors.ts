/**
 * Errors of @checkrd/core. Every error has a stable `code` (documented in docs/errors.md), carries
 * its `cause`, and `instanceof` holds across duplicate copies of the package (Symbol.for brand).
 */
const BRAND = Symbol.for('checkrd.error');
const CODE_BRAND = Symbol.for('checkrd.error.code');

export class CheckrdError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'CheckrdError';
    (this as unknown as Record<symbol, unknown>)[BRAND] = true;
    (this as unknown as Record<symbol, unknown>)[CODE_BRAND] = code;
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

function codeClass(code: string, name: string) {
  return class extends CheckrdError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CODE_BRAND] === code;
    }
  };
}

/** The wasm module failed its integrity check, could not be compiled, or speaks another ABI. */
export class WasmLoadError extends codeClass('CHECKRD_E_WASM_LOAD', 'WasmLoadError') {}
/** The engine trapped or reported an internal error while evaluating. */
export class EngineError extends codeClass('CHECKRD_E_ENGINE', 'EngineError') {}

export interface PolicyDiagnostic {
  /** Which layer the problem is in. */
  layer: 'agent' | 'org';
  /** JSON pointer into the policy document, e.g. `/rules/3/allow/url`. */
  path: string;
  /** Stable diagnostic code, e.g. `unknown_key`, `duplicate_name`, `invalid_regex`. */
  code: string;
  message: string;
  /** The rule the problem is in, when it is in one. */
  rule: string | null;
  /** Filled in by @checkrd/policy when the document came from a file. */
  file?: string;
  line?: number;
  column?: number;
}

/** The policy is not valid; `diagnostics` lists every problem found. */
export class PolicyInvalidError extends codeClass('CHECKRD_E_POLICY_INVALID', 'PolicyInvalidError') {
  readonly diagnostics: PolicyDiagnostic[];
  constructor(message: string, diagnostics: PolicyDiagnostic[], options?: { cause?: unknown }) {
    super(message, options);
    this.diagnostics = diagnostics;
  }
}
