/** Loading a policy: bytes → YAML → JSON form → the engine's validation, every error at file:line:col. */
import { readFile, stat } from 'node:fs/promises';
import { PolicyInvalidError, validatePolicy, type PolicyDiagnostic, type PolicyDocument } from '@checkrd/core';
import { formatDiagnostic } from './errors.js';
import { hashPolicy } from './hash.js';
import { locate, MAX_POLICY_BYTES, parseYaml, type ParsedYaml } from './yaml.js';

export interface LoadedPolicy {
  /** The policy's JSON form, as the engine takes it. */
  document: PolicyDocument;
  /** `sha256:<hex>` of the exact YAML bytes. */
  hash: string;
  /** The YAML text. */
  source: string;
  file?: string;
  warnings: PolicyDiagnostic[];
}

export interface ParseOptions {
  /** Shown in diagnostics. */
  file?: string;
  /** The org policy this one is layered under (validated together: name clashes, default narrowing). */
  orgPolicy?: LoadedPolicy | null;
  /** Require `agent:` (the control plane does). */
  requireAgent?: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function fail(diags: PolicyDiagnostic[]): never {
  throw new PolicyInvalidError(diags.map(formatDiagnostic).join('\n'), diags);
}

/** Parses and validates policy YAML. Throws PolicyInvalidError listing every problem with its position. */
export async function parsePolicy(source: string | Uint8Array, opts: ParseOptions = {}): Promise<LoadedPolicy> {
  const file = opts.file;
  const at = (d: PolicyDiagnostic): PolicyDiagnostic => (file ? { ...d, file } : d);
  const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source;
  if (bytes.length > MAX_POLICY_BYTES) {
    fail([at({ layer: 'agent', path: '', code: 'too_large', message: `the policy is ${bytes.length} bytes; the limit is ${MAX_POLICY_BYTES} (256 KB)`, rule: null, line: 1, column: 1 })]);
  }
  let text: string;
  try {
    text = typeof source === 'string' ? source : strictUtf8.decode(source);
  } catch {
    fail([at({ layer: 'agent', path: '', code: 'not_utf8', message: 'the policy is not valid UTF-8', rule: null, line: 1, column: 1 })]);
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) fail(parsed.errors.map(at));
  const value = parsed.parsed.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null || value === undefined ? 'empty' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    fail([at({ layer: 'agent', path: '', code: 'wrong_type', message: `a policy is a mapping with \`default\` and \`rules\`, but this document is ${what}`, rule: null, line: 1, column: 1 })]);
  }
  const document = value as PolicyDocument;
  const result = await validatePolicy(document, { orgPolicy: opts.orgPolicy?.document ?? null, requireAgent: opts.requireAgent ?? false });
  const place = (d: PolicyDiagnostic): PolicyDiagnostic => {
    if (d.layer === 'org') {
      return opts.orgPolicy?.file ? { ...d, file: opts.orgPolicy.file } : d;
    }
    return at({ ...d, ...locate(parsed.parsed as ParsedYaml, d.path, d.code) });
  };
  if (!result.ok) fail(result.errors.map(place));
  return {
    document,
    hash: hashPolicy(bytes),
    source: text,
    ...(file ? { file } : {}),
    warnings: result.warnings.map(place),
  };
}

/** Reads and validates a policy file; the size limit is checked before the file is read. */
export async function loadPolicyFile(path: string, opts: Omit<ParseOptions, 'file'> = {}): Promise<LoadedPolicy> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new PolicyInvalidError(`${path}: cannot read the policy file: ${(cause as Error).message}`, [
      { layer: 'agent', path: '', code: 'unreadable', message: `cannot read the policy file: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, rule: null, file: path },
    ], { cause });
  }
  if (size > MAX_POLICY_BYTES) {
    const d: PolicyDiagnostic = { layer: 'agent', path: '', code: 'too_large', message: `the policy is ${size} bytes; the limit is ${MAX_POLICY_BYTES} (256 KB)`, rule: null, file: path, line: 1, column: 1 };
    throw new PolicyInvalidError(formatDiagnostic(d), [d]);
  }
  return parsePolicy(new Uint8Array(await readFile(path)), { ...opts, file: path });
}
