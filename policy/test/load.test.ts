// Loading policies: bad input of every kind must be rejected with a PolicyInvalidError whose diagnostics
// say what is wrong and where (file:line:col, and the rule), and good input must load with its hash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatDiagnostic,
  hashPolicy,
  loadPolicyFile,
  MAX_POLICY_BYTES,
  parsePolicy,
  PolicyInvalidError,
  type LoadedPolicy,
  type PolicyDiagnostic,
} from '../src/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILE = 'agent.yaml';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkrd-policy-load-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Joins lines with "\n" and a final newline. */
const yaml = (...lines: string[]): string => lines.join('\n') + '\n';

async function rejected(source: string | Uint8Array, opts: Parameters<typeof parsePolicy>[1] = { file: FILE }): Promise<PolicyInvalidError> {
  try {
    await parsePolicy(source, opts);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e;
    throw e;
  }
  throw new Error('the policy was accepted');
}

async function loadRejected(path: string): Promise<PolicyInvalidError> {
  try {
    await loadPolicyFile(path);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e;
    throw e;
  }
  throw new Error('the policy file was accepted');
}

/** The one diagnostic with this code (fails when there is none). */
function only(e: PolicyInvalidError, code: string): PolicyDiagnostic {
  const ds = e.diagnostics.filter((d) => d.code === code);
  expect(ds.map((d) => d.code), e.message).toEqual([code]);
  return ds[0]!;
}

const pos = (d: PolicyDiagnostic) => ({ file: d.file, line: d.line, column: d.column });

/** A valid policy of exactly n bytes (ASCII; padded with comment lines). */
function policyOfSize(n: number): string {
  let s = yaml('default: deny', 'mode: enforce', 'rules: []');
  const line = '#' + 'x'.repeat(98) + '\n';
  while (s.length + line.length <= n) s += line;
  const rest = n - s.length;
  if (rest === 1) s += '\n';
  else if (rest > 1) s += '#' + 'x'.repeat(rest - 2) + '\n';
  return s;
}

describe('malformed YAML', () => {
  it('reports a YAML syntax error with its line and column', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: a', '    deny:', '      url: "a.com/**"', '     method: [GET]');
    const e = await rejected(src);
    const d = only(e, 'yaml_syntax');
    expect(pos(d)).toEqual({ file: FILE, line: 7, column: 1 });
    expect(d.message).toMatch(/^YAML syntax: /);
    expect(d.message).toMatch(/same column/);
    expect(e.message).toContain(`${FILE}:7:1: YAML syntax:`);
  });

  it('reports a tab used for indentation where it is', async () => {
    const e = await rejected(yaml('default: deny', 'mode: enforce', 'rules:', '\t- name: a'));
    const d = only(e, 'yaml_syntax');
    expect(pos(d)).toEqual({ file: FILE, line: 4, column: 1 });
    expect(d.message).toMatch(/tab/i);
  });

  it('rejects a duplicate mapping key at the second key', async () => {
    const e = await rejected(yaml('default: deny', 'mode: enforce', 'default: allow', 'rules: []'));
    const d = only(e, 'duplicate_key');
    expect(pos(d)).toEqual({ file: FILE, line: 3, column: 1 });
    expect(d.message).toMatch(/unique/);
  });
});

describe('unknown keys', () => {
  it('names the key, where it is, the rule, and suggests the key meant', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: a', '    deny:', '      urll: "a.com/**"');
    const e = await rejected(src);
    const d = only(e, 'unknown_key');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 7 });
    expect(d.rule).toBe('a');
    expect(d.path).toBe('/rules/0/deny/urll');
    expect(d.message).toContain('urll');
    expect(d.message).toMatch(/did you mean `url`\?/);
    expect(formatDiagnostic(d)).toMatch(/^agent\.yaml:6:7: unknown key `urll` .*\(rule "a"\)$/);
  });

  it('suggests `allow` for `alow` (a typo must not pass silently)', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: chat', '    alow:', '      method: [POST]');
    const e = await rejected(src);
    const d = only(e, 'unknown_key');
    expect(pos(d)).toEqual({ file: FILE, line: 5, column: 5 });
    expect(d.rule).toBe('chat');
    expect(d.message).toMatch(/did you mean `allow`\?/);
  });
});

