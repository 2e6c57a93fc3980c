// The SDK overhead benchmark: the `openai` SDK calling a local keep-alive server, per call, side by side in one run:
//   (a) bare, (b) with checkrd enforcing and tracing (init + instrumentOpenAI), (c) with
//   @traceloop/instrumentation-openai tracing only; plus (b) with the seed policy's rate limit active, and two
//   controls that split checkrd's cost (its fetch dispatcher alone; checkrd without a tracer provider).
// Each configuration runs in its own fresh process (instrumentations patch globally; see client.mjs), against the
// server in this process (server.mjs). Configurations are interleaved over several rounds, in a rotated order,
// and the tables report medians of rounds; "added" is measured per round against that round's bare run.
// Run: `npm run bench` at the repository root (after the engine benchmark), or `npm run -w @checkrd/bench bench:sdk`.
// CHECKRD_BENCH_QUICK=1 (or --quick): fewer calls and rounds. --rounds=N, --calls=N override.
// Nothing here asserts a wall-clock number: the targets block reports met/MISSED.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { fmtNs, fmtRatio, machine, median, table } from '../core/harness.mjs';
import { RESPONSE, startServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = process.argv.includes('--quick') || process.env.CHECKRD_BENCH_QUICK === '1';
const ROUNDS = Number(arg('rounds') ?? (quick ? 2 : 5));
const CALLS = Number(arg('calls') ?? (quick ? 1_000 : 5_000));
const WARM = quick ? 300 : 1_000;

// The issue's targets.
const TARGET = { added_p50_ns: 30_000 };

const CONFIGS = [
  { id: 'bare', label: '(a) bare', what: 'openai SDK alone' },
  { id: 'checkrd', label: '(b) checkrd', what: 'enforce + trace: seed policy, no limit' },
  { id: 'checkrd-limit', label: '(b) checkrd, limit', what: 'the same + the rate limit (1,000,000/min, active)' },
  { id: 'traceloop', label: '(c) traceloop', what: '@traceloop/instrumentation-openai, tracing only' },
  { id: 'ctl-dispatcher', label: 'control: dispatcher', what: "bare + checkrd's undici@8 dispatcher, pass-through" },
  { id: 'ctl-checkrd-notrace', label: 'control: checkrd, no spans', what: '(b) without a tracer provider (no-op tracer)' },
];
const byId = Object.fromEntries(CONFIGS.map((c) => [c.id, c]));

const say = (s = '') => process.stdout.write(s + '\n');
const heading = (s) => say(`\n== ${s}`);
const version = (name) => {
  try {
    return JSON.parse(readFileSync(path.join(here, '../../node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

// ---------------------------------------------------------------------------------------------------
const m = machine();
say('checkrd SDK overhead benchmark: the openai SDK against a local keep-alive server, bare vs checkrd vs traceloop');
say(`machine: ${m.cpu}, ${m.cores} cores; ${m.os}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
say(`runtime: Node ${m.node} (V8 ${m.v8}, bundled undici ${process.versions.undici}); date ${m.date}; checkout ${m.commit}${quick ? '; QUICK run' : ''}`);
say(
  `packages: openai ${version('openai')}, checkrd ${version('checkrd')}, @traceloop/instrumentation-openai ${version('@traceloop/instrumentation-openai')}, ` +
    `@opentelemetry/api ${version('@opentelemetry/api')}, @opentelemetry/sdk-trace ${version('@opentelemetry/sdk-trace')}, undici ${version('undici')}`,
);
say(`request: client.chat.completions.create({ model: 'gpt-4o', messages: [1 user message] }), maxRetries 0; response: ${RESPONSE.length} B of fixed JSON`);
say(`per configuration and round: a fresh process, ${WARM.toLocaleString('en-US')} warm-up calls, then ${CALLS.toLocaleString('en-US')} sequential timed calls (each awaited,`);
say(`  process.hrtime.bigint() around each); ${ROUNDS} rounds, configurations in a rotated order each round; server in this process, client in the child`);
say('tracing set-up of (b) and (c): TracerProvider + BatchSpanProcessor({ exporter }) with an in-memory counting exporter,');
say('  AsyncLocalStorageContextManager registered globally (as NodeSDK does)');

const server = await startServer();
const results = Object.fromEntries(CONFIGS.map((c) => [c.id, []]));

function runChild(id) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(here, 'client.mjs'), id, server.baseURL, String(CALLS), String(WARM)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OTEL_LOG_LEVEL: process.env.OTEL_LOG_LEVEL ?? 'error' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${id}: exit ${code}\n${err}`));
      try {
        resolve({ ...JSON.parse(out.trim().split('\n').pop()), stderr: err.trim() });
      } catch (e) {
        reject(new Error(`${id}: no result (${e.message})\n${out}\n${err}`));
      }
    });
  });
}

