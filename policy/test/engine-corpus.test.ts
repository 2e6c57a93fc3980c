// The schema and the engine agree on the corpus (test/corpus). schema-corpus.test.ts runs the corpus
// through the JSON Schema; this file runs it through what the SDK and the CLI really use:
//   - parsePolicy(bytes, { file }) — the YAML loader plus the engine's validation (wasm);
//   - validatePolicy(data) from @checkrd/core — the engine alone, on the parsed YAML.
//
// valid/*.yaml   → parsePolicy accepts it, and so does the engine alone.
// invalid/*.yaml → parsePolicy rejects it with PolicyInvalidError, one of whose diagnostics is at
//                  exactly the header's `# error-at: LINE:COL` and names the file; and the engine alone
//                  rejects the parsed data too, unless the file is in LOADER_ONLY below (problems that
//                  exist only in the YAML text, which the engine never sees).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validatePolicy, type PolicyDocument } from '@checkrd/core';
import { formatDiagnostic, parsePolicy, PolicyInvalidError, type PolicyDiagnostic } from '../src/index.js';

const corpusDir = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

function yamlFiles(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(join(corpusDir, kind))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

function bytesOf(kind: 'valid' | 'invalid', file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(corpusDir, kind, file)));
}

/**
 * Invalid files whose problem lives in the YAML text, not in the data: the loader (@checkrd/policy)
 * rejects them before the engine is asked, so "the engine alone rejects it" does not apply. They are
 * still held to everything else: parsePolicy rejects them, at the header's position, with this code.
 */
const LOADER_ONLY: Record<string, { code: string; reason: string }> = {
  'file-too-large.yaml': { code: 'too_large', reason: 'only the byte-size check in parsePolicy sees the size of the text; the engine gets parsed data' },
  'yaml-alias-bomb.yaml': { code: 'alias_expansion', reason: 'the YAML loader refuses the alias expansion before there is any data' },
  'yaml-bad-indentation.yaml': { code: 'yaml_syntax', reason: 'malformed YAML: there is no data for the engine' },
  'yaml-duplicate-key.yaml': { code: 'duplicate_key', reason: 'a duplicate mapping key is a YAML error; parsed data would silently keep one value' },
  'yaml-multiple-documents.yaml': { code: 'yaml_syntax', reason: 'a second YAML document is a YAML-level error' },
  'yaml-tab-indent.yaml': { code: 'yaml_syntax', reason: 'malformed YAML: there is no data for the engine' },
  'yaml-unclosed-flow-sequence.yaml': { code: 'yaml_syntax', reason: 'malformed YAML: there is no data for the engine' },
  'yaml-unclosed-quote.yaml': { code: 'yaml_syntax', reason: 'malformed YAML: there is no data for the engine' },
  'yaml-undefined-alias.yaml': { code: 'yaml_syntax', reason: 'an alias without its anchor is a YAML-level error' },
};

interface Header {
  line: number;
  column: number;
  error: string;
}

function header(src: string): Header {
  const m = /^# error-at: (\d+):(\d+)\n# error: (.+)\n/.exec(src);
  if (!m) throw new Error('the file has no "# error-at: L:C" / "# error: …" header');
  return { line: Number(m[1]), column: Number(m[2]), error: m[3]! };
}

async function rejection(bytes: Uint8Array, file: string): Promise<PolicyInvalidError> {
  try {
    await parsePolicy(bytes, { file });
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e;
    throw e;
  }
  throw new Error(`parsePolicy accepted ${file}`);
}

const where = (d: PolicyDiagnostic): string => `${d.line}:${d.column} [${d.code}] ${d.message}`;

/** The name of rules[N] when a diagnostic's path is inside rule N and that rule has a usable name. */
function ruleNameAt(data: unknown, path: string): string | undefined {
  const m = /^\/rules\/(\d+)\//.exec(path);
  if (!m) return undefined;
  const rules = (data as { rules?: unknown } | null)?.rules;
  const rule = Array.isArray(rules) ? (rules[Number(m[1])] as { name?: unknown } | undefined) : undefined;
  return typeof rule?.name === 'string' && rule.name !== '' ? rule.name : undefined;
}

