// The engine benchmark: checkrd's engine through its TypeScript host (@checkrd/core) and Cedar
// (@cedar-policy/cedar-wasm) side by side, in one run, on the same requests and the same decisions.
// Run: `npm run bench` at the repository root (Node >= 22; `--expose-gc` is set by bench/package.json).
// CHECKRD_BENCH_QUICK=1 (or --quick) divides the call counts by 10 for a fast look; RESULTS.md numbers
// come from full runs. Nothing here asserts a wall-clock number: the targets block reports met/missed.
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { measure } from 'mitata';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { createEngine, WASM_BYTES, WASM_SHA256 } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';
import { createCedar, cedarCall } from './cedar-host.mjs';
import { fmtBytes, fmtMs, fmtNs, fmtOps, fmtRatio, machine, median, sample, summarize, table, timerOverhead } from './harness.mjs';
import { measureMemory } from './memory.mjs';
import { extra, timed } from './requests.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// The module this run measures. Another build may replace the file while the benchmark runs; the end of
// the run checks that it did not (the cold-start children read the file again).
const wasmPath = path.join(path.dirname(require.resolve('@checkrd/core/package.json')), 'wasm/checkrd_core.wasm');
const checkrdWasm = readFileSync(wasmPath);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const wasmDigest = sha256(checkrdWasm);
const quick = process.argv.includes('--quick') || process.env.CHECKRD_BENCH_QUICK === '1';
const noMitata = process.argv.includes('--no-mitata');
const scale = quick ? 0.1 : 1;
const CALLS = { small: Math.round(200_000 * scale), large: Math.round(20_000 * scale) };
const COLD_RUNS = quick ? 5 : 10;

// The issue's targets.
const TARGET = {
  p50_2k_ns: 2_000,
  p99_2k_ns: 10_000,
  p50_64k_ns: 40_000,
  vs_cedar: 10,
  cold_ms: 20,
  wasm_bytes: 300 * 1024,
  memory_bytes: 8 * 1024 * 1024,
};

// A fixed time inside every window of the policy (Monday 2025-06-02 12:00 UTC).
const T0 = Date.UTC(2025, 5, 2, 12, 0);

const say = (s = '') => process.stdout.write(s + '\n');
const heading = (s) => say(`\n== ${s}`);

// ---------------------------------------------------------------------------------------------------
const m = machine();
say('checkrd engine benchmark: @checkrd/core (wasm, TypeScript host) vs @cedar-policy/cedar-wasm');
say(`machine: ${m.cpu}, ${m.cores} cores; ${m.os}`);
say(`runtime: Node ${m.node} (V8 ${m.v8}); date ${m.date}; checkout ${m.commit}${quick ? '; QUICK run (calls ÷ 10)' : ''}`);
if (wasmDigest !== WASM_SHA256) throw new Error(`core/wasm/checkrd_core.wasm (${wasmDigest}) is not the module core/dist expects (${WASM_SHA256}): run ./run build`);
say(`checkrd core: sha256 ${WASM_SHA256.slice(0, 16)}…, ${WASM_BYTES} bytes; cedar-wasm ${cedar.getCedarVersion()} (lang ${cedar.getCedarLangVersion()})`);

const loaded = await loadPolicyFile(path.join(here, 'policy-20.yaml'));
const policy20 = loaded.document;
const policy17 = { ...policy20, rules: policy20.rules.filter((r) => !('limit' in r)) };
const engine20 = await createEngine({ policy: policy20 });
const engine17 = await createEngine({ policy: policy17 });
const cedarAuth = createCedar(cedar);
say(`policies: bench/core/policy-20.yaml (${policy20.rules.length} rules: ${policy17.rules.length} allow/deny + ${policy20.rules.length - policy17.rules.length} rate limits)`);
say(`          its ${policy17.rules.length}-rule variant without limits, and bench/core/policy.cedar (the same ${policy17.rules.length} rules in Cedar; Cedar has no rate limits)`);
say('cedar calls: preparsePolicySet() once, then statefulIsAuthorized() per decision (the fastest documented entry in 4.x);');
say('             the host JSON.parses the body and builds the context per request (cedar-host.mjs), inside the timing');