try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
    for (const c of order) {
      server.reset();
      const res = await runChild(c.id);
      const counts = server.counts();
      if (counts.requests !== res.sent || counts.notChat) throw new Error(`${c.id}: the server got ${counts.requests} requests (${counts.notChat} not chat completions) for ${res.sent} calls`);
      if (res.spans && res.spans.exported !== res.spans.calls) throw new Error(`${c.id}: ${res.spans.exported} spans exported for ${res.spans.calls} calls`);
      res.server = counts;
      res.round = r;
      results[c.id].push(res);
      process.stderr.write(`  round ${r + 1}/${ROUNDS} ${c.id}: p50 ${fmtNs(res.stats.p50)}\n`);
    }
  }
} finally {
  await server.close();
}

// ---------------------------------------------------------------------------------------------------
const med = (id, f) => median(results[id].map(f));
/** Median over rounds of (config − bare) in the same round. */
const added = (id, key) => median(results[id].map((x) => x.stats[key] - results.bare.find((b) => b.round === x.round).stats[key]));
const addedRange = (id, key) => {
  const d = results[id].map((x) => x.stats[key] - results.bare.find((b) => b.round === x.round).stats[key]);
  return [Math.min(...d), Math.max(...d)];
};
const signed = (ns) => (ns >= 0 ? `+${fmtNs(ns)}` : `-${fmtNs(-ns)}`);

heading('1. what each process sent and traced (checked: one request per call, one span per call)');
{
  const rows = CONFIGS.map((c) => {
    const x = results[c.id][0];
    const s = x.spans;
    return [
      c.label,
      c.what,
      `${x.sent.toLocaleString('en-US')} / ${x.server.requests.toLocaleString('en-US')}`,
      String(x.server.connections),
      s ? `${s.exported.toLocaleString('en-US')}` : '-',
      s ? `"${s.firstName}", ${s.firstAttributes} attrs${s.decision ? `, ${s.decision} (${s.rule})` : ''}${s.inputMessagesBytes ? `, prompt ${s.inputMessagesBytes} B` : ''}` : '-',
    ];
  });
  say(table(['configuration', 'set-up', 'calls / requests served', 'connections', 'spans exported', 'a span'], rows, ['l', 'l', 'l', 'l', 'l', 'l']));
  say('calls include warm-up (and, for checkrd, the profiling pass of section 4); the server counted every request; rounds 2+ alike.');
}

heading(`2. per-call latency: medians of ${ROUNDS} rounds × ${CALLS.toLocaleString('en-US')} calls (added = vs that round's bare run)`);
{
  const rows = CONFIGS.map((c) => {
    const p50s = results[c.id].map((x) => x.stats.p50);
    const isBare = c.id === 'bare';
    const [lo, hi] = isBare ? [0, 0] : addedRange(c.id, 'p50');
    return [
      c.label,
      fmtNs(med(c.id, (x) => x.stats.p50)),
      fmtNs(med(c.id, (x) => x.stats.p99)),
      fmtNs(med(c.id, (x) => x.stats.mean)),
      `${fmtNs(Math.min(...p50s))} – ${fmtNs(Math.max(...p50s))}`,
      isBare ? '' : signed(added(c.id, 'p50')),
      isBare ? '' : `${signed(lo)} … ${signed(hi)}`,
      isBare ? '' : signed(added(c.id, 'p99')),
      isBare ? '' : signed(added(c.id, 'mean')),
    ];
  });
  say(table(['configuration', 'p50', 'p99', 'mean', 'p50, rounds min – max', 'added p50', 'added p50, rounds', 'added p99', 'added mean'], rows, ['l', 'r', 'r', 'r', 'l', 'r', 'l', 'r', 'r']));
}