describe('valid corpus through parsePolicy and the engine', () => {
  const files = yamlFiles('valid');

  it('has files', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)('%s loads without errors', async (file) => {
    let loaded;
    try {
      loaded = await parsePolicy(bytesOf('valid', file), { file });
    } catch (e) {
      const diags = e instanceof PolicyInvalidError ? e.diagnostics.map(formatDiagnostic).join('\n') : String(e);
      throw new Error(`parsePolicy rejected a valid file:\n${diags}`);
    }
    expect(loaded.file).toBe(file);
    expect(loaded.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Warnings are positioned too (e.g. `mode` omitted).
    for (const w of loaded.warnings) {
      expect(w.file, where(w)).toBe(file);
      expect(w.line, where(w)).toBeGreaterThanOrEqual(1);
      expect(w.column, where(w)).toBeGreaterThanOrEqual(1);
    }
  });

  it.each(files)('%s is accepted by the engine alone', async (file) => {
    const data = parse(readFileSync(join(corpusDir, 'valid', file), 'utf8'), { version: '1.2', schema: 'core' }) as PolicyDocument;
    const result = await validatePolicy(data);
    expect(result.ok ? [] : result.errors.map((d) => `${d.path} [${d.code}] ${d.message}`)).toEqual([]);
  });
});

describe('invalid corpus through parsePolicy and the engine', () => {
  const files = yamlFiles('invalid');

  it('has files, and every LOADER_ONLY entry names a corpus file', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
    expect(Object.keys(LOADER_ONLY).filter((f) => !files.includes(f))).toEqual([]);
  });

  it.each(files)('%s is rejected at its header position', async (file) => {
    const bytes = bytesOf('invalid', file);
    const h = header(new TextDecoder().decode(bytes.subarray(0, 4096)));
    const e = await rejection(bytes, file);
    expect(e.diagnostics.length, 'no diagnostics').toBeGreaterThan(0);
    for (const d of e.diagnostics) {
      expect(d.file, where(d)).toBe(file);
      expect(d.message.length, where(d)).toBeGreaterThan(0);
    }
    const at = e.diagnostics.filter((d) => d.line === h.line && d.column === h.column);
    expect(
      at.length,
      `expected a diagnostic at ${h.line}:${h.column} (${h.error}); got:\n${e.diagnostics.map(where).join('\n')}`,
    ).toBeGreaterThan(0);
    const exception = LOADER_ONLY[file];
    if (exception) expect(at.map((d) => d.code), exception.reason).toContain(exception.code);
    // The formatted message carries file:line:col too (it is what the CLI prints).
    expect(e.message).toContain(`${file}:${h.line}:${h.column}: `);
  });

  it.each(files.filter((f) => !(f in LOADER_ONLY)))('%s is rejected by the engine alone', async (file) => {
    const data = parse(readFileSync(join(corpusDir, 'invalid', file), 'utf8'), { version: '1.2', schema: 'core' }) as PolicyDocument;
    const result = await validatePolicy(data);
    expect(result.ok, 'the engine accepts the parsed data').toBe(false);
  });

  it.each(files.filter((f) => !(f in LOADER_ONLY)))('%s: diagnostics inside a named rule name that rule', async (file) => {
    const src = readFileSync(join(corpusDir, 'invalid', file), 'utf8');
    const data = parse(src, { version: '1.2', schema: 'core' }) as unknown;
    const e = await rejection(new TextEncoder().encode(src), file);
    const inRules = e.diagnostics.filter((d) => ruleNameAt(data, d.path) !== undefined);
    for (const d of inRules) expect(d.rule, where(d)).toBe(ruleNameAt(data, d.path));
    // Every file here has at least one diagnostic; the check above is vacuous only for top-level problems.
    expect(e.diagnostics.length).toBeGreaterThan(0);
  });
});
