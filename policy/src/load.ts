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
    const { line, column, offset } = firstInvalidUtf8(bytes);
    fail([at({ layer: 'agent', path: '', code: 'not_utf8', message: `the policy is not valid UTF-8 (byte 0x${bytes[offset]?.toString(16).padStart(2, '0')} at offset ${offset})`, rule: null, line, column })]);
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) fail(parsed.errors.map(at));
  const value = parsed.parsed.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null || value === undefined ? 'empty' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    const start = parsed.parsed.doc.contents?.range?.[0];
    const pos = start === undefined ? { line: 1, col: 1 } : parsed.parsed.lines.linePos(start);
    fail([at({ layer: 'agent', path: '', code: 'wrong_type', message: `a policy is a mapping with \`default\` and \`rules\`, but this document is ${what}`, rule: null, line: pos.line, column: pos.col })]);
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

/** Where the first byte that is not valid UTF-8 is (1-based line and column, counted in characters). */
function firstInvalidUtf8(b: Uint8Array): { line: number; column: number; offset: number } {
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > b.length) break;
    let ok = true;
    for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) ok = false;
    if (ok && n === 3) {
      const cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6);
      if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) ok = false;
    }
    if (ok && n === 4) {
      const cp = ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12);
      if (cp < 0x10000 || cp > 0x10ffff) ok = false;
    }
    if (!ok) break;
    if (c === 0x0a) {
      line++;
      column = 1;
    } else column++;
    i += n;
  }
  return { line, column, offset: i };
}

/** Reads and validates a policy file; the size limit is checked before the file is read. */
export async function loadPolicyFile(path: string, opts: Omit<ParseOptions, 'file'> = {}): Promise<LoadedPolicy> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new PolicyInvalidError(`${path}: cannot read the policy file: ${(cause as Error).message}`, [
      { layer: 'agent', path: '', code: 'unreadable', message: `cannot read the policy file: ${(cause as Error).message}`, rule: null, file: path },
    ], { cause });
  }
  if (size > MAX_POLICY_BYTES) {
    const d: PolicyDiagnostic = { layer: 'agent', path: '', code: 'too_large', message: `the policy is ${size} bytes; the limit is ${MAX_POLICY_BYTES} (256 KB)`, rule: null, file: path, line: 1, column: 1 };
    throw new PolicyInvalidError(formatDiagnostic(d), [d]);
  }
  return parsePolicy(new Uint8Array(await readFile(path)), { ...opts, file: path });
}
