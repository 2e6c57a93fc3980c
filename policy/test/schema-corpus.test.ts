// Runs the policy corpus (test/corpus/valid, test/corpus/invalid) through the JSON Schema
// (schema/policy.schema.json). The engine runs the same corpus in its own test; this one checks the
// schema side and that every invalid file's header is well-formed and points at a real node.
//
// Header of an invalid file (its first three lines):
//   # error-at: LINE:COL     1-based; the start of the offending node (see "positions" below)
//   # error: <short description>
//   # schema: detects | cannot-detect (<why>)
//
// Positions: an unknown or not-allowed key -> the key; a bad value -> the value; a missing key -> the
// start of the mapping that lacks it; a duplicate name -> the second name's value; too many rules ->
// the 201st item; malformed YAML -> where the `yaml` package reports it; an undefined alias -> the alias;
// a file over the size limit, or aliases expanding past it -> 1:1. A node starts at its first
// character: a quoted scalar at its opening quote, a block mapping at its first key, a flow collection
// at its bracket, a sequence item at the item (after "- ").
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Import from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';

type AjvClass = typeof import('ajv/dist/2020.js').default;
// ajv is CommonJS: depending on the interop, the default import is the class or its module object.
const Ajv2020: AjvClass =
  (Ajv2020Import as unknown as { default?: AjvClass }).default ?? (Ajv2020Import as unknown as AjvClass);

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = join(here, '..', 'schema', 'policy.schema.json');
const corpusDir = join(here, 'corpus');

/** Annotation keywords the schema uses for editors (VS Code / yaml-language-server); no validation. */
const EDITOR_KEYWORDS = ['markdownDescription', 'patternErrorMessage', 'errorMessage'];
/** Limits the engine checks and a schema cannot (policy-language.md). */
const MAX_FILE_BYTES = 256 * 1000; // "256 KB"; the corpus stays clear of the 256 000 / 262 144 ambiguity
const MAX_RULES = 200;

const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ allErrors: true, strict: true, keywords: EDITOR_KEYWORDS });
const validate = ajv.compile(schema);

