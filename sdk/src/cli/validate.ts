import { parseArgs } from 'node:util';
import { PolicyInvalidError } from '@checkrd/core';
import { formatDiagnostic, hashPolicy, loadPolicyFile, policySchema, type LoadedPolicy } from '@checkrd/policy';
import { println, readUserFile, UsageError, type Io } from './io.js';

export async function loadOrg(path: string | undefined): Promise<LoadedPolicy | null> {
  return path ? loadPolicyFile(path) : null;
}

export async function validateCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { org: { type: 'string' }, 'require-agent': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  if (!positionals.length) throw new UsageError('validate needs at least one policy file');
  const org = await loadOrg(values.org);
  let invalid = 0;
  const report: unknown[] = [];
  for (const file of positionals) {
    try {
      const p = await loadPolicyFile(file, { orgPolicy: org, requireAgent: values['require-agent'] ?? false });
      for (const w of p.warnings) if (!values.json) println(io.stderr, formatDiagnostic(w).replace(/: /, ': warning: '));
      report.push({ file, ok: true, hash: p.hash, warnings: p.warnings });
      if (!values.json) println(io.stdout, `${file}: ok (${p.hash})`);
    } catch (e) {
      if (!(e instanceof PolicyInvalidError)) throw e;
      invalid++;
      report.push({ file, ok: false, errors: e.diagnostics });
      if (!values.json) for (const d of e.diagnostics) println(io.stderr, formatDiagnostic(d));
    }
  }
  if (values.json) println(io.stdout, JSON.stringify(report, null, 2));
  else println(io.stderr, `${positionals.length - invalid} valid, ${invalid} invalid`);
  return invalid ? 1 : 0;
}

export async function hashCommand(args: string[], io: Io): Promise<number> {
  if (args.length !== 1) throw new UsageError('hash takes one policy file');
  println(io.stdout, hashPolicy(new Uint8Array(await readUserFile(args[0]!, 'policy file'))));
  return 0;
}

export function schemaCommand(io: Io): number {
  println(io.stdout, JSON.stringify(policySchema(), null, 2));
  return 0;
}
