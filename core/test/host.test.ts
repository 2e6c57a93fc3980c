import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ABI_VERSION,
  CheckrdError,
  compileVerified,
  createEngine,
  EngineError,
  PolicyInvalidError,
  validatePolicy,
  WASM_BYTES,
  WasmLoadError,
  type Decision,
} from '../ts/index.js';

const wasmBytes = new Uint8Array(readFileSync(new URL('../wasm/checkrd_core.wasm', import.meta.url)));
const seed = {
  default: 'deny',
  mode: 'enforce',
  rules: [
    {
      name: 'allow_openai_chat',
      allow: { method: ['POST'], url: 'api.openai.com/v1/chat/completions', body: [{ jsonpath: '$.model', in: ['gpt-4o', 'gpt-4o-mini'] }] },
    },
    { name: 'rate_limit_per_model', limit: { per: 'body_field', field: '$.model', calls_per_minute: 100 } },
  ],
};
const CHAT = 'https://api.openai.com/v1/chat/completions';
const T0 = Date.UTC(2026, 2, 14, 2, 14, 37);
const pick = (d: Decision) => [d.result, d.reason, d.matched_rule];

describe('loading the module', () => {
  it('imports only WASI preview1, exports its memory and the ABI version the host speaks', async () => {
    const mod = await compileVerified(wasmBytes);
    const imports = WebAssembly.Module.imports(mod);
    expect(imports.every((i) => i.module === 'wasi_snapshot_preview1')).toBe(true);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toContain('memory');
    expect(ABI_VERSION).toBe(1);
    expect(wasmBytes.length).toBe(WASM_BYTES);
  });

  it('refuses a module whose SHA-256 differs, before compiling it', async () => {
    const tampered = wasmBytes.slice();
    tampered[tampered.length - 10]! ^= 1;
    const err = await compileVerified(tampered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WasmLoadError);
    expect(err).toBeInstanceOf(CheckrdError);
    expect((err as WasmLoadError).code).toBe('CHECKRD_E_WASM_LOAD');
    expect((err as Error).message).toMatch(/integrity check/);
    await expect(createEngine({ policy: seed, wasm: tampered })).rejects.toBeInstanceOf(WasmLoadError);
  });

  it('instanceof holds across copies of the package (Symbol.for brand)', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('checkrd.error')]: true, [Symbol.for('checkrd.error.code')]: 'CHECKRD_E_ENGINE' });
    expect(foreign).toBeInstanceOf(CheckrdError);
    expect(foreign).toBeInstanceOf(EngineError);
    expect(foreign).not.toBeInstanceOf(PolicyInvalidError);
  });
});

describe('policies', () => {
  it('rejects an invalid policy with every diagnostic', async () => {
    const bad = { default: 'deny', rules: [{ name: 'a', alow: {} }, { name: 'a', deny: { url: 'x/a**' } }] };
    const err = (await createEngine({ policy: bad }).catch((e: unknown) => e)) as PolicyInvalidError;
    expect(err).toBeInstanceOf(PolicyInvalidError);
    expect(err.code).toBe('CHECKRD_E_POLICY_INVALID');
    expect(err.diagnostics.map((d) => [d.path, d.code])).toEqual([
      ['/rules/0/alow', 'unknown_key'],
      ['/rules/0', 'missing_key'],
      ['/rules/1/name', 'duplicate_name'],
      ['/rules/1/deny/url', 'invalid_url_pattern'],
    ]);
    expect(err.diagnostics[0]!.message).toContain('did you mean `allow`');
  });

  it('warns when mode is omitted (dry_run)', async () => {
    const r = await validatePolicy({ default: 'deny' });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.code)).toEqual(['mode_omitted']);
  });

  it('warns when a deny rule reads the body without a url scope', async () => {
    const unscoped = await validatePolicy({ default: 'allow', mode: 'enforce', rules: [{ name: 'no_keys', deny: { body: { jsonpath: '$..content', contains: 'sk-' } } }] });
    expect(unscoped.warnings.map((w) => [w.code, w.path, w.rule])).toEqual([['deny_body_unscoped', '/rules/0/deny/body', 'no_keys']]);
    const scoped = await validatePolicy({ default: 'allow', mode: 'enforce', rules: [{ name: 'no_keys', deny: { url: 'api.openai.com/**', body: { jsonpath: '$..content', contains: 'sk-' } } }] });
    expect(scoped.warnings).toEqual([]);
  });

  it('swaps policies atomically, keeps the old one when the new one is invalid, and keeps unchanged limit counters', async () => {
    const p = { default: 'allow', mode: 'enforce', rules: [{ name: 'two', limit: { per: 'global', calls_per_minute: 2 } }] };
    const e = await createEngine({ policy: p });
    const req = { method: 'GET', url: 'https://x.com/' };
    expect(e.evaluate(req, { now: T0 }).result).toBe('allow');
    expect(() => e.setPolicy({ default: 'nope' })).toThrow(PolicyInvalidError);
    expect(e.evaluate(req, { now: T0 }).result).toBe('allow');
    e.setPolicy({ ...p, rules: [...p.rules, { name: 'no_admin', deny: { url: '**/admin/**' } }] });
    expect(pick(e.evaluate(req, { now: T0 }))).toEqual(['deny', 'rate_limited', 'two']);
    expect(pick(e.evaluate({ method: 'GET', url: 'https://x.com/admin' }, { now: T0 }))).toEqual(['deny', 'rule_deny', 'no_admin']);
    // A changed limit starts fresh.
    e.setPolicy({ default: 'allow', mode: 'enforce', rules: [{ name: 'two', limit: { per: 'global', calls_per_minute: 3 } }] });
    expect(e.evaluate(req, { now: T0 }).result).toBe('allow');
  });
});