function yamlFiles(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(join(corpusDir, kind))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

interface Loaded {
  src: string;
  doc: Document.Parsed;
  lc: LineCounter;
  /** YAML-level problem (parse error, or the loader refusing an alias), if any. */
  yamlError?: { message: string; offset?: number };
  data?: unknown;
}

function load(path: string): Loaded {
  const src = readFileSync(path, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(src, { lineCounter: lc });
  const e = doc.errors[0];
  if (e) return { src, doc, lc, yamlError: { message: e.message, offset: e.pos[0] } };
  try {
    return { src, doc, lc, data: doc.toJS() };
  } catch (e) {
    return { src, doc, lc, yamlError: { message: (e as Error).message } };
  }
}

interface Header {
  line: number;
  col: number;
  error: string;
  detects: boolean;
  why?: string;
}

const HEADER = [
  /^# error-at: ([1-9][0-9]*):([1-9][0-9]*)$/,
  /^# error: (\S.*)$/,
  /^# schema: (?:(detects)|cannot-detect \((\S.*)\))$/,
];

function parseHeader(src: string): Header | string {
  const lines = src.split('\n', 3);
  const [at, err, sch] = HEADER.map((re, i) => re.exec(lines[i] ?? ''));
  if (!at) return `header line 1 is malformed: ${JSON.stringify(lines[0] ?? '')}`;
  if (!err) return `header line 2 is malformed: ${JSON.stringify(lines[1] ?? '')}`;
  if (!sch) return `header line 3 is malformed: ${JSON.stringify(lines[2] ?? '')}`;
  return { line: Number(at[1]), col: Number(at[2]), error: err[1] ?? '', detects: sch[1] === 'detects', why: sch[2] };
}

function offsetOf(lc: LineCounter, src: string, line: number, col: number): number | undefined {
  const start = lc.lineStarts[line - 1];
  if (line < 1 || start === undefined) return undefined;
  const end = lc.lineStarts[line] ?? src.length + 1;
  const off = start + col - 1;
  return col >= 1 && off < end ? off : undefined;
}

function fmt(lc: LineCounter, offset: number): string {
  const p = lc.linePos(offset);
  return `${p.line}:${p.col}`;
}

/** Start offsets of every node (keys, values, items, aliases) in the document. */
function nodeStarts(doc: Document.Parsed): Set<number> {
  const out = new Set<number>();
  const walk = (n: unknown): void => {
    if (isPair(n)) {
      walk(n.key);
      walk(n.value);
      return;
    }
    if (!n || typeof n !== 'object' || !('range' in n)) return;
    const node = n as YamlNode;
    if (node.range) out.add(node.range[0]);
    if (isMap(node) || isSeq(node)) for (const item of node.items) walk(item);
  };
  walk(doc.contents);
  return out;
}

function aliasStarts(doc: Document.Parsed): Set<number> {
  const out = new Set<number>();
  const walk = (n: unknown): void => {
    if (isPair(n)) return (walk(n.key), walk(n.value));
    if (isAlias(n) && n.range) out.add(n.range[0]);
    if (isMap(n) || isSeq(n)) for (const item of n.items) walk(item);
  };
  walk(doc.contents);
  return out;
}

/** The node at a JSON pointer (Ajv's instancePath), with the pair holding it when it is a map value. */
function nodeAt(doc: Document.Parsed, pointer: string): { node?: YamlNode; pair?: Pair } {
  let node = doc.contents as YamlNode | null;
  let pair: Pair | undefined;
  const segs = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const seg of segs) {
    if (isAlias(node)) node = node.resolve(doc) as YamlNode;
    if (isMap(node)) {
      pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === seg) as Pair | undefined;
      node = (pair?.value ?? null) as YamlNode | null;
    } else if (isSeq(node)) {
      pair = undefined;
      node = (node.items[Number(seg)] ?? null) as YamlNode | null;
    } else {
      return {};
    }
  }
  return { node: node ?? undefined, pair };
}

/** Source ranges [start, end) that an Ajv error blames: the key for an unknown key, else the node (with its key). */
function blamedRanges(doc: Document.Parsed, e: ErrorObject): Array<[number, number]> {
  const { node, pair } = nodeAt(doc, e.instancePath);
  const out: Array<[number, number]> = [];
  if (e.keyword === 'additionalProperties' && isMap(node)) {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    const p = node.items.find((q) => isScalar(q.key) && String(q.key.value) === extra);
    const k = p?.key as YamlNode | undefined;
    if (k?.range) out.push([k.range[0], k.range[1]]);
    return out;
  }
  if (node?.range) out.push([node.range[0], node.range[1]]);
  const k = pair?.key as YamlNode | undefined;
  if (k?.range && node?.range) out.push([k.range[0], node.range[1]]);
  return out;
}

