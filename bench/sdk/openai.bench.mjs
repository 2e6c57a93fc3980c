// The SDK overhead benchmark: the `openai` SDK calling a local keep-alive server, per call, side by side in one run:
//   (a) bare, (b) with checkrd enforcing and tracing (init + instrumentOpenAI), (c) with
//   @traceloop/instrumentation-openai tracing only; plus (b) with the seed policy's rate limit active, and two
//   controls that split checkrd's cost (its fetch interceptor alone; checkrd without a tracer provider).
// Each configuration runs in its own fresh process (instrumentations patch globally; see client.mjs), against the
// server in this process (server.mjs). Configurations are interleaved over several rounds, in a rotated order,
// and the tables report medians of rounds; "added" is measured per round against that round's bare run.
// Run: `npm run bench` at the repository root (after the engine benchmark), or `npm run -w @checkrd/bench bench:sdk`.
// CHECKRD_BENCH_QUICK=1 (or --quick): fewer calls and rounds. --rounds=N, --calls=N override.
// Nothing here asserts a wall-clock number: the targets block reports met/MISSED.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtNs, fmtRatio, machine, median, table } from '../core/harness.mjs';
import { RESPONSE, startServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
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
  { id: 'ctl-fetch', label: 'control: fetch hook', what: "bare + checkrd's fetch interceptor, no guard (pass-through)" },
  { id: 'ctl-checkrd-notrace', label: 'control: no spans', what: '(b) without a tracer provider (no-op tracer)' },
];
const byId = Object.fromEntries(CONFIGS.map((c) => [c.id, c]));

