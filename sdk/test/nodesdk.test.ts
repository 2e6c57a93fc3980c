// checkrd's instrumentations in a stock OpenTelemetry NodeSDK setup, out of process, on Node 24 and 22.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeBinaries } from '../../instrumentations/common/test/helpers.js';

const root = new URL('../../', import.meta.url).pathname;

describe.each(nodeBinaries())('NodeSDK drop-in on %s', (_label, node) => {
  it('guards openai through registerInstrumentations-style setup, without init()', async () => {
    const { stdout } = await promisify(execFile)(node, ['sdk/test/fixtures/nodesdk.cjs'], { cwd: root, timeout: 30_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { denied: boolean; errorName: string; received: number; spans: [string, string, string][] };
    expect(out).toEqual({
      denied: true,
      errorName: 'PolicyDeniedError',
      received: 1,
      spans: [
        ['POST 127.0.0.1', 'allow', 'openai'],
        ['POST 127.0.0.1', 'deny', 'openai'],
      ],
    });
  });
});