describe('policy.schema.json', () => {
  it('is draft 2020-12 with the published $id and compiles in Ajv strict mode', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('https://checkrd.dev/schema/policy-v1.json');
    expect(typeof schema.title).toBe('string');
    expect(typeof validate).toBe('function');
  });

  it('documents every property and closes every object', () => {
    const problems: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${path}/${i}`));
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (o.type === 'object' && o.additionalProperties !== false) problems.push(`${path}: additionalProperties is not false`);
      if (o.type === 'object' && typeof o.description !== 'string') problems.push(`${path}: no description`);
      for (const [k, v] of Object.entries(o)) {
        if (k === 'examples' || k === 'enum' || k === 'const') continue;
        if (k === 'properties' || k === '$defs' || k === 'dependentSchemas') {
          for (const [name, sub] of Object.entries(v as Record<string, unknown>)) {
            // Boolean subschemas (true/false) only say "allowed" / "not allowed here" next to a documented one.
            const documented = typeof sub === 'boolean' || typeof (sub as { description?: unknown }).description === 'string';
            if (k !== 'dependentSchemas' && !documented) problems.push(`${path}/${k}/${name}: no description`);
            walk(sub, `${path}/${k}/${name}`);
          }
        } else {
          walk(v, `${path}/${k}`);
        }
      }
    };
    walk(schema, '#');
    expect(problems).toEqual([]);
  });
});

describe('valid corpus', () => {
  const files = yamlFiles('valid');

  it('has at least 25 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)('%s passes the schema', (file) => {
    const { src, doc, yamlError, data } = load(join(corpusDir, 'valid', file));
    expect(yamlError, 'YAML error').toBeUndefined();
    expect(doc.warnings.map((w) => w.message)).toEqual([]);
    const ok = validate(data);
    expect(ok ? [] : validate.errors).toEqual([]);
    // What the engine checks beyond the schema must hold too, or the file is not valid.
    expect(Buffer.byteLength(src)).toBeLessThanOrEqual(MAX_FILE_BYTES);
    const rules = ((data as { rules?: Array<{ name: string }> | null }).rules ?? []).map((r) => r.name);
    expect(rules.length).toBeLessThanOrEqual(MAX_RULES);
    expect(rules.filter((n, i) => rules.indexOf(n) !== i), 'duplicate rule names').toEqual([]);
  });
});

describe('invalid corpus', () => {
  const files = yamlFiles('invalid');

  it('has at least 45 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
  });

  it.each(files)('%s has a well-formed header pointing at the mistake', (file) => {
    const { src, doc, lc, yamlError } = load(join(corpusDir, 'invalid', file));
    const h = parseHeader(src);
    if (typeof h === 'string') throw new Error(h);
    const at = offsetOf(lc, src, h.line, h.col);
    expect(at, `error-at ${h.line}:${h.col} lies outside the file`).toBeDefined();
    if (yamlError) {
      // Malformed YAML: the schema never sees it.
      expect(h.detects, 'a YAML-level error cannot be detected by the schema').toBe(false);
      if (yamlError.offset !== undefined) {
        expect(`${h.line}:${h.col}`, yamlError.message).toBe(fmt(lc, yamlError.offset));
      } else {
        // The loader refused an alias: error-at names the alias, or 1:1 when the expansion as a whole
        // is too large (an error about the file, like the size limit).
        const whole = h.line === 1 && h.col === 1;
        expect(whole || aliasStarts(doc).has(at!), `error-at ${h.line}:${h.col} is neither 1:1 nor the start of an alias`).toBe(true);
      }
      return;
    }
    const wholeFile = h.line === 1 && h.col === 1 && Buffer.byteLength(src) > MAX_FILE_BYTES;
    if (!wholeFile) {
      expect(nodeStarts(doc).has(at!), `error-at ${h.line}:${h.col} is not the start of a YAML node`).toBe(true);
    }
  });

  it.each(files)('%s: the schema agrees with its header', (file) => {
    const { src, doc, lc, yamlError, data } = load(join(corpusDir, 'invalid', file));
    const h = parseHeader(src);
    if (typeof h === 'string') throw new Error(h);
    if (yamlError) return; // covered above: never reaches the schema
    const ok = validate(data);
    if (!h.detects) {
      // An honest "cannot-detect": the schema really accepts the file.
      expect(ok ? [] : validate.errors, 'the header says cannot-detect, but the schema rejects the file').toEqual([]);
      return;
    }
    expect(ok, 'the header says detects, but the schema accepts the file').toBe(false);
    const at = offsetOf(lc, src, h.line, h.col)!;
    const errors = validate.errors ?? [];
    // A range may be empty (an empty value, e.g. `limit:` with nothing after it): then it must start there.
    const blamed = errors.some((e) => blamedRanges(doc, e).some(([a, b]) => at === a || (at > a && at < b)));
    const where = errors.map((e) => `${e.instancePath || '/'} ${e.message} [${blamedRanges(doc, e).map(([a, b]) => `${fmt(lc, a)}-${fmt(lc, b)}`).join(', ')}]`);
    expect(blamed, `error-at ${h.line}:${h.col} is not inside any node the schema blames:\n${where.join('\n')}`).toBe(true);
  });
});
