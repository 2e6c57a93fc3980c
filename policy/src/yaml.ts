/** YAML to the policy's JSON form, keeping positions so engine diagnostics map back to line:col. */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { PolicyDiagnostic } from '@checkrd/core';

export const MAX_POLICY_BYTES = 256 * 1024;

export interface ParsedYaml {
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

function diag(message: string, code: string, line?: number, column?: number): PolicyDiagnostic {
  return { layer: 'agent', path: '', code, message, rule: null, ...(line !== undefined ? { line, column } : {}) };
}

/** Parses YAML text; returns diagnostics (with positions) instead of throwing. */
export function parseYaml(text: string): { ok: true; parsed: ParsedYaml } | { ok: false; errors: PolicyDiagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    version: '1.2',
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
    customTags: [],
  });
  if (doc.errors.length) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
        return diag(`YAML syntax: ${msg}`, e.code === 'DUPLICATE_KEY' ? 'duplicate_key' : 'yaml_syntax', pos.line, pos.col);
      }),
    };
  }
  let usesAlias = false;
  const anchors = new Set<string>();
  let unresolved: PolicyDiagnostic | undefined;
  const visit = (n: unknown): void => {
    const anchor = (n as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.add(anchor);
    if (isAlias(n)) {
      usesAlias = true;
      if (!anchors.has(n.source) && !unresolved) {
        const pos = lines.linePos(n.range?.[0] ?? 0);
        unresolved = diag(`YAML syntax: alias *${n.source} refers to no anchor &${n.source} defined before it`, 'yaml_syntax', pos.line, pos.col);
      }
    }
    else if (isMap(n) || isSeq(n)) for (const it of n.items) visit(it);
    else if (isPair(n)) {
      visit(n.key);
      visit(n.value);
    }
  };
  visit(doc.contents);
  if (unresolved) return { ok: false, errors: [unresolved] };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [diag(`YAML aliases expand too far (${(e as Error).message}); the policy may not expand past ${MAX_POLICY_BYTES} bytes`, 'alias_expansion', 1, 1)] };
  }
  if (usesAlias) {
    const expanded = JSON.stringify(value)?.length ?? 0;
    if (expanded > MAX_POLICY_BYTES) {
      return { ok: false, errors: [diag(`YAML aliases expand the policy to ${expanded} bytes; the limit is ${MAX_POLICY_BYTES}`, 'alias_expansion', 1, 1)] };
    }
  }
  return { ok: true, parsed: { value, doc, lines } };
}

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Finds the YAML position of a JSON pointer. For unknown keys the key itself is the position;
 * otherwise the value; where the path ends early (a missing key), the closest enclosing node.
 */
export function locate(p: ParsedYaml, pointer: string, code: string): { line: number; column: number } {
  const segs = pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointer);
  let node: unknown = p.doc.contents;
  let keyNode: unknown;
  for (const seg of segs) {
    keyNode = undefined;
    if (isAlias(node)) node = node.resolve(p.doc);
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === seg);
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      node = item;
    } else break;
  }
  const target = ((code === 'unknown_key' || code === 'misplaced_key') && keyNode ? keyNode : node) as Node | undefined;
  const offset = target?.range?.[0] ?? 0;
  const pos = p.lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}