describe('requests', () => {
  it('decides the seed policy: allowed, denied by model, rate limited', async () => {
    const e = await createEngine({ policy: seed });
    const body = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-4o') }, { now: T0 }))).toEqual(['allow', 'rule_allow', 'allow_openai_chat']);
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-5') }, { now: T0 }))).toEqual(['deny', 'default_deny', null]);
    for (let i = 1; i < 100; i++) e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-4o') }, { now: T0 + i });
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-4o') }, { now: T0 + 100 }))).toEqual(['deny', 'rate_limited', 'rate_limit_per_model']);
    // Another model has its own key.
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-4o-mini') }, { now: T0 + 100 }))).toEqual(['allow', 'rule_allow', 'allow_openai_chat']);
    // The first call leaves the window 60 s later.
    expect(e.evaluate({ method: 'POST', url: CHAT, body: body('gpt-4o') }, { now: T0 + 60_000 }).result).toBe('allow');
  });

  it('takes the body as a string, bytes or an ArrayBuffer alike', async () => {
    const e = await createEngine({ policy: { ...seed, rules: [seed.rules[0]!] } });
    const text = '{"model":"gpt-4o-mini"}';
    const bytes = new TextEncoder().encode(text);
    for (const body of [text, bytes, bytes.buffer.slice(0) as ArrayBuffer]) {
      expect(e.evaluate({ method: 'POST', url: CHAT, body }).result).toBe('allow');
    }
  });

  it('fails closed on bodies that are not JSON, too deep or too large', async () => {
    const policy = {
      default: 'allow',
      mode: 'enforce',
      rules: [
        { name: 'no_secrets', deny: { body: { jsonpath: '$..content', contains: 'sk-' } } },
        { name: 'chat_models', allow: { url: 'api.openai.com/**', body: { jsonpath: '$.model', exists: true } } },
      ],
    };
    const e = await createEngine({ policy });
    const deep = '['.repeat(200) + ']'.repeat(200);
    const big = JSON.stringify({ model: 'gpt-4o', pad: 'x'.repeat(5 * 1024 * 1024) });
    for (const body of ['not json', deep, big, '{"model":"gpt-4o"']) {
      expect(pick(e.evaluate({ method: 'POST', url: CHAT, body }))).toEqual(['deny', 'rule_deny', 'no_secrets']);
    }
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: '{"model":"gpt-4o","messages":[{"content":"key sk-123"}]}' }))).toEqual(['deny', 'rule_deny', 'no_secrets']);
    expect(pick(e.evaluate({ method: 'POST', url: CHAT, body: '{"model":"gpt-4o","messages":[{"content":"hello"}]}' }))).toEqual(['allow', 'rule_allow', 'chat_models']);
    // A 5 MB body never enters the module: memory stays small.
    expect(e.stats().memory_bytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('normalizes hostile URLs the way the client sends them', async () => {
    const e = await createEngine({
      policy: {
        default: 'allow',
        mode: 'dry_run',
        rules: [
          { name: 'no_admin', deny: { url: '**/admin/**' } },
          { name: 'idn', deny: { url: 'xn--bcher-kva.de/**' } },
          { name: 'exact', deny: { url: 'api.example.com/v1/a' } },
          { name: 'v6', deny: { url: '[::1]:8080/**' } },
        ],
      },
    });
    const rule = (url: string) => e.evaluate({ method: 'GET', url }).matched_rule;
    for (const url of [
      'https://x.com/a/../admin',
      'https://x.com/%2e%2e/admin/',
      'https://x.com/.%2E/%61dmin',
      'https://x.com//admin//',
      'https://x.com/v1/./admin?q=1#frag',
      'https://x.com\\admin',
    ]) {
      expect(rule(url), url).toBe('no_admin');
    }
    expect(rule('https://x.com/admin%2Fsecret')).toBe(null);
    expect(rule('https://BÜCHER.de/x')).toBe('idn');
    for (const url of ['HTTPS://API.EXAMPLE.COM./v1/a', 'https://api.example.com:443/v1/a', 'https://api.example.com/v1/a/', 'https://api.example.com/v1//a']) {
      expect(rule(url), url).toBe('exact');
    }
    expect(rule('http://api.example.com:443/v1/a')).toBe(null);
    expect(rule('http://[::1]:8080/x')).toBe('v6');
    // userinfo and non-URLs: bad_request, enforced even in dry_run
    for (const url of ['https://user:pw@api.example.com/v1/a', 'https://api.example.com@evil.com/', 'not a url', '', 'javascript:alert(1)', 'ftp://x.com/', 'http://exa mple.com/']) {
      const d = e.evaluate({ method: 'GET', url });
      expect([d.result, d.reason, d.enforced], url).toEqual(['deny', 'bad_request', true]);
    }
    const long = e.evaluate({ method: 'GET', url: 'https://x.com/' + 'a/'.repeat(500_000) + 'admin' });
    expect(long.matched_rule).toBe('no_admin');
  });

  it('reads headers from records, pairs and Headers, case-insensitively, and never reports their values', async () => {
    const e = await createEngine({
      policy: { default: 'deny', mode: 'enforce', rules: [{ name: 'team', allow: { headers: [{ name: 'X-Team', exact: 'billing' }] } }] },
    });
    const url = 'https://x.com/';
    expect(e.evaluate({ method: 'GET', url, headers: { 'x-team': 'billing' } }).result).toBe('allow');
    expect(e.evaluate({ method: 'GET', url, headers: [['X-TEAM', 'billing']] }).result).toBe('allow');
    expect(e.evaluate({ method: 'GET', url, headers: new Headers({ 'x-team': 'billing' }) }).result).toBe('allow');
    expect(e.evaluate({ method: 'GET', url, headers: { 'x-team': ['billing', 'ops'] } }).result).toBe('deny');
    const explained = e.evaluate({ method: 'GET', url, headers: { 'x-team': 'secret-value' } }, { explain: true });
    expect(JSON.stringify(explained.explanation)).not.toContain('secret-value');
  });

  it('explains every rule tried', async () => {
    const e = await createEngine({ policy: seed });
    const d = e.evaluate({ method: 'POST', url: CHAT, body: '{"model":"gpt-4o"}' }, { explain: true, now: T0 });
    expect(d.explanation!.map((s) => [s.rule, s.outcome])).toEqual([
      ['allow_openai_chat', 'matched'],
      ['rate_limit_per_model', 'counted'],
    ]);
  });

  it('follows onEngineError when the engine cannot evaluate, and recovers', async () => {
    const huge = 'https://x.com/' + 'é'.repeat(25_000_000);
    for (const onEngineError of ['deny', 'allow'] as const) {
      const e = await createEngine({ policy: { default: 'allow', mode: 'enforce' }, onEngineError });
      const d = e.evaluate({ method: 'GET', url: huge });
      expect([d.result, d.reason, d.enforced]).toEqual([onEngineError, 'engine_error', true]);
      expect(e.evaluate({ method: 'GET', url: 'https://x.com/' }).reason).toBe('default_allow');
    }
  });

  it('returns cached, frozen decisions on the hot path', async () => {
    const e = await createEngine({ policy: seed });
    const a = e.evaluate({ method: 'POST', url: CHAT, body: '{"model":"gpt-4o"}' });
    const b = e.evaluate({ method: 'POST', url: CHAT, body: '{"model":"gpt-4o"}' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('memory', () => {
  it('stays within 8 MB with 200 rules and 10,000 rate-limit keys', async () => {
    const rules: unknown[] = [];
    for (let i = 0; i < 199; i++) {
      rules.push({ name: `r${i}`, [i % 2 ? 'deny' : 'allow']: { method: ['POST'], url: `api${i}.example.com/v1/**`, body: [{ jsonpath: '$.model', in: ['a', 'b', 'c'] }, { jsonpath: '$.user', regex: '^[a-z]+-[0-9]{2,8}$' }] } });
    }
    rules.push({ name: 'per_user', limit: { per: 'body_field', field: '$.user', calls_per_minute: 100 } });
    const e = await createEngine({ policy: { default: 'allow', mode: 'enforce', rules } });
    for (let i = 0; i < 10_000; i++) e.evaluate({ method: 'POST', url: 'https://api.other.com/x', body: `{"user":"u-${i}"}` }, { now: T0 + i });
    const s = e.stats();
    expect(s.limit_keys).toBe(10_000);
    expect(s.memory_bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    // The 10,001st key, with every key active in the last minute, is refused: the guarantee holds at the cap.
    expect(e.evaluate({ method: 'POST', url: 'https://api.other.com/x', body: '{"user":"new"}' }, { now: T0 + 10_000 }).reason).toBe('rate_limited');
    expect(e.evaluate({ method: 'POST', url: 'https://api.other.com/x', body: '{"user":"new"}' }, { now: T0 + 60_001 }).reason).toBe('default_allow');
  });
});
