/** The engine: one policy (plus an optional org layer), its rate-limit state, and evaluate(). */
import { BODY_ABSENT, BODY_TOO_LARGE, EVAL_ERROR, FRAME_HEADER, type CoreExports } from './abi.js';
import { EngineError, PolicyInvalidError, WasmLoadError, type PolicyDiagnostic } from './errors.js';
import { bundledModule, compileVerified, instantiate, type Instance } from './load.js';
import type {
  Decision,
  DecisionReason,
  EngineOptions,
  EngineStats,
  EvaluateOptions,
  ExplainStep,
  HeaderInput,
  PolicyDocument,
  RequestFacts,
  RuleSource,
  ValidationResult,
} from './types.js';
import { requestUrl } from './url.js';

const REASONS: DecisionReason[] = [
  'rule_allow',
  'rule_deny',
  'default_allow',
  'default_deny',
  'rate_limited',
  'kill_switch',
  'bad_request',
  'engine_error',
];
const SOURCES: (RuleSource | null)[] = [null, 'org', 'agent'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const DEFAULT_BODY_LIMIT = 1 << 20;

interface LoadOutput {
  ok: boolean;
  errors: PolicyDiagnostic[];
  warnings: PolicyDiagnostic[];
  rules?: { name: string; source: RuleSource }[];
  needs_body?: boolean;
  needs_headers?: boolean;
  header_names?: string[];
  code?: string;
  message?: string;
}

async function resolveModule(wasm: EngineOptions['wasm']): Promise<WebAssembly.Module> {
  if (!wasm) return bundledModule();
  if (wasm instanceof WebAssembly.Module) return wasm;
  return compileVerified(wasm);
}

function readOutput(ex: CoreExports): string {
  const ptr = ex.checkrd_output_ptr();
  const len = ex.checkrd_output_len();
  return decoder.decode(new Uint8Array(ex.memory.buffer, ptr, len));
}

function writeInput(ex: CoreExports, bytes: Uint8Array): void {
  const ptr = ex.checkrd_input(bytes.length);
  if (ptr === 0) throw new EngineError(`input of ${bytes.length} bytes is larger than the engine accepts`);
  new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
}

function callLoad(ex: CoreExports, agent: PolicyDocument, org: PolicyDocument | null | undefined, opts: Partial<EngineOptions>, validateOnly: boolean): LoadOutput {
  const input = encoder.encode(
    JSON.stringify({
      agent,
      org: org ?? null,
      options: {
        body_limit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
        max_keys_per_limit: opts.maxKeysPerLimit ?? 10_000,
        require_agent: opts.requireAgent ?? false,
      },
    }),
  );
  writeInput(ex, input);
  const status = ex.checkrd_load(input.length, validateOnly ? 1 : 0);
  const out = JSON.parse(readOutput(ex)) as LoadOutput;
  if (status === 2) throw new EngineError(`the engine rejected its load input: ${out.message ?? 'malformed'}`);
  return out;
}

function summarize(errors: PolicyDiagnostic[]): string {
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return first ? `invalid policy: ${first.path || '/'}: ${first.message}${more}` : 'invalid policy';
}

export class Engine {
  #inst: Instance;
  #module: WebAssembly.Module;
  #opts: EngineOptions;
  #rules: { name: string; source: RuleSource }[] = [];
  #needsBody = false;
  #needsHeaders = false;
  #headerNames = new Set<string>();
  #bodyLimit: number;
  #decisions = new Map<number, Decision>();
  #mem: Uint8Array;
  #dv: DataView;
  #ptr = 0;
  #cap = 0;
  #killSwitch = false;
  #warnings: PolicyDiagnostic[] = [];

  /** Use createEngine(). */
  constructor(module: WebAssembly.Module, opts: EngineOptions) {
    this.#module = module;
    this.#opts = opts;
    this.#bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
    this.#inst = instantiate(module);
    this.#mem = new Uint8Array(this.#inst.exports.memory.buffer);
    this.#dv = new DataView(this.#inst.exports.memory.buffer);
    this.#install(opts.policy, opts.orgPolicy);
  }

  #install(policy: PolicyDocument, org: PolicyDocument | null | undefined): void {
    const out = callLoad(this.#inst.exports, policy, org, this.#opts, false);
    if (!out.ok) throw new PolicyInvalidError(summarize(out.errors), out.errors);
    this.#rules = out.rules ?? [];
    this.#needsBody = out.needs_body ?? true;
    this.#needsHeaders = out.needs_headers ?? true;
    this.#headerNames = new Set(out.header_names ?? []);
    this.#warnings = out.warnings;
    this.#decisions.clear();
    this.#opts = { ...this.#opts, policy, orgPolicy: org ?? null };
  }

  /** Warnings of the loaded policy (e.g. mode omitted). */
  get warnings(): readonly PolicyDiagnostic[] {
    return this.#warnings;
  }

  /** Whether the loaded policy reads request bodies (if not, callers need not read them). */
  get needsBody(): boolean {
    return this.#needsBody;
  }

  /** Bodies larger than this many bytes fail closed. */
  get bodyLimit(): number {
    return this.#bodyLimit;
  }

  /** Rule names in evaluation order (org first). */
  get rules(): readonly { name: string; source: RuleSource }[] {
    return this.#rules;
  }

  /**
   * Replaces the policy atomically: the new one is validated and compiled first; if it is invalid
   * this throws PolicyInvalidError and the engine keeps the old one. Rate-limit counters of limits
   * that are unchanged (same name and configuration) carry over.
   */
  setPolicy(policy: PolicyDocument, orgPolicy: PolicyDocument | null = this.#opts.orgPolicy ?? null): void {
    const check = callLoad(this.#inst.exports, policy, orgPolicy, this.#opts, true);
    if (!check.ok) throw new PolicyInvalidError(summarize(check.errors), check.errors);
    this.#install(policy, orgPolicy);
  }

  /** The kill switch denies every request, in every mode. */
  setKillSwitch(on: boolean): void {
    this.#killSwitch = on;
    this.#inst.exports.checkrd_set_kill_switch(on ? 1 : 0);
  }

  get killSwitch(): boolean {
    return this.#killSwitch;
  }

  stats(): EngineStats {
    this.#inst.exports.checkrd_stats();
    return JSON.parse(readOutput(this.#inst.exports)) as EngineStats;
  }

  #decision(packed: number): Decision {
    let d = this.#decisions.get(packed);
    if (d) return d;
    const rule = (packed >>> 8) & 0xffff;
    d = Object.freeze({
      result: packed & 1 ? 'allow' : 'deny',
      enforced: (packed & 2) !== 0,
      matched_rule: rule ? (this.#rules[rule - 1]?.name ?? null) : null,
      reason: REASONS[(packed >>> 2) & 15] ?? 'engine_error',
      rule_source: SOURCES[(packed >>> 6) & 3] ?? null,
    } satisfies Decision);
    this.#decisions.set(packed, d);
    return d;
  }

  #engineError(cause: unknown): Decision {
    const allow = this.#opts.onEngineError === 'allow';
    const d: Decision = { result: allow ? 'allow' : 'deny', enforced: true, matched_rule: null, reason: 'engine_error', rule_source: null };
    // A trap may leave the instance half-updated: start a fresh one with the same policy.
    try {
      this.#inst = instantiate(this.#module);
      this.#refresh();
      this.#ptr = 0;
      this.#cap = 0;
      this.#install(this.#opts.policy, this.#opts.orgPolicy);
      if (this.#killSwitch) this.#inst.exports.checkrd_set_kill_switch(1);
    } catch {
      // keep failing closed (or open) on every call until a policy loads again
    }
    Object.defineProperty(d, 'cause', { value: cause, enumerable: false });
    return d;
  }

  #refresh(): void {
    const buf = this.#inst.exports.memory.buffer;
    this.#mem = new Uint8Array(buf);
    this.#dv = new DataView(buf);
  }

  #reserve(bytes: number): number {
    if (bytes > this.#cap) {
      const want = Math.max(bytes, this.#cap * 2, 4096);
      const ptr = this.#inst.exports.checkrd_input(want);
      if (ptr === 0) throw new EngineError(`a request frame of ${want} bytes is larger than the engine accepts`);
      this.#ptr = ptr;
      this.#cap = want;
    }
    if (this.#mem.buffer !== this.#inst.exports.memory.buffer) this.#refresh();
    return this.#ptr;
  }

  /** Evaluates one request. Never throws for bad input; a failing engine yields reason engine_error. */
  evaluate(req: RequestFacts, opts?: EvaluateOptions): Decision {
    const urlText = requestUrl(req.url);
    if (urlText === null) return this.#decision(badRequestPacked);
    const now = opts?.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
    try {
      return this.#evaluate(req, urlText, now, opts?.explain === true);
    } catch (cause) {
      return this.#engineError(cause);
    }
  }

  #evaluate(req: RequestFacts, url: string, now: number, explain: boolean): Decision {
    const method = req.method;
    // Upper bound of the frame: UTF-8 takes at most 3 bytes per UTF-16 unit.
    let size = FRAME_HEADER + method.length * 3 + url.length * 3;
    let headers: [string, string][] | undefined;
    if (this.#needsHeaders && req.headers) {
      // Only the headers a rule reads enter the module (never Authorization unless a rule names it).
      headers = headerPairs(req.headers, this.#headerNames);
      for (const [n, v] of headers) size += 8 + (n.length + v.length) * 3;
    }
    let body = req.body;
    let bodyState = BODY_ABSENT;
    if (this.#needsBody && req.bodyUnavailable) {
      bodyState = BODY_TOO_LARGE;
    } else if (this.#needsBody && body != null) {
      if (typeof body === 'string') {
        if (body.length > this.#bodyLimit) bodyState = BODY_TOO_LARGE;
        else size += body.length * 3;
      } else {
        if (body instanceof ArrayBuffer) body = new Uint8Array(body);
        if ((body as Uint8Array).byteLength > this.#bodyLimit) bodyState = BODY_TOO_LARGE;
        else size += (body as Uint8Array).byteLength;
      }
      if (bodyState !== BODY_TOO_LARGE) bodyState = 0;
    }
    const ptr = this.#reserve(size);
    const mem = this.#mem;
    const dv = this.#dv;
    let at = ptr + FRAME_HEADER;
    const m = encoder.encodeInto(method, mem.subarray(at, at + method.length * 3)).written;
    at += m;
    const u = encoder.encodeInto(url, mem.subarray(at, at + url.length * 3)).written;
    at += u;
    if (headers) {
      for (const [n, v] of headers) {
        const nw = encoder.encodeInto(n, mem.subarray(at + 4, at + 4 + n.length * 3)).written;
        dv.setUint32(at, nw, true);
        at += 4 + nw;
        const vw = encoder.encodeInto(v, mem.subarray(at + 4, at + 4 + v.length * 3)).written;
        dv.setUint32(at, vw, true);
        at += 4 + vw;
      }
    }
    if (bodyState === 0) {
      if (typeof body === 'string') {
        const w = encoder.encodeInto(body, mem.subarray(at, at + body.length * 3)).written;
        bodyState = w > this.#bodyLimit ? BODY_TOO_LARGE : w;
        if (bodyState !== BODY_TOO_LARGE) at += w;
      } else {
        const b = body as Uint8Array;
        mem.set(b, at);
        at += b.byteLength;
        bodyState = b.byteLength;
      }
    }
    dv.setFloat64(ptr, now, true);
    dv.setUint32(ptr + 8, m, true);
    dv.setUint32(ptr + 12, u, true);
    dv.setUint32(ptr + 16, headers ? headers.length : 0, true);
    dv.setUint32(ptr + 20, bodyState, true);
    const ex = this.#inst.exports;
    const packed = explain ? ex.checkrd_explain(at - ptr) : ex.checkrd_evaluate(at - ptr);
    if ((packed & EVAL_ERROR) !== 0) {
      const err = JSON.parse(readOutput(ex)) as { code: string; message: string };
      throw new EngineError(`${err.code}: ${err.message}`);
    }
    const d = this.#decision(packed >>> 0);
    if (!explain) return d;
    const raw = JSON.parse(readOutput(ex)) as ExplainStep[];
    return { ...d, explanation: raw };
  }
}

// bad_request, enforced, no rule, no source: reason 6 << 2 | enforced bit.
const badRequestPacked = (6 << 2) | 2;

function headerPairs(h: HeaderInput, wanted: ReadonlySet<string>): [string, string][] {
  const out: [string, string][] = [];
  const add = (n: string, v: unknown) => {
    if (wanted.has(n.toLowerCase())) out.push([n, String(v)]);
  };
  if (typeof (h as { forEach?: unknown }).forEach === 'function' && !Array.isArray(h) && !(Symbol.iterator in (h as object))) {
    (h as { forEach(cb: (v: string, n: string) => void): void }).forEach((v, n) => add(n, v));
    return out;
  }
  if (Symbol.iterator in (h as object)) {
    for (const [n, v] of h as Iterable<readonly [string, string]>) add(String(n), v);
    return out;
  }
  for (const [n, v] of Object.entries(h as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) add(n, x);
    else add(n, v);
  }
  return out;
}

/** Creates an engine for a policy. Throws PolicyInvalidError (with every diagnostic) for an invalid one. */
export async function createEngine(opts: EngineOptions): Promise<Engine> {
  const module = await resolveModule(opts.wasm);
  return new Engine(module, opts);
}

let validator: Promise<Instance> | undefined;

/** Validates a policy (and its org layer) without creating an engine. */
export async function validatePolicy(
  policy: PolicyDocument,
  opts: { orgPolicy?: PolicyDocument | null; requireAgent?: boolean; wasm?: EngineOptions['wasm'] } = {},
): Promise<ValidationResult> {
  const inst = opts.wasm ? instantiate(await resolveModule(opts.wasm)) : await (validator ??= bundledModule().then(instantiate));
  try {
    const out = callLoad(inst.exports, policy, opts.orgPolicy, { requireAgent: opts.requireAgent ?? false }, true);
    return { ok: out.ok, errors: out.errors, warnings: out.warnings };
  } catch (cause) {
    validator = undefined;
    if (cause instanceof WasmLoadError) throw cause;
    throw new EngineError('the engine failed while validating the policy', { cause });
  }
}
