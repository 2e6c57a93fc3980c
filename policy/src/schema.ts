import { readFileSync } from 'node:fs';

let cached: object | undefined;

/** The JSON Schema of the policy format (also at `@checkrd/policy/schema.json`). */
export function policySchema(): object {
  cached ??= JSON.parse(readFileSync(new URL('../schema/policy.schema.json', import.meta.url), 'utf8')) as object;
  return cached;
}
