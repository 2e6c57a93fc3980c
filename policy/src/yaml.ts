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
  // Aliases: every alias must refer to an anchor defined before it, and the document expanded
  // (aliases replaced by what they refer to) may not exceed the size limit. The expanded size is
  // computed on the tree with one memo per node, so a billion-laughs document is measured, never built.
  const anchors = new Set<string>();
  let unresolved: PolicyDiagnostic | undefined;
  const memo = new Map<unknown, number>();
  const size = (n: unknown): number => {
    if (n === null || n === undefined) return 4;
    const known = memo.get(n);
    if (known !== undefined) return known;
    let total: number;
    const anchor = (n as { anchor?: string }).anchor;
    if (anchor) anchors.add(anchor);
    if (isAlias(n)) {
      const target = n.resolve(doc);
      if (!anchors.has(n.source) || !target) {
        if (!unresolved) {
          const pos = lines.linePos(n.range?.[0] ?? 0);
          unresolved = diag(`YAML syntax: alias *${n.source} refers to no anchor &${n.source} defined before it`, 'yaml_syntax', pos.line, pos.col);
        }
        total = 0;
      } else total = size(target);
    } else if (isMap(n) || isSeq(n)) {
      total = 2;
      for (const it of n.items) {
        total += size(it) + 1;
        if (total > MAX_POLICY_BYTES) break;
      }
    } else if (isPair(n)) {
      total = size(n.key) + size(n.value) + 1;
    } else if (isScalar(n)) {
      total = String(n.value).length + 2;
    } else total = 4;
    total = Math.min(total, MAX_POLICY_BYTES + 1);
    memo.set(n, total);
    return total;
  };
  const expanded = size(doc.contents);
  if (unresolved) return { ok: false, errors: [unresolved] };
  if (expanded > MAX_POLICY_BYTES) {
    return { ok: false, errors: [diag(`YAML aliases expand the policy past ${MAX_POLICY_BYTES} bytes (256 KB), the size limit`, 'alias_expansion', 1, 1)] };
  }
  const value: unknown = doc.toJS({ maxAliasCount: -1 });
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
