// The seed's quickstart, out of process: an ESM app that instruments after importing openai, and a
// CommonJS app that instruments before requiring it. No loader flags.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

describe('examples/quickstart', () => {
  it('ESM app: allowed, denied by model, rate limited; denied calls never reach the server', async () => {
    const { stdout } = await run(process.execPath, ['examples/quickstart/app.mjs'], { cwd: root, timeout: 30_000 });
    const verdicts = stdout.split('\n').filter((l) => /^(ALLOW|DENY)/.test(l)).map((l) => l.split(':')[0]);
    expect(verdicts).toEqual(['ALLOW gpt-4o', 'ALLOW gpt-4o-mini', 'DENY  gpt-5', 'ALLOW gpt-4o', 'ALLOW gpt-4o', 'DENY  gpt-4o']);
    expect(stdout).toContain('rule "rate_limit_per_model" (rate_limited)');
    expect(stdout).toContain('received 4 requests');
    expect(stdout.match(/span "POST 127\.0\.0\.1": checkrd\.policy\.result=deny/g)).toHaveLength(2);
  });

  it('CommonJS app: the same guard through require()', async () => {
    const { stdout } = await run(process.execPath, ['examples/quickstart/app.cjs'], { cwd: root, timeout: 30_000 });
    expect(stdout).toContain('ALLOW gpt-4o');
    expect(stdout).toContain('DENY  gpt-5: default_deny');
    expect(stdout).toContain('received 1');
    expect(stdout).toContain('spans: POST 127.0.0.1=allow, POST 127.0.0.1=deny');
  });
});