const say = (s = '') => process.stdout.write(s + '\n');
const heading = (s) => say(`\n== ${s}`);
const version = (name) => {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

/** What checkrd code ran: the commit, uncommitted changes under its packages, and a digest of the built JS. */
function checkrdBuild() {
  const dirs = ['sdk', 'core', 'policy', ...readdirSync(path.join(root, 'instrumentations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `instrumentations/${d.name}`)];
  const files = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  };
  for (const d of dirs) walk(path.join(root, d, 'dist'));
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(path.relative(root, f)).update('\0').update(readFileSync(f));
  let dirty = '?';
  try {
    const out = execFileSync('git', ['status', '--porcelain', '--', 'sdk', 'core', 'policy', 'instrumentations'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    dirty = out ? `${out.split('\n').length} uncommitted changes under sdk/ core/ policy/ instrumentations/` : 'clean';
  } catch {
    // not a git checkout
  }
  return { digest: h.digest('hex').slice(0, 12), files: files.length, dirty };
}

// ---------------------------------------------------------------------------------------------------
const m = machine();
const build = checkrdBuild();
say('checkrd SDK overhead benchmark: the openai SDK against a local keep-alive server, bare vs checkrd vs traceloop');
say(`machine: ${m.cpu}, ${m.cores} cores; ${m.os}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
say(`runtime: Node ${m.node} (V8 ${m.v8}, bundled undici ${process.versions.undici}); date ${m.date}${quick ? '; QUICK run' : ''}`);
say(`checkrd: checkout ${m.commit.split(' ')[0]}, ${build.dirty}; built JS digest ${build.digest} (${build.files} files in */dist)`);
say(
  `packages: openai ${version('openai')}, @traceloop/instrumentation-openai ${version('@traceloop/instrumentation-openai')}, ` +
    `@opentelemetry/api ${version('@opentelemetry/api')}, @opentelemetry/sdk-trace ${version('@opentelemetry/sdk-trace')}`,
);
say(`request: client.chat.completions.create({ model: 'gpt-4o', messages: [1 user message] }), maxRetries 0; response: ${RESPONSE.length} B of fixed JSON`);
say(`per configuration and round: a fresh process, ${WARM.toLocaleString('en-US')} warm-up calls, then ${CALLS.toLocaleString('en-US')} sequential timed calls (each awaited,`);
say(`  process.hrtime.bigint() around each); ${ROUNDS} rounds, configurations in a rotated order each round; the server runs in this process`);
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
      process.stderr.write(`  round ${r + 1}/${ROUNDS} ${c.id}: p50 ${fmtNs(res.stats.p50)}, CPU ${fmtNs(res.stats.cpu)}/call\n`);
    }
  }
} finally {
  await server.close();
}

// ---------------------------------------------------------------------------------------------------
const med = (id, f) => median(results[id].map(f));
const bareOf = (x) => results.bare.find((b) => b.round === x.round);
/** Per round: (config − bare) of the same round. */
const diffs = (id, key) => results[id].map((x) => x.stats[key] - bareOf(x).stats[key]);
/** Median over rounds of (config − bare). */
const added = (id, key) => median(diffs(id, key));
const signed = (ns) => (ns >= 0 ? `+${fmtNs(ns)}` : `−${fmtNs(-ns)}`);
const range = (xs, f = fmtNs) => `${f(Math.min(...xs))} … ${f(Math.max(...xs))}`;

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
  say('round 1 shown (every round checked alike). Calls include warm-up and the profiled passes of section 4; spans are counted');
  say('for the warm-up and timed calls. undici opens a second kept-alive connection during the first calls, in every configuration.');
}

heading(`2. per-call latency: medians of ${ROUNDS} rounds × ${CALLS.toLocaleString('en-US')} calls; added = vs the same round's bare run`);
{
  const rows = CONFIGS.map((c) => {
    const isBare = c.id === 'bare';
    return [
      c.label,
      fmtNs(med(c.id, (x) => x.stats.p50)),
      fmtNs(med(c.id, (x) => x.stats.p99)),
      fmtNs(med(c.id, (x) => x.stats.mean)),
      fmtNs(med(c.id, (x) => x.stats.cpu)),
      range(results[c.id].map((x) => x.stats.p50)),
      isBare ? '' : signed(added(c.id, 'p50')),
      isBare ? '' : range(diffs(c.id, 'p50'), signed),
      isBare ? '' : signed(added(c.id, 'p99')),
      isBare ? '' : signed(added(c.id, 'mean')),
      isBare ? '' : signed(added(c.id, 'cpu')),
    ];
  });
  say(table(['configuration', 'p50', 'p99', 'mean', 'CPU/call', 'p50 of rounds', 'added p50', 'added p50 of rounds', 'added p99', 'added mean', 'added CPU'], rows, ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'l', 'r', 'r', 'r']));
  say('CPU/call: the client process\'s CPU time (user + system, all threads) over the timed calls ÷ calls; it does not include');
  say('waiting for the server or for the scheduler, so it varies less from process to process than the wall-clock columns.');
}

heading('3. checkrd overhead / traceloop overhead (added over bare, medians of rounds)');
const ratio = (id, key) => added(id, key) / added('traceloop', key);
{
  const fmt = (r) => (Number.isFinite(r) && r > 0 ? fmtRatio(r) : `n/a (${r.toFixed(2)})`);
  const rows = ['checkrd', 'checkrd-limit'].map((id) => {
    const ck = diffs(id, 'p50');
    const tl = results[id].map((x) => results.traceloop.find((t) => t.round === x.round).stats.p50 - bareOf(x).stats.p50);
    return [byId[id].label, fmt(ratio(id, 'p50')), fmt(ratio(id, 'p99')), fmt(ratio(id, 'mean')), fmt(ratio(id, 'cpu')), `${ck.filter((d, i) => d < tl[i]).length} of ${ROUNDS}`];
  });
  say(table(['configuration', 'p50', 'p99', 'mean', 'CPU/call', 'rounds where checkrd added less (p50)'], rows, ['l', 'r', 'r', 'r', 'r', 'l']));
  say('< 1× means checkrd (enforcing and tracing) costs less per call than traceloop (tracing only).');
}

heading("4. where the time goes: CPU profile of each client, self time per call by component (medians of rounds)");
{
  const names = [
    ['openai', 'openai SDK'],
    ['undici', "undici (Node's fetch; HTTP parser wasm)"],
    ['webstreams', 'web streams (response body)'],
    ['node', 'Node.js internals, natives, microtasks'],
    ['gc', 'garbage collector'],
    ['checkrd-instr', 'checkrd instrumentations (JS)'],
    ['checkrd-host', 'checkrd engine host (@checkrd/core JS)'],
    ['checkrd-wasm', 'checkrd engine (wasm)'],
    ['otel', 'OpenTelemetry API + SDK'],
    ['traceloop', 'traceloop instrumentation'],
    ['other', 'other packages'],
    ['bench', 'the benchmark loop'],
    ['idle', '(idle: waiting for the server)'],
  ];
  const ids = ['bare', 'checkrd', 'traceloop'];
  const pm = (id, k) => med(id, (x) => x.profile?.[k] ?? 0);
  const busy = (id) => med(id, (x) => Object.entries(x.profile ?? {}).reduce((s, [k, v]) => (k === 'idle' ? s : s + v), 0));
  const cell = (ns) => (Math.abs(ns) < 50 ? '-' : fmtNs(ns));
  const dcell = (ns) => (Math.abs(ns) < 50 ? '' : signed(ns));
  const rows = names.map(([k, label]) => [label, ...ids.map((id) => cell(pm(id, k))), dcell(pm('checkrd', k) - pm('bare', k)), dcell(pm('traceloop', k) - pm('bare', k))]);
  rows.push(['busy (all but idle)', ...ids.map((id) => fmtNs(busy(id))), signed(busy('checkrd') - busy('bare')), signed(busy('traceloop') - busy('bare'))]);
  say(table(['component', '(a) bare', '(b) checkrd', '(c) traceloop', '(b) − (a)', '(c) − (a)'], rows, ['l', 'r', 'r', 'r', 'r', 'r']));
  say(`a separate pass of ${CALLS.toLocaleString('en-US')} calls per process under V8's sampling profiler (100 µs); the profiler inflates every row a little.`);

  say('\ncheckrd pieces, (b) process (medians of rounds):');
  const bd = results.checkrd.map((x) => x.breakdown);
  const f = bd[0].facts;
  say(`the request as checkrd sees it: ${f.method.toUpperCase()} ${f.url.replace(/:\d+\//, ':<port>/')}, ${f.bodyBytes} B JSON body, 11 headers`);
  const mb = (pick) => median(bd.map(pick));
  const rows2 = [['in situ: inside guard.evaluate() during real calls', fmtNs(mb((b) => b.inSitu.p50)), fmtNs(mb((b) => b.inSitu.p99)), fmtNs(mb((b) => b.inSitu.mean)), 'separate pass, evaluate() wrapped with a timer']];
  for (let i = 0; i < bd[0].pieces.length; i++) {
    const p = bd[0].pieces[i];
    rows2.push([`alone: ${p.label}`, fmtNs(mb((b) => b.pieces[i].p50)), fmtNs(mb((b) => b.pieces[i].p99)), fmtNs(mb((b) => b.pieces[i].mean)), `${p.n.toLocaleString('en-US')} calls in a loop`]);
  }
  say(table(['piece', 'p50', 'p99', 'mean', 'how'], rows2, ['l', 'r', 'r', 'r', 'l']));

  say('\nsplit by the control processes (differences of added p50 / CPU per call, medians of rounds):');
  const d = (a, b, key) => added(a, key) - (b === 'bare' ? 0 : added(b, key));
  const split = [
    ["checkrd's fetch interceptor, no guard (control: fetch hook − bare)", 'ctl-fetch', 'bare'],
    ['guard + openai hooks + response tap, no spans (control: no spans − control: fetch hook)', 'ctl-checkrd-notrace', 'ctl-fetch'],
    ['spans: create, attributes, end, batch export ((b) − control: no spans)', 'checkrd', 'ctl-checkrd-notrace'],
    ['rate limit active ((b) limit − (b))', 'checkrd-limit', 'checkrd'],
  ].map(([what, a, b]) => [what, signed(d(a, b, 'p50')), signed(d(a, b, 'cpu'))]);
  say(table(['part', 'p50', 'CPU/call'], split, ['l', 'r', 'r']));
  say('the controls are separate processes: these differences carry the process-to-process noise of section 2.');
}

heading('targets (issue): measured, met or MISSED');
{
  const a = added('checkrd', 'p50');
  const al = added('checkrd-limit', 'p50');
  const t = added('traceloop', 'p50');
  const rows = [
    ['checkrd adds ≤ 30 µs per call at p50 over bare (no limit)', '≤ 30 µs', `${signed(a)} (p99 ${signed(added('checkrd', 'p99'))}; CPU ${signed(added('checkrd', 'cpu'))})`, a <= TARGET.added_p50_ns],
    ['the same, rate limit active', '≤ 30 µs', `${signed(al)} (p99 ${signed(added('checkrd-limit', 'p99'))}; CPU ${signed(added('checkrd-limit', 'cpu'))})`, al <= TARGET.added_p50_ns],
    ['checkrd adds less than traceloop at p50 (no limit)', '< traceloop', `${signed(a)} vs ${signed(t)}: ${fmtRatio(a / t)}`, a < t],
    ['the same, rate limit active', '< traceloop', `${signed(al)} vs ${signed(t)}: ${fmtRatio(al / t)}`, al < t],
  ].map(([what, goal, value, ok]) => [what, goal, value, ok ? 'met' : 'MISSED']);
  say(table(['target', 'goal', 'measured (median of rounds)', ''], rows, ['l', 'l', 'l', 'l']));
  const missed = rows.filter((r) => r[3] !== 'met').length;
  say(`${rows.length - missed} of ${rows.length} targets met${missed ? `; ${missed} missed (see bench/RESULTS.md for why)` : ''}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
const after = checkrdBuild();
if (after.digest !== build.digest) {
  say(`WARNING: checkrd's built JS changed during the run (${build.digest} → ${after.digest}): rounds may have measured different code. Re-run.`);
  process.exitCode = 3;
}