// ---------------------------------------------------------------------------------------------------
heading('1. same decisions (checked before timing)');
{
  const rows = [];
  let disagree = 0;
  for (const r of [...timed.map((t) => ({ ...t, timed: true })), ...extra]) {
    const at = r.at ?? T0;
    const d20 = engine20.evaluate(r.req, { now: at });
    const d17 = engine17.evaluate(r.req, { now: at });
    const c = cedarAuth.explain(r.req, at);
    const agree = d17.result === c.decision && d20.result === d17.result;
    if (!agree) disagree++;
    if (r.expect && d20.result !== r.expect) throw new Error(`${r.label}: checkrd says ${d20.result}, the benchmark expects ${r.expect}`);
    rows.push([
      r.timed ? `* ${r.label}` : `  ${r.req.method} ${r.label}`,
      `${d20.result} (${d20.matched_rule ?? d20.reason})`,
      d17.result,
      `${c.decision}${c.reason?.length ? ` (${c.reason.join(', ')})` : ''}`,
      agree ? 'yes' : 'NO',
    ]);
  }
  say(table(['request (* = timed)', 'checkrd, 20 rules', 'checkrd, 17', 'cedar, 17', 'same'], rows));
  if (disagree) throw new Error(`${disagree} request(s) get different decisions from checkrd and cedar: the comparison would be unfair`);
  say('every request: the same allow/deny from both engines');
}

// ---------------------------------------------------------------------------------------------------
heading('2. per-decision latency (one process.hrtime.bigint() pair around each call, after warm-up)');
const overhead = timerOverhead();
say(`timer overhead (empty call, included in every sample below): p50 ${fmtNs(overhead.p50)}, p99 ${fmtNs(overhead.p99)}`);

const fixed = { now: T0 };
// With limits, time advances 1 s per call so no window fills (60 calls per key per minute < every limit).
const clock = { now: T0 };
const configs = [];
for (const t of timed) {
  const { req } = t;
  const n = t.id === 'openai-chat-64k' ? CALLS.large : CALLS.small;
  const warm = Math.max(2_000, Math.round(n / 5));
  configs.push(
    { t, engine: 'checkrd', policy: '17 rules', n, warm, fn: () => engine17.evaluate(req, fixed), check: () => engine17.evaluate(req, fixed).result },
    { t, engine: 'cedar-wasm', policy: '17 rules', n: Math.min(n, t.id === 'openai-chat-64k' ? 10_000 : 100_000), warm: Math.min(warm, 5_000), fn: () => cedarAuth.decide(req, T0), check: () => cedarAuth.decide(req, T0) },
    {
      t,
      engine: 'checkrd',
      policy: '20 rules, limits',
      n,
      warm,
      fn: () => {
        clock.now += 1000;
        return engine20.evaluate(req, clock);
      },
      check: () => {
        clock.now += 1000;
        return engine20.evaluate(req, clock).result;
      },
    },
    { t, engine: 'cedar host only', policy: '(no authorizer)', n: Math.min(n, 20_000), warm: 2_000, fn: () => cedarCall(req, T0, 'x'), info: true },
  );
}
for (const c of configs) {
  c.stats = summarize(sample(c.fn, c.n, c.warm));
  if (c.check && c.check() !== c.t.expect) throw new Error(`${c.engine} ${c.policy} on ${c.t.label}: the decision changed during timing`);
  if (!noMitata && !c.info) {
    const r = await measure(c.fn, { min_cpu_time: quick ? 100e6 : 400e6 });
    c.mitata = r.avg;
  }
  process.stderr.write(`  measured ${c.t.id} ${c.engine} ${c.policy}\n`);
}
const byKey = (id, engine, pol) => configs.find((c) => c.t.id === id && c.engine === engine && c.policy === pol);
{
  const rows = [];
  for (const t of timed) {
    const base = byKey(t.id, 'checkrd', '17 rules').stats;
    for (const c of configs.filter((x) => x.t === t)) {
      const s = c.stats;
      const isCedar = c.engine === 'cedar-wasm';
      rows.push([
        c === configs.find((x) => x.t === t) ? t.label : '',
        c.engine,
        c.policy,
        c.n.toLocaleString('en-US'),
        fmtNs(s.p50),
        fmtNs(s.p99),
        fmtNs(s.p999),
        fmtNs(s.mean),
        fmtOps(1e9 / s.mean),
        c.mitata === undefined ? '' : fmtNs(c.mitata),
        isCedar ? fmtRatio(s.p50 / base.p50) : '',
        isCedar ? fmtRatio(s.p99 / base.p99) : '',
      ]);
    }
  }
  say(table(['request', 'engine', 'policy', 'calls', 'p50', 'p99', 'p99.9', 'mean', 'ops/s', 'mitata avg', 'cedar/checkrd p50', 'p99'], rows));
  say('ops/s = 1 / mean per-call time on one thread. cedar/checkrd compares the two 17-rule rows (same rules, same decisions).');
  say('"cedar host only" is the context building alone (URL, JSON.parse, the regex Cedar lacks), part of the cedar-wasm row.');
}

