// The seed's quickstart, out of process: an ESM app that instruments after importing openai, and a
// CommonJS app that instruments before requiring it. No loader flags.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeBinaries } from '../../instrumentations/common/test/helpers.js';

const root = new URL('../../', import.meta.url).pathname;

// Node 24 (the running one) and Node 22 (fetched by scripts/test.sh into .node/, passed as CHECKRD_NODE22_BIN).

describe.each(nodeBinaries())('examples/quickstart on %s', (_label, node) => {
  const run = (script: string) => {
    return promisify(execFile)(node, [script], { cwd: root, timeout: 30_000 });
  };

  it('ESM app: allowed, denied by model, rate limited; denied calls never reach the server', async () => {
    const { stdout } = await run('examples/quickstart/app.mjs');
    const verdicts = stdout.split('\n').filter((l) => /^(ALLOW|DENY)/.test(l)).map((l) => l.split(':')[0]);
    expect(verdicts).toEqual(['ALLOW gpt-4o', 'ALLOW gpt-4o-mini', 'DENY  gpt-5', 'ALLOW gpt-4o', 'ALLOW gpt-4o', 'DENY  gpt-4o']);
    expect(stdout).toContain('rule "rate_limit_per_model" (rate_limited)');
    expect(stdout).toContain('received 4 requests');
    expect(stdout.match(/span "POST 127\.0\.0\.1": checkrd\.policy\.result=deny/g)).toHaveLength(2);
  });

  it('CommonJS app: the same guard through require()', async () => {
    const { stdout } = await run('examples/quickstart/app.cjs');
    expect(stdout).toContain('ALLOW gpt-4o');
    expect(stdout).toContain('DENY  gpt-5: default_deny');
    expect(stdout).toContain('received 1');
    expect(stdout).toContain('spans: POST 127.0.0.1=allow, POST 127.0.0.1=deny');
  });
});
