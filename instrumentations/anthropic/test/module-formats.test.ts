// Out of process: a CommonJS app and an ES module app each load the SDK and create the client first, then
// patch the module object they loaded (require() or import() — two separate copies of the client class).
// And the CommonJS app once more, instrumented before it requires the SDK: the require hook patches it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeBinaries } from '../../common/test/helpers.js';

const root = new URL('../../../', import.meta.url).pathname;
const dist = new URL('../dist/index.js', import.meta.url).pathname;

const cases: [label: string, fixture: string, args: string[]][] = [
  ['patchClient(require(…)) after require', 'app.cjs', []],
  ['patchClient(await import(…)) after import', 'app.mjs', []],
  ['the require hook of init(), instrumented before require', 'app.cjs', ['hook']],
];

describe.each(nodeBinaries())('on %s', (_node, node) => {
describe.each(cases)('%s', (_label, fixture, args) => {
  it('an allowed call goes out, a denied one is refused with PolicyDeniedError and never sent', async () => {
    if (!existsSync(dist)) throw new Error('build first: npx tsc -b instrumentations/anthropic');
    const script = new URL(`fixtures/${fixture}`, import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(node, [script, ...args], { cwd: root, timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(['ALLOW claude-sonnet-5', 'DENY claude-opus-5 PolicyDeniedError default_deny', 'received 1']);
  });
});
});