heading('3. checkrd overhead / traceloop overhead (added over bare, medians of rounds)');
const ratio = (id, key) => added(id, key) / added('traceloop', key);
{
  const fmt = (r) => (Number.isFinite(r) && r > 0 ? fmtRatio(r) : `n/a (${r.toFixed(2)})`);
  const rows = ['checkrd', 'checkrd-limit'].map((id) => [
    byId[id].label,
    fmt(ratio(id, 'p50')),
    fmt(ratio(id, 'p99')),
    fmt(ratio(id, 'mean')),
    `${results[id].filter((x) => x.stats.p50 - results.bare.find((b) => b.round === x.round).stats.p50 < results.traceloop.find((t) => t.round === x.round).stats.p50 - results.bare.find((b) => b.round === x.round).stats.p50).length} of ${ROUNDS}`,
  ]);
  say(table(['configuration', 'p50', 'p99', 'mean', 'rounds where checkrd added less (p50)'], rows, ['l', 'r', 'r', 'r', 'l']));
  say('< 1× means checkrd (enforcing and tracing) costs less per call than traceloop (tracing only).');
}

heading("4. where checkrd's time goes (configuration (b), seed policy without limit)");
{
  const bd = results.checkrd.map((x) => x.breakdown);
  const f = bd[0].facts;
  say(`the request as checkrd sees it: ${f.method.toUpperCase()} ${f.url.replace(/:\d+\//, ':<port>/')}, ${f.bodyBytes} B JSON body, 11 headers`);
  const mb = (pick) => median(bd.map(pick));
  const rows = [
    ['in situ: inside guard.evaluate() during real calls', fmtNs(mb((b) => b.inSitu.p50)), fmtNs(mb((b) => b.inSitu.p99)), fmtNs(mb((b) => b.inSitu.mean)), 'separate pass, evaluate() wrapped with a timer'],
  ];
  for (let i = 0; i < bd[0].pieces.length; i++) {
    const p = bd[0].pieces[i];
    rows.push([`alone: ${p.label}`, fmtNs(mb((b) => b.pieces[i].p50)), fmtNs(mb((b) => b.pieces[i].p99)), fmtNs(mb((b) => b.pieces[i].mean)), `${p.n.toLocaleString('en-US')} calls in a loop`]);
  }
  say(table(['piece', 'p50', 'p99', 'mean', 'how'], rows, ['l', 'r', 'r', 'r', 'l']));
  say('split by the control processes (differences of added p50 / mean, medians of rounds):');
  const d = (a, b, key) => added(a, key) - (b === 'bare' ? 0 : added(b, key));
  const split = [
    ["undici@8 dispatcher that instrumentFetch() installs (control: dispatcher − bare)", 'ctl-dispatcher', 'bare'],
    ['guard + openai hooks, no spans (control: checkrd no spans − control: dispatcher)', 'ctl-checkrd-notrace', 'ctl-dispatcher'],
    ['spans: create, attributes, end, batch export ((b) − control: checkrd no spans)', 'checkrd', 'ctl-checkrd-notrace'],
    ['rate limit active ((b) limit − (b))', 'checkrd-limit', 'checkrd'],
  ].map(([what, a, b]) => [what, signed(d(a, b, 'p50')), signed(d(a, b, 'mean'))]);
  say(table(['part', 'p50', 'mean'], split, ['l', 'r', 'r']));
  say('the controls are separate processes: their differences carry the round-to-round noise of section 2.');
}

heading('targets (issue): measured, met or MISSED');
{
  const a = added('checkrd', 'p50');
  const al = added('checkrd-limit', 'p50');
  const t = added('traceloop', 'p50');
  const rows = [
    ['checkrd adds ≤ 30 µs per call at p50 over bare (no limit)', '≤ 30 µs', `${signed(a)} (p99 ${signed(added('checkrd', 'p99'))})`, a <= TARGET.added_p50_ns],
    ['the same, rate limit active', '≤ 30 µs', `${signed(al)} (p99 ${signed(added('checkrd-limit', 'p99'))})`, al <= TARGET.added_p50_ns],
    ['checkrd adds less than traceloop at p50 (no limit)', '< traceloop', `${signed(a)} vs ${signed(t)}: ${fmtRatio(a / t)}`, a < t],
    ['the same, rate limit active', '< traceloop', `${signed(al)} vs ${signed(t)}: ${fmtRatio(al / t)}`, al < t],
  ].map(([what, goal, value, ok]) => [what, goal, value, ok ? 'met' : 'MISSED']);
  say(table(['target', 'goal', 'measured (median of rounds)', ''], rows, ['l', 'l', 'l', 'l']));
  const missed = rows.filter((r) => r[3] !== 'met').length;
  say(`${rows.length - missed} of ${rows.length} targets met${missed ? `; ${missed} missed (see bench/RESULTS.md for why)` : ''}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