describe('rules', () => {
  it('rejects duplicate rule names at the second name, saying which rule had it first', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: same', '    deny: {url: "a.com/**"}', '  - name: same', '    deny: {url: "b.com/**"}');
    const e = await rejected(src);
    const d = only(e, 'duplicate_name');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 11 });
    expect(d.rule).toBe('same');
    expect(d.message).toContain('same');
    expect(d.message).toMatch(/already used by rule 1/);
    expect(d.message).toMatch(/unique/);
  });

  const rules = (n: number): string =>
    yaml('default: deny', 'mode: enforce', 'rules:', ...Array.from({ length: n }, (_, i) => `  - name: r${i + 1}\n    deny: {url: "h${i + 1}.example.com/**"}`));

  it('accepts 200 rules', async () => {
    const p = await parsePolicy(rules(200), { file: FILE });
    expect((p.document.rules as unknown[]).length).toBe(200);
  });

  it('rejects 201 rules at the 201st, naming the limit and the count', async () => {
    const e = await rejected(rules(201));
    const d = only(e, 'too_many_rules');
    // 3 header lines, 2 lines per rule: rule 201 starts on line 3 + 2*200 + 1 = 404, after "  - ".
    expect(pos(d)).toEqual({ file: FILE, line: 404, column: 5 });
    expect(d.message).toMatch(/at most 200/);
    expect(d.message).toMatch(/201/);
  });
});

describe('size limit (MAX_POLICY_BYTES = 262144)', () => {
  it('is 256 KiB', () => {
    expect(MAX_POLICY_BYTES).toBe(262144);
  });

  it('parsePolicy accepts exactly 262144 bytes', async () => {
    const src = policyOfSize(MAX_POLICY_BYTES);
    expect(Buffer.byteLength(src)).toBe(MAX_POLICY_BYTES);
    const p = await parsePolicy(src, { file: FILE });
    expect(p.hash).toBe(`sha256:${createHash('sha256').update(src).digest('hex')}`);
    const b = await parsePolicy(new TextEncoder().encode(src), { file: FILE });
    expect(b.hash).toBe(p.hash);
  });

  it('parsePolicy rejects 262145 bytes (string and bytes), naming the size and the limit at 1:1', async () => {
    const src = policyOfSize(MAX_POLICY_BYTES + 1);
    expect(Buffer.byteLength(src)).toBe(MAX_POLICY_BYTES + 1);
    for (const input of [src, new TextEncoder().encode(src)]) {
      const e = await rejected(input);
      const d = only(e, 'too_large');
      expect(pos(d)).toEqual({ file: FILE, line: 1, column: 1 });
      expect(d.message).toContain('262145 bytes');
      expect(d.message).toContain('262144');
    }
  });

  it('parsePolicy counts UTF-8 bytes, not characters', async () => {
    // 262143 ASCII bytes + "é" (2 bytes in UTF-8) = 262145 bytes, 262144 characters.
    const base = policyOfSize(MAX_POLICY_BYTES - 1);
    const src = base.slice(0, -2) + 'é\n';
    expect(src.length).toBe(MAX_POLICY_BYTES - 1);
    expect(Buffer.byteLength(src)).toBe(MAX_POLICY_BYTES);
    await expect(parsePolicy(src, { file: FILE })).resolves.toBeTruthy();
    const over = base.slice(0, -1) + 'é\n';
    expect(over.length).toBe(MAX_POLICY_BYTES);
    expect(Buffer.byteLength(over)).toBe(MAX_POLICY_BYTES + 1);
    only(await rejected(over), 'too_large');
  });

  it('loadPolicyFile accepts a file of exactly 262144 bytes', async () => {
    const path = join(dir, 'exact.yaml');
    const src = policyOfSize(MAX_POLICY_BYTES);
    writeFileSync(path, src);
    const p = await loadPolicyFile(path);
    expect(p.file).toBe(path);
    expect(p.hash).toBe(hashPolicy(new TextEncoder().encode(src)));
  });

  it('loadPolicyFile rejects a file of 262145 bytes, naming the file and its size', async () => {
    const path = join(dir, 'over.yaml');
    writeFileSync(path, policyOfSize(MAX_POLICY_BYTES + 1));
    const e = await loadRejected(path);
    const d = only(e, 'too_large');
    expect(pos(d)).toEqual({ file: path, line: 1, column: 1 });
    expect(d.message).toContain('262145 bytes');
    expect(d.message).toContain('262144');
    expect(e.message).toContain(`${path}:1:1: `);
  });

  it('loadPolicyFile checks the size before reading the file (a sparse 3 GiB file is refused at once)', async () => {
    // If the loader read the file first it would take seconds and gigabytes, or fail with Node's
    // "File size is greater than 2 GiB" instead of naming the policy limit.
    const path = join(dir, 'huge.yaml');
    writeFileSync(path, yaml('default: deny', 'mode: enforce', 'rules: []'));
    const size = 3 * 2 ** 30;
    truncateSync(path, size);
    try {
      const t0 = performance.now();
      const e = await loadRejected(path);
      const ms = performance.now() - t0;
      const d = only(e, 'too_large');
      expect(d.file).toBe(path);
      expect(d.message).toContain(`${size} bytes`);
      expect(d.message).toContain('262144');
      expect(ms).toBeLessThan(1000);
    } finally {
      rmSync(path, { force: true });
    }
  });
});

