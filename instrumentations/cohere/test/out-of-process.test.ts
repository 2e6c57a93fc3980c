import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeBinaries } from '../../common/test/helpers.js';

// The fixtures load the built package (dist/), as an application would: build first (tsc -b).
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe.each(nodeBinaries())('on %s', (_node, node) => {
describe('cohere instrumentation, out of process: patching a cohere-ai that was imported first', () => {
  for (const [format, file] of [
    ['cjs', 'patch-after-import.cjs'],
    ['esm', 'patch-after-import.mjs'],
    ['cjs-auto', 'auto.cjs'],
  ] as const) {
    it(`${format}: the allowed call passes, the denied one rejects with PolicyDeniedError, unpatching restores`, () => {
      expect(existsSync(built), `${built} is missing: run tsc -b instrumentations/cohere first`).toBe(true);
      const r = spawnSync(node, [fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url))], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(out).toMatchObject({
        format,
        allowed: 'c-1',
        denied: { name: 'PolicyDeniedError', isPolicyDenied: true, isPolicyDeniedError: true },
        evaluations: 2,
        requestsWhilePatched: 1,
        afterUnpatch: 'c-1',
      });
    });
  }
});
});
