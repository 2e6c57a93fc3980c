import { PolicyInvalidError, type PolicyDiagnostic } from '@checkrd/core';

export { PolicyInvalidError, type PolicyDiagnostic };

/** `file:line:col: message (rule "name")`, the format editors and CI logs understand. */
export function formatDiagnostic(d: PolicyDiagnostic): string {
  const where = [d.file ?? '<policy>', d.line, d.column].filter((x) => x !== undefined).join(':');
  const rule = d.rule ? ` (rule "${d.rule}")` : '';
  const layer = d.layer === 'org' ? ' [org policy]' : '';
  return `${where}: ${d.message}${rule}${layer}`;
}
