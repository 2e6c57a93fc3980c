// The checkrd CLI, out of process: `node sdk/bin/checkrd.js …` exactly as a user or CI runs it
// (the bin imports sdk/dist, so the packages must be built: ./run build).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'sdk', 'bin', 'checkrd.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function checkrd(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 30_000, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`checkrd ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const yaml = (...ls: string[]): string => ls.join('\n') + '\n';
const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
const CHAT = 'https://api.openai.com/v1/chat/completions';

let dir: string;
const file = (name: string, content: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

// The seed policy, a richer one for --explain / headers / time, and a small rate limit.
let seed: string;
let rich: string;
let twoPerMinute: string;

beforeAll(() => {
  if (!existsSync(join(root, 'sdk', 'dist', 'cli', 'main.js'))) throw new Error('sdk/dist is missing: run ./run build first');
  dir = mkdtempSync(join(tmpdir(), 'checkrd-cli-'));
  seed = file('seed.yaml', readFileSync(join(root, 'examples', 'policy-demo', 'policy.yaml')));
  rich = file(
    'rich.yaml',
    yaml(
      'default: deny',
      'mode: enforce',
      'rules:',
      '  - name: no_admin',
      '    deny:',
      '      url: "**/admin/**"',
      '  - name: no_billing_team',
      '    deny:',
      '      headers:',
      '        - name: x-team',
      '          exact: billing',
      '  - name: office_hours_only',
      '    deny:',
      '      time_outside: "09:00-17:00"',
      '      timezone: UTC',
      '  - name: allow_chat',
      '    allow:',
      '      method: [POST]',
      '      url: "api.openai.com/v1/chat/completions"',
      '      body:',
      '        - jsonpath: "$.model"',
      '          in: [gpt-4o]',
      '  - name: chat_limit',
      '    limit:',
      '      per: global',
      '      calls_per_minute: 5',
    ),
  );
  twoPerMinute = file('two.yaml', yaml('default: allow', 'mode: enforce', 'rules:', '  - name: two_per_minute', '    limit:', '      per: global', '      calls_per_minute: 2'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('checkrd validate', () => {
  it('a valid policy: exit 0, prints the file and its hash', async () => {
    const r = await checkrd(['validate', seed]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([`${seed}: ok (${sha(readFileSync(seed))})`]);
    expect(r.stderr).toMatch(/1 valid, 0 invalid/);
  });

  it('an invalid policy: exit 1, every error on stderr as file:line:col: message (rule "…")', async () => {
    const bad = file('bad.yaml', yaml('# comment', 'default: deny', 'mode: enforce', 'rules:', '  - name: chat', '    alow:', '      method: [POST]', '  - name: chat2', '    deny:', '      url: "ftp://x.com/**"'));
    const r = await checkrd(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    // The messages themselves come from --json; the text form must be exactly file:line:col: message (rule "…").
    const json = JSON.parse((await checkrd(['validate', '--json', bad])).stdout) as Array<{ errors: Array<{ line: number; column: number; message: string; rule: string }> }>;
    const errors = json[0]!.errors;
    expect(errors.map((e) => `${e.line}:${e.column} ${e.rule}`)).toEqual(expect.arrayContaining(['6:5 chat', '10:12 chat2']));
    const expected = errors.map((e) => `${bad}:${e.line}:${e.column}: ${e.message} (rule "${e.rule}")`);
    const errLines = lines(r.stderr);
    expect(errLines.slice(0, -1)).toEqual(expected);
    expect(errLines.at(-1)).toBe('0 valid, 1 invalid');
    expect(r.stderr).toContain(`${bad}:6:5: unknown key \`alow\``);
    expect(r.stderr).toMatch(/did you mean `allow`\?/);
    expect(r.stderr).toContain(`${bad}:10:12: `);
    expect(r.stderr).toMatch(/ftp:\/\//);
  });

  it('several files: reports each, exit 1 if any is invalid', async () => {
    const bad = file('bad-default.yaml', yaml('default: maybe', 'mode: enforce', 'rules: []'));
    const good = file('good.yaml', yaml('default: allow', 'mode: dry_run', 'rules: []'));
    const r = await checkrd(['validate', seed, bad, good]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([`${seed}: ok (${sha(readFileSync(seed))})`, `${good}: ok (${sha(readFileSync(good))})`]);
    const errLines = lines(r.stderr);
    expect(errLines[0]).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:10: .*\`maybe\``));
    expect(errLines.at(-1)).toBe('2 valid, 1 invalid');
  });

  it('all of several files valid: exit 0', async () => {
    const good = file('good2.yaml', yaml('default: deny', 'mode: enforce', 'rules: []'));
    const r = await checkrd(['validate', seed, good]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(2);
    expect(r.stderr).toMatch(/2 valid, 0 invalid/);
  });

  it('warns (with file:line:col) when mode is omitted, and still exits 0', async () => {
    const p = file('nomode.yaml', yaml('# no mode', 'default: deny', 'rules: []'));
    const r = await checkrd(['validate', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${p}: ok (sha256:`);
    const warning = lines(r.stderr).find((l) => l.includes('warning'));
    expect(warning).toBeDefined();
    expect(warning!.startsWith(`${p}:2:1: warning: `)).toBe(true);
    expect(warning).toMatch(/`mode`/);
    expect(warning).toMatch(/dry_run/);
  });

  it('--json: one machine-readable report with hashes, errors and warnings', async () => {
    const bad = file('bad-json.yaml', yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    deny:', '      method: [FETCH]'));
    const nomode = file('nomode-json.yaml', yaml('default: deny', 'rules: []'));
    const r = await checkrd(['validate', '--json', seed, bad, nomode]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(report).toHaveLength(3);
    expect(report[0]).toMatchObject({ file: seed, ok: true, hash: sha(readFileSync(seed)), warnings: [] });
    expect(report[1]).toMatchObject({ file: bad, ok: false, errors: [expect.objectContaining({ file: bad, line: 6, column: 16, rule: 'r', message: expect.stringContaining('FETCH') })] });
    expect(report[2]).toMatchObject({ file: nomode, ok: true, warnings: [expect.objectContaining({ code: 'mode_omitted', line: 1, column: 1, file: nomode })] });
  });
});

describe('checkrd eval (one request)', () => {
  it('gpt-4o chat is allowed', async () => {
    const r = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-4o"}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ result: 'allow', enforced: true, matched_rule: 'allow_openai_chat', reason: 'rule_allow', rule_source: 'agent' });
  });

  it('gpt-5 is denied by the default', async () => {
    const r = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-5"}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ result: 'deny', enforced: true, matched_rule: null, reason: 'default_deny', rule_source: 'agent' });
  });

  it('--explain lists every rule tried, in order, with its outcome', async () => {
    const r = await checkrd(['eval', rich, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-4o"}', '--time', '2026-01-01T12:00:00Z', '--explain']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { result: string; matched_rule: string; explanation: Array<{ rule: string; outcome: string }> };
    expect(d.result).toBe('allow');
    expect(d.matched_rule).toBe('allow_chat');
    expect(d.explanation.map((s) => s.rule)).toEqual(['no_admin', 'no_billing_team', 'office_hours_only', 'allow_chat', 'chat_limit']);
    expect(d.explanation.find((s) => s.rule === 'allow_chat')!.outcome).toBe('matched');
    expect(d.explanation.find((s) => s.rule === 'no_admin')!.outcome).toBe('no_match');
  });

  it('--explain on a denial says why the allow rule did not match', async () => {
    const r = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-5"}', '--explain']);
    const d = JSON.parse(r.stdout) as { reason: string; explanation: Array<{ rule: string; outcome: string; detail: string }> };
    expect(d.reason).toBe('default_deny');
    expect(d.explanation).toEqual([expect.objectContaining({ rule: 'allow_openai_chat', outcome: 'no_match', detail: expect.stringContaining('$.model') })]);
  });

  it('--header name:value is matched (names case-insensitive, spaces trimmed)', async () => {
    const base = ['eval', rich, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-4o"}', '--time', '2026-01-01T12:00:00Z'];
    const without = JSON.parse((await checkrd(base)).stdout) as { result: string };
    expect(without.result).toBe('allow');
    for (const h of ['x-team:billing', 'X-Team: billing']) {
      const r = await checkrd([...base, '--header', h]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ result: 'deny', matched_rule: 'no_billing_team', reason: 'rule_deny' });
    }
    const other = await checkrd([...base, '--header', 'x-team:sales', '--header', 'x-other:billing']);
    expect(JSON.parse(other.stdout)).toMatchObject({ result: 'allow' });
  });

  it('--header without a colon is a usage error (exit 2)', async () => {
    const r = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--header', 'nocolon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--header must be name:value/);
  });

  it('--body @file reads the body from a file', async () => {
    const allowed = file('body-ok.json', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }));
    const denied = file('body-no.json', JSON.stringify({ model: 'gpt-5' }));
    const a = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--body', `@${allowed}`]);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ result: 'allow', matched_rule: 'allow_openai_chat' });
    const d = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--body', `@${denied}`]);
    expect(JSON.parse(d.stdout)).toMatchObject({ result: 'deny', reason: 'default_deny' });
  });

  it.each([
    ['ISO 8601', '2026-01-01T12:00:00Z', '2026-01-01T03:00:00Z'],
    ['ms since the epoch', String(Date.UTC(2026, 0, 1, 12)), String(Date.UTC(2026, 0, 1, 3))],
  ])('--time as %s sets the request time', async (_what, inside, outside) => {
    const base = ['eval', rich, '--method', 'POST', '--url', CHAT, '--body', '{"model":"gpt-4o"}', '--time'];
    const day = await checkrd([...base, inside]);
    expect(JSON.parse(day.stdout)).toMatchObject({ result: 'allow', matched_rule: 'allow_chat' });
    const night = await checkrd([...base, outside]);
    expect(JSON.parse(night.stdout)).toMatchObject({ result: 'deny', matched_rule: 'office_hours_only', reason: 'rule_deny' });
  });

  it('--time that is not a time is a usage error naming the value', async () => {
    const r = await checkrd(['eval', seed, '--method', 'POST', '--url', CHAT, '--time', 'tomorrow-ish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tomorrow-ish');
  });
});

describe('checkrd eval --requests', () => {
  const req = (extra: Record<string, unknown> = {}) => JSON.stringify({ method: 'GET', url: 'https://api.example.com/x', time: '2026-01-01T00:00:00Z', ...extra });

  it('one JSON decision per line; rate limits carry across lines (2 per minute: allow, allow, deny)', async () => {
    const reqs = file('three.jsonl', [req(), req(), req()].join('\n') + '\n');
    const r = await checkrd(['eval', twoPerMinute, '--requests', reqs]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((d) => [d.result, d.reason, d.matched_rule])).toEqual([
      ['allow', 'default_allow', null],
      ['allow', 'default_allow', null],
      ['deny', 'rate_limited', 'two_per_minute'],
    ]);
  });

  it('--requests - reads standard input', async () => {
    const r = await checkrd(['eval', twoPerMinute, '--requests', '-'], [req(), req(), req()].join('\n') + '\n');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual(['default_allow', 'default_allow', 'rate_limited']);
  });

  it('a line a minute later is admitted again', async () => {
    const r = await checkrd(['eval', twoPerMinute, '--requests', '-'], [req(), req(), req(), req({ time: '2026-01-01T00:01:00Z' })].join('\n'));
    expect(lines(r.stdout).map((l) => (JSON.parse(l) as { result: string }).result)).toEqual(['allow', 'allow', 'deny', 'allow']);
  });

  it('a malformed line gives an error object for that line; the others are still evaluated; exit 1', async () => {
    const input = [req(), 'not json', req(), JSON.stringify({ url: 'https://api.example.com/x' }), req()].join('\n') + '\n';
    for (const [args, stdin] of [
      [['--requests', file('mixed.jsonl', input)], undefined],
      [['--requests', '-'], input],
    ] as const) {
      const r = await checkrd(['eval', twoPerMinute, ...args], stdin);
      expect(r.code).toBe(1);
      const out = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(out).toHaveLength(5);
      expect(out[0]).toMatchObject({ result: 'allow' });
      expect(out[1]).toMatchObject({ line: 2, error: expect.stringMatching(/:2: not JSON/) });
      expect(out[2]).toMatchObject({ result: 'allow' });
      expect(out[3]).toMatchObject({ line: 4, error: expect.stringMatching(/"method"/) });
      // A bad line consumes no quota: the 5th line is the 3rd real request, so it is rate limited.
      expect(out[4]).toMatchObject({ result: 'deny', reason: 'rate_limited' });
      expect(r.stderr).toMatch(/:2: not JSON/);
    }
  });
});

describe('checkrd test', () => {
  it('the policy-demo cases pass against the seed policy', async () => {
    const r = await checkrd(['test', 'examples/policy-demo/policy.yaml', 'examples/policy-demo/cases.yaml']);
    expect(r.stdout + r.stderr).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
    const m = /examples\/policy-demo\/policy\.yaml: (\d+) of (\d+) cases passed$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(Number(m![2])).toBeGreaterThanOrEqual(4);
  });

  it('the policy-demo cases cover gpt-4o allowed, gpt-5 denied, GET denied and the 101st call rate limited', () => {
    const cases = readFileSync(join(root, 'examples', 'policy-demo', 'cases.yaml'), 'utf8');
    expect(cases).toMatch(/model: gpt-4o\b/);
    expect(cases).toMatch(/model: gpt-5\b/);
    expect(cases).toMatch(/method: GET/);
    expect(cases).toMatch(/repeat: 100/);
    expect(cases).toMatch(/reason: rate_limited/);
  });

  it('all passing: exit 0 and a summary', async () => {
    const cases = file(
      'pass.yaml',
      yaml(
        'cases:',
        '  - name: gpt-4o allowed',
        `    request: { method: POST, url: "${CHAT}", body: { model: gpt-4o } }`,
        '    expect: { result: allow, rule: allow_openai_chat, reason: rule_allow, enforced: true, source: agent }',
        '  - name: GET denied',
        `    request: { method: GET, url: "${CHAT}" }`,
        '    expect: { result: deny, reason: default_deny }',
      ),
    );
    const r = await checkrd(['test', seed, cases]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${seed}: 2 of 2 cases passed\n`);
  });

  it('a failing case: exit 1, names the case and shows expected vs got', async () => {
    const cases = file(
      'fail.yaml',
      yaml(
        'cases:',
        '  - name: passes',
        `    request: { method: POST, url: "${CHAT}", body: { model: gpt-4o } }`,
        '    expect: { result: allow }',
        '  - name: gpt-5 wrongly expected to pass',
        `    request: { method: POST, url: "${CHAT}", body: { model: gpt-5 } }`,
        '    expect: { result: allow, rule: allow_openai_chat }',
      ),
    );
    const r = await checkrd(['test', seed, cases]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL gpt-5 wrongly expected to pass');
    expect(r.stdout).not.toContain('FAIL passes');
    expect(r.stdout).toMatch(/expected result="allow" rule="allow_openai_chat"/);
    expect(r.stdout).toMatch(/got result="deny" rule=null/);
    expect(r.stdout).toContain(`${seed}: 1 of 2 cases passed, 1 failed`);
  });

  it('steps with repeat share one engine (rate limits carry across steps)', async () => {
    const steps = (n: number) =>
      yaml(
        'cases:',
        '  - name: the third call in a minute is rate limited',
        '    steps:',
        `      - request: &r { method: GET, url: "https://api.example.com/x" }`,
        '        time: "2026-01-01T00:00:00Z"',
        `        repeat: ${n}`,
        '        expect: { result: allow }',
        '      - request: *r',
        '        time: "2026-01-01T00:00:30Z"',
        '        expect: { result: deny, reason: rate_limited, rule: two_per_minute }',
      );
    const ok = await checkrd(['test', twoPerMinute, file('steps-ok.yaml', steps(2))]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/1 of 1 cases passed/);
    // One call fewer: the last step is admitted, and the failure names the step.
    const bad = await checkrd(['test', twoPerMinute, file('steps-bad.yaml', steps(1))]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/step 2: expected result="deny"/);
    expect(bad.stdout).toMatch(/got result="allow"/);
  });
});

describe('checkrd hash and schema', () => {
  it('hash prints sha256 of the exact file bytes', async () => {
    const bytes = Buffer.from('# ünïcödé\r\ndefault: deny\r\nmode: enforce\r\nrules: []\r\n  \r\n');
    const p = file('hash.yaml', bytes);
    const r = await checkrd(['hash', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${sha(bytes)}\n`);
  });

  it('hash agrees with validate', async () => {
    const h = (await checkrd(['hash', seed])).stdout.trim();
    const v = await checkrd(['validate', seed]);
    expect(v.stdout).toContain(`(${h})`);
  });

  it('schema prints the JSON Schema', async () => {
    const r = await checkrd(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('https://checkrd.dev/schema/policy-v1.json');
    expect(schema).toEqual(JSON.parse(readFileSync(join(root, 'policy', 'schema', 'policy.schema.json'), 'utf8')));
  });
});

describe('usage and file errors', () => {
  it('an unknown command: exit 2 with a usage hint', async () => {
    const r = await checkrd(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toMatch(/checkrd help/);
  });

  it('no command: exit 2 and the usage', async () => {
    const r = await checkrd([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^usage: checkrd <command>/);
  });

  it('an unknown option: exit 2 with a usage hint', async () => {
    const r = await checkrd(['validate', '--frob', seed]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--frob/);
    expect(r.stderr).toMatch(/checkrd help/);
  });

  // A missing file: exit 1 and one clear message naming the file and saying it does not exist; no stack trace.
  const missing = () => join(dir, 'does-not-exist.yaml');
  it.each([
    ['validate', () => ['validate', missing()]],
    ['eval', () => ['eval', missing(), '--method', 'GET', '--url', 'https://a.example/']],
    ['test (policy)', () => ['test', missing(), join(root, 'examples', 'policy-demo', 'cases.yaml')]],
    ['test (cases)', () => ['test', seed, missing()]],
    ['hash', () => ['hash', missing()]],
    ['eval --body @file', () => ['eval', seed, '--method', 'POST', '--url', CHAT, '--body', `@${missing()}`]],
    ['eval --requests file', () => ['eval', seed, '--requests', missing()]],
  ])('a missing file (%s): a clear error and exit 1', async (_what, args) => {
    const r = await checkrd(args());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing());
    expect(r.stderr).toMatch(/no such file/i);
    expect(r.stderr, 'a stack trace is not a clear error').not.toMatch(/^\s+at /m);
  });
});