describe('YAML anchors and aliases', () => {
  /** Runs parsePolicy in a child Node with a 64 MB heap; reports the outcome, the time and the peak RSS. */
  function inChild(src: string, name: string): Promise<{ rejected: boolean; diagnostics?: PolicyDiagnostic[]; ms: number; maxRss: number }> {
    const path = join(dir, name);
    writeFileSync(path, src);
    const script = `
      import { readFileSync } from 'node:fs';
      import { parsePolicy } from '@checkrd/policy';
      const bytes = new Uint8Array(readFileSync(process.argv[1]));
      const t0 = performance.now();
      let out;
      try { await parsePolicy(bytes, { file: 'bomb.yaml' }); out = { rejected: false }; }
      catch (e) { out = { rejected: true, diagnostics: e.diagnostics }; }
      out.ms = performance.now() - t0;
      out.maxRss = process.resourceUsage().maxRSS * 1024;
      process.stdout.write(JSON.stringify(out));`;
    return new Promise((resolve, reject) => {
      // The child imports the built package (policy/dist), as every consumer does.
      execFile(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script, path], { cwd: repoRoot, timeout: 20_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`child failed (${err.message}): ${stderr}`));
        resolve(JSON.parse(stdout));
      });
    });
  }

  it('rejects a billion-laughs document (10 levels of 10 aliases) quickly, in a 64 MB heap', async () => {
    let src = yaml('default: deny', 'mode: enforce', 'rules: []', 'lol0: &a0 ["lol"]');
    for (let i = 1; i <= 10; i++) src += `lol${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const base = await inChild(yaml('default: deny', 'mode: enforce', 'rules: []'), 'small.yaml');
    const r = await inChild(src, 'laughs.yaml');
    expect(r.rejected).toBe(true);
    const d = r.diagnostics!.find((x) => x.code === 'alias_expansion');
    expect(d, JSON.stringify(r.diagnostics)).toBeDefined();
    expect({ line: d!.line, column: d!.column, file: d!.file }).toEqual({ line: 1, column: 1, file: 'bomb.yaml' });
    expect(d!.message).toMatch(/alias/i);
    expect(r.ms).toBeLessThan(2000);
    expect(r.maxRss - base.maxRss).toBeLessThan(64 * 2 ** 20);
  });

  it('rejects a 10 MB expansion (a 200 KB string aliased 50 times) quickly and without big memory', async () => {
    const big = 'x'.repeat(200_000);
    const src =
      yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r0', `    deny: {url: &u "${big}"}`) +
      Array.from({ length: 49 }, (_, i) => `  - name: r${i + 1}\n    deny: {url: *u}\n`).join('');
    expect(Buffer.byteLength(src)).toBeLessThan(MAX_POLICY_BYTES);
    const base = await inChild(yaml('default: deny', 'mode: enforce', 'rules: []'), 'small.yaml');
    const r = await inChild(src, 'fat.yaml');
    expect(r.rejected).toBe(true);
    const d = r.diagnostics!.find((x) => x.code === 'alias_expansion');
    expect(d, JSON.stringify(r.diagnostics)).toBeDefined();
    expect({ line: d!.line, column: d!.column }).toEqual({ line: 1, column: 1 });
    expect(d!.message).toMatch(/alias/i);
    expect(d!.message).toContain('262144');
    expect(r.ms).toBeLessThan(2000);
    expect(r.maxRss - base.maxRss).toBeLessThan(64 * 2 ** 20);
  });

  it('accepts many aliases that expand to well under the limit (150 rules sharing one `method` list)', async () => {
    // The contract rejects aliases that expand past the size limit; this file is ~9 KB and expands to ~9 KB.
    const src = yaml(
      'default: deny',
      'mode: enforce',
      'rules:',
      ...Array.from({ length: 150 }, (_, i) => `  - name: r${i}\n    allow: {method: ${i === 0 ? '&post [POST]' : '*post'}, url: "api.example.com/r${i}"}`),
    );
    let p: LoadedPolicy;
    try {
      p = await parsePolicy(src, { file: FILE });
    } catch (e) {
      throw new Error(`rejected: ${(e as Error).message}`);
    }
    expect((p.document.rules as Array<{ allow: { method: string[] } }>)[149]!.allow.method).toEqual(['POST']);
  });

  it('rejects an alias to an undefined anchor, at the alias', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: a', '    allow:', '      method: *writes');
    const e = await rejected(src);
    const d = only(e, 'yaml_syntax');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 15 });
    expect(d.message).toContain('*writes');
    expect(d.message).toMatch(/anchor/);
  });

  it('rejects an alias used before its anchor is defined', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: a', '    allow: {method: *m}', '  - name: b', '    allow: {method: &m [GET]}');
    const e = await rejected(src);
    const d = only(e, 'yaml_syntax');
    expect(pos(d)).toEqual({ file: FILE, line: 5, column: 21 });
    expect(d.message).toContain('*m');
  });
});

describe('values the engine refuses', () => {
  it('rejects an invalid regex at the pattern, naming it and why', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: no_secrets', '    deny:', '      body:', '        - jsonpath: "$.prompt"', '          regex: "([a-z]+"');
    const e = await rejected(src);
    const d = only(e, 'invalid_regex');
    expect(pos(d)).toEqual({ file: FILE, line: 8, column: 18 });
    expect(d.rule).toBe('no_secrets');
    expect(d.message).toContain('([a-z]+');
    expect(d.message).toMatch(/unclosed group/);
  });

  it('rejects a regex with look-around (not linear-time)', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    deny:', '      body: {jsonpath: "$.x", regex: "(?<=a)b"}');
    const d = only(await rejected(src), 'invalid_regex');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 38 });
    expect(d.message).toMatch(/look-?around|look-?behind/i);
  });

  it.each([
    ['a filter', '$.messages[?(@.role == "tool")].content', /filter/],
    ['a slice', '$.messages[0:2].role', /slice/],
    ['a union', '$.messages[0,1].role', /union/],
  ])('rejects a jsonpath with %s, outside the subset', async (_what, path, word) => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    deny:', '      body:', `        - jsonpath: '${path}'`, '          exists: true');
    const e = await rejected(src);
    const d = only(e, 'invalid_jsonpath');
    expect(pos(d)).toEqual({ file: FILE, line: 7, column: 21 });
    expect(d.rule).toBe('r');
    expect(d.message).toContain(path);
    expect(d.message).toMatch(/outside the supported subset/);
    expect(d.message).toMatch(word);
  });

  it('rejects 24:00 as the start of a time_outside window, saying 24:00 may only end one', async () => {
    // "24:00-06:00" is not empty (it would be 00:00-06:00); the problem is 24:00 in the start position.
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    deny:', '      time_outside: "24:00-06:00"');
    const d = only(await rejected(src), 'invalid_time_window');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 21 });
    expect(d.message).toContain('24:00');
    expect(d.message).toMatch(/\bend\b/);
    expect(d.message).not.toMatch(/empty/);
  });

  it('rejects a limit field outside the jsonpath subset', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: l', '    limit:', '      per: body_field', '      field: "$.a[1:]"', '      calls_per_minute: 5');
    const d = only(await rejected(src), 'invalid_jsonpath');
    expect(pos(d)).toEqual({ file: FILE, line: 7, column: 14 });
    expect(d.rule).toBe('l');
  });
});

describe('encoding and document shape', () => {
  // "default: deny\nmode: enforce\nrules: []\n# caf" then 0xFF, "e\n": the bad byte is on line 4, column 6.
  const bad = new Uint8Array([...new TextEncoder().encode(yaml('default: deny', 'mode: enforce', 'rules: []') + '# caf'), 0xff, 0x65, 0x0a]);

  it('rejects invalid UTF-8 bytes', async () => {
    const e = await rejected(bad);
    const d = only(e, 'not_utf8');
    expect(d.file).toBe(FILE);
    expect(d.message).toMatch(/not valid UTF-8/);
  });

  it('says where the invalid UTF-8 byte is', async () => {
    const d = only(await rejected(bad), 'not_utf8');
    expect(pos(d)).toEqual({ file: FILE, line: 4, column: 6 });
  });

  it('rejects a top-level list', async () => {
    const e = await rejected(yaml('- default: deny', '  rules: []'));
    const d = only(e, 'wrong_type');
    expect(pos(d)).toEqual({ file: FILE, line: 1, column: 1 });
    expect(d.message).toMatch(/mapping/);
    expect(d.message).toMatch(/a list/);
  });

  it('rejects a top-level scalar', async () => {
    const d = only(await rejected(yaml('default deny')), 'wrong_type');
    expect(d.message).toMatch(/mapping/);
    expect(d.message).toMatch(/a string/);
  });

  it.each([
    ['an empty file', ''],
    ['a file of blank lines', '\n\n  \n'],
    ['a file of comments only', yaml('# nothing here', '# at all')],
  ])('rejects %s as empty', async (_what, src) => {
    const e = await rejected(src);
    const d = only(e, 'wrong_type');
    expect(d.file).toBe(FILE);
    expect(d.line).toBe(1);
    expect(d.message).toMatch(/empty/);
  });
});

describe('YAML 1.2 core schema', () => {
  it('reads yes/no/on/off/y/n as strings, not booleans', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    allow:', '      body:', '        - jsonpath: "$.answer"', '          in: [yes, no, on, off, y, n, true]');
    const p = await parsePolicy(src, { file: FILE });
    const cond = (p.document.rules as Array<{ allow: { body: Array<{ in: unknown[] }> } }>)[0]!.allow.body[0]!;
    expect(cond.in).toEqual(['yes', 'no', 'on', 'off', 'y', 'n', true]);
  });

  it('rejects `exists: yes` (a string in YAML 1.2) where a boolean is needed', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: r', '    allow:', '      body:', '        - jsonpath: "$.model"', '          exists: yes');
    const d = only(await rejected(src), 'wrong_type');
    expect(pos(d)).toEqual({ file: FILE, line: 8, column: 19 });
    expect(d.rule).toBe('r');
    expect(d.message).toMatch(/`exists` must be true or false/);
    expect(d.message).toMatch(/string/);
  });

  it('rejects `default: no` (not a boolean, and not allow/deny)', async () => {
    const d = only(await rejected(yaml('default: no', 'mode: enforce', 'rules: []')), 'invalid_value');
    expect(pos(d)).toEqual({ file: FILE, line: 1, column: 10 });
    expect(d.message).toMatch(/`allow` or `deny`/);
    expect(d.message).toContain('`no`');
  });
});

describe('hash', () => {
  const src = yaml('# the seed', 'default: deny', 'mode: enforce', 'rules:', '  - name: allow_openai_chat', '    allow: {method: [POST], url: "api.openai.com/v1/chat/completions"}');
  const sha = (b: Uint8Array | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

  it('is sha256: and the hex SHA-256 of the exact bytes', async () => {
    const bytes = new TextEncoder().encode(src);
    const p = await parsePolicy(bytes, { file: FILE });
    expect(p.hash).toBe(sha(bytes));
    expect(p.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashPolicy(bytes)).toBe(p.hash);
    // The same text given as a string hashes as its UTF-8 bytes.
    expect((await parsePolicy(src, { file: FILE })).hash).toBe(p.hash);
  });

  it('changes with any byte, even whitespace that does not change the document', async () => {
    const a = await parsePolicy(src, { file: FILE });
    for (const variant of [src + '\n', src.replace('default: deny', 'default:  deny'), src.replace(/\n/g, '\r\n'), src.replace('# the seed', '# the seed ')]) {
      const b = await parsePolicy(variant, { file: FILE });
      expect(b.document).toEqual(a.document);
      expect(b.hash).toBe(sha(variant));
      expect(b.hash).not.toBe(a.hash);
    }
  });

  it('of a file is the hash of its bytes', async () => {
    const path = join(dir, 'hashed.yaml');
    const bytes = new TextEncoder().encode(src.replace(/\n/g, '\r\n') + '# ünïcödé\r\n');
    writeFileSync(path, bytes);
    expect((await loadPolicyFile(path)).hash).toBe(sha(bytes));
  });
});

describe('warnings', () => {
  it('warns, with line and column, when mode is omitted', async () => {
    const p = await parsePolicy(yaml('# a comment first', 'default: deny', 'rules: []'), { file: FILE });
    expect(p.warnings.map((w) => w.code)).toEqual(['mode_omitted']);
    const w = p.warnings[0]!;
    expect(pos(w)).toEqual({ file: FILE, line: 2, column: 1 });
    expect(w.message).toMatch(/`mode`/);
    expect(w.message).toMatch(/dry_run/);
    expect(formatDiagnostic(w)).toMatch(/^agent\.yaml:2:1: /);
  });

  it.each(['enforce', 'dry_run'])('does not warn when mode is %s', async (mode) => {
    const p = await parsePolicy(yaml('default: deny', `mode: ${mode}`, 'rules: []'), { file: FILE });
    expect(p.warnings).toEqual([]);
  });
});

describe('org layering (orgPolicy)', () => {
  let org: LoadedPolicy;
  beforeAll(async () => {
    org = await parsePolicy(yaml('default: deny', 'mode: enforce', 'rules:', '  - name: no_admin', '    deny: {url: "**/admin/**"}'), { file: 'org.yaml' });
  });

  it('rejects an agent rule that reuses an org rule name, at the agent rule, saying it is the org', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: chat', '    allow: {method: [POST]}', '  - name: no_admin', '    allow: {url: "internal.example.com/admin/**"}');
    const e = await rejected(src, { file: FILE, orgPolicy: org });
    const d = only(e, 'duplicate_name');
    expect(pos(d)).toEqual({ file: FILE, line: 6, column: 11 });
    expect(d.layer).toBe('agent');
    expect(d.rule).toBe('no_admin');
    expect(d.message).toMatch(/org/);
    expect(d.message).toContain('no_admin');
  });

  it('accepts the same agent policy without the org', async () => {
    const src = yaml('default: deny', 'mode: enforce', 'rules:', '  - name: no_admin', '    allow: {url: "internal.example.com/admin/**"}');
    await expect(parsePolicy(src, { file: FILE })).resolves.toBeTruthy();
  });

  it('warns at `default` when the org default is deny and the agent default is allow', async () => {
    const p = await parsePolicy(yaml('# agent', 'default: allow', 'mode: enforce', 'rules: []'), { file: FILE, orgPolicy: org });
    expect(p.warnings.map((w) => w.code)).toEqual(['default_narrowed']);
    const w = p.warnings[0]!;
    expect(pos(w)).toEqual({ file: FILE, line: 2, column: 10 });
    expect(w.message).toMatch(/org/);
    expect(w.message).toMatch(/deny/);
    expect(w.message).toMatch(/default/);
  });

  it('does not warn when the org default is allow', async () => {
    const allowOrg = await parsePolicy(yaml('default: allow', 'mode: enforce', 'rules: []'), { file: 'org.yaml' });
    const p = await parsePolicy(yaml('default: allow', 'mode: enforce', 'rules: []'), { file: FILE, orgPolicy: allowOrg });
    expect(p.warnings).toEqual([]);
  });
});