// ---------------------------------------------------------------------------------------------------
heading(`3. cold start (fresh process each, median of ${COLD_RUNS})`);
const cold = { checkrd: [], cedar: [] };
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'checkrd-bench-'));
  try {
    const file = path.join(dir, 'policy-20.json');
    writeFileSync(file, JSON.stringify(policy20));
    const script = path.join(here, 'cold-start.mjs');
    for (let i = 0; i < COLD_RUNS; i++) {
      for (const which of ['checkrd', 'cedar']) {
        const out = execFileSync(process.execPath, [script, which, file], { encoding: 'utf8' });
        const r = JSON.parse(out.trim().split('\n').pop());
        if (r.decision !== 'allow') throw new Error(`cold start ${which}: first decision ${r.decision}`);
        cold[which].push(r);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (which, f) => median(cold[which].map(f));
  const k = {
    import: med('checkrd', (r) => r.import),
    rvc: med('checkrd', (r) => r.read_verify_compile),
    il: med('checkrd', (r) => r.instantiate_load),
    engine: med('checkrd', (r) => r.read_verify_compile + r.instantiate_load),
    first: med('checkrd', (r) => r.first_decision),
    total: med('checkrd', (r) => r.import + r.read_verify_compile + r.instantiate_load + r.first_decision),
    ready: med('checkrd', (r) => r.ready),
  };
  const c = {
    import: med('cedar', (r) => r.import),
    load: med('cedar', (r) => r.policy_load),
    engine: med('cedar', (r) => r.import + r.policy_load),
    first: med('cedar', (r) => r.first_decision),
    total: med('cedar', (r) => r.import + r.policy_load + r.first_decision),
    ready: med('cedar', (r) => r.ready),
  };
  cold.k = k;
  cold.c = c;
  say(
    table(
      ['engine', 'import JS', 'read+verify+compile', 'instantiate+policy load', 'engine ready (target)', 'first decision', 'import → 1st decision', 'since process start'],
      [
        ['checkrd', fmtMs(k.import), fmtMs(k.rvc), fmtMs(k.il), fmtMs(k.engine), fmtMs(k.first), fmtMs(k.total), fmtMs(k.ready)],
        ['cedar-wasm', fmtMs(c.import), '(in import)', fmtMs(c.load), fmtMs(c.engine), fmtMs(c.first), fmtMs(c.total), fmtMs(c.ready)],
      ],
    ),
  );
  say('checkrd "engine ready" = bundledModule() (read the .wasm, SHA-256 it against the build digest, WebAssembly.compile)');
  say('  + createEngine({policy}) (instantiate, validate and compile the 20-rule JSON policy). cedar: its import reads,');
  say('  compiles and instantiates the .wasm synchronously; then preparsePolicySet(). "since process start" includes Node itself.');
}

// ---------------------------------------------------------------------------------------------------
heading('4. module size');
const cedarWasm = readFileSync(path.join(path.dirname(require.resolve('@cedar-policy/cedar-wasm/nodejs')), 'cedar_wasm_bg.wasm'));
const size = { checkrd: checkrdWasm.length, cedar: cedarWasm.length };
say(
  table(
    ['module', 'bytes', 'gzip -9', ''],
    [
      ['checkrd core/wasm/checkrd_core.wasm', size.checkrd.toLocaleString('en-US'), gzipSync(checkrdWasm, { level: 9 }).length.toLocaleString('en-US'), ''],
      ['cedar-wasm nodejs/cedar_wasm_bg.wasm', size.cedar.toLocaleString('en-US'), gzipSync(cedarWasm, { level: 9 }).length.toLocaleString('en-US'), `${(size.cedar / size.checkrd).toFixed(1)}× checkrd`],
    ],
  ),
);

// ---------------------------------------------------------------------------------------------------
heading('5. engine memory: 200 rules, 10,000 rate-limit keys');
const mem = await measureMemory(createEngine);
if (mem.allowed !== 10_000 || mem.afterKeys.limit_keys < 10_000) throw new Error(`memory run: ${mem.allowed} allowed, ${mem.afterKeys.limit_keys} keys`);
say(
  table(
    ['state', 'rules', 'limit keys', 'limit heap', 'wasm linear memory'],
    [
      ['policy loaded', String(mem.rules), String(mem.afterLoad.limit_keys), fmtBytes(mem.afterLoad.limit_heap_bytes), fmtBytes(mem.afterLoad.memory_bytes)],
      ['after 10,000 users', String(mem.rules), mem.afterKeys.limit_keys.toLocaleString('en-US'), fmtBytes(mem.afterKeys.limit_heap_bytes), fmtBytes(mem.afterKeys.memory_bytes)],
    ],
  ),
);
say(`per key: ${(mem.afterKeys.limit_heap_bytes / mem.afterKeys.limit_keys).toFixed(0)} B of limit heap (one admitted call each). For reference, the timed engines after their runs:`);
say(`  20-rule engine ${fmtBytes(engine20.stats().memory_bytes)} (${engine20.stats().limit_keys} keys), 17-rule engine ${fmtBytes(engine17.stats().memory_bytes)} (both grew their request buffer for the 64 KB body)`);

// ---------------------------------------------------------------------------------------------------
heading('targets (issue): measured, met or MISSED');
{
  const k2 = byKey('openai-chat-2k', 'checkrd', '20 rules, limits').stats;
  const k2n = byKey('openai-chat-2k', 'checkrd', '17 rules').stats;
  const k64 = byKey('openai-chat-64k', 'checkrd', '20 rules, limits').stats;
  const k64n = byKey('openai-chat-64k', 'checkrd', '17 rules').stats;
  const ratios = timed.map((t) => ({ t, r: byKey(t.id, 'cedar-wasm', '17 rules').stats.p50 / byKey(t.id, 'checkrd', '17 rules').stats.p50 }));
  const minRatio = Math.min(...ratios.map((x) => x.r));
  const rows = [
    ['p50, 2 KB request (20 rules, limits)', '≤ 2 µs', `${fmtNs(k2.p50)} (17 rules: ${fmtNs(k2n.p50)})`, k2.p50 <= TARGET.p50_2k_ns],
    ['p99, 2 KB request (20 rules, limits)', '≤ 10 µs', `${fmtNs(k2.p99)} (17 rules: ${fmtNs(k2n.p99)})`, k2.p99 <= TARGET.p99_2k_ns],
    ['p50, 64 KB request (20 rules, limits)', '≤ 40 µs', `${fmtNs(k64.p50)} (p99 ${fmtNs(k64.p99)}; 17 rules: ${fmtNs(k64n.p50)})`, k64.p50 <= TARGET.p50_64k_ns],
    ['vs cedar-wasm, p50, every request', '≥ 10×', ratios.map((x) => `${x.t.id} ${fmtRatio(x.r)}`).join(', '), minRatio >= TARGET.vs_cedar],
    ['cold start: read+verify+compile+load', '≤ 20 ms', `${fmtMs(cold.k.engine)} (import → first decision ${fmtMs(cold.k.total)})`, cold.k.engine <= TARGET.cold_ms],
    ['wasm size', '≤ 300 KiB', `${size.checkrd.toLocaleString('en-US')} B = ${fmtBytes(size.checkrd)}`, size.checkrd <= TARGET.wasm_bytes],
    ['memory, 200 rules + 10,000 keys', '≤ 8 MiB', fmtBytes(mem.afterKeys.memory_bytes), mem.afterKeys.memory_bytes <= TARGET.memory_bytes],
  ].map(([what, target, value, ok]) => [what, target, value, ok ? 'met' : 'MISSED']);
  say(table(['target', 'goal', 'measured', ''], rows, ['l', 'l', 'l', 'l']));
  const missed = rows.filter((r) => r[3] !== 'met').length;
  say(`${rows.length - missed} of ${rows.length} targets met${missed ? `; ${missed} missed (see bench/RESULTS.md for why)` : ''}`);
}
const after = sha256(readFileSync(wasmPath));
if (after !== wasmDigest) {
  say(`WARNING: core/wasm/checkrd_core.wasm changed during the run (${wasmDigest.slice(0, 16)}… → ${after.slice(0, 16)}…):`);
  say('the cold-start rows may have measured the new module. Re-run for consistent numbers.');
  process.exitCode = 3;
}
