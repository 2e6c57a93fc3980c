// One configuration of the openai-SDK overhead benchmark, in a fresh process (instrumentations patch globally):
//   node --expose-gc client.mjs <config> <baseURL> <calls> <warm-up calls>
// It sets the configuration up, makes <warm-up> untimed calls, then <calls> sequential timed calls (each awaited;
// process.hrtime.bigint() around each), checks what it sent and traced, and prints one JSON line for the runner
// (openai.bench.mjs). Configurations:
//   bare               the openai SDK alone
//   checkrd            checkrd enforcing (seed policy without its rate limit) and tracing: init() + instrumentOpenAI()
//   checkrd-limit      the same with the seed policy's rate limit active (1,000,000/min: counted, never exhausted)
//   traceloop          @traceloop/instrumentation-openai, tracing only
//   ctl-fetch          control: bare + checkrd's fetch instrumentation (its interceptor composed onto the global
//                      dispatcher, as instrumentFetch() installs it) with no guard: every request passes through
//   ctl-checkrd-notrace  control: checkrd as in `checkrd`, but no tracer provider (OpenTelemetry's no-op tracer)
// After the timed series, bare, checkrd and traceloop run a profiled pass (V8's sampling CPU profiler through
// node:inspector) and report self time per call by component; checkrd also times its pieces (profileCheckrd).
// The tracing configurations share one set-up: the SDK's TracerProvider with a BatchSpanProcessor in front of an
// in-memory counting exporter, and AsyncLocalStorageContextManager as the global context manager (as NodeSDK does).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from '../core/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [config, baseArg, callsArg, warmArg] = process.argv.slice(2);
let inProcessServer;
if (baseArg === 'in-process') inProcessServer = await (await import('./server.mjs')).startServer();
const baseURL = inProcessServer ? inProcessServer.baseURL : baseArg;
const CALLS = Number(callsArg);
const WARM = Number(warmArg);
const PROFILE_CALLS = Math.max(500, Math.round(CALLS / 2.5));
const gc = globalThis.gc ?? (() => {});
const hr = process.hrtime.bigint;

const CONFIGS = ['bare', 'checkrd', 'checkrd-limit', 'traceloop', 'ctl-fetch', 'ctl-checkrd-notrace'];
const PROFILED = ['bare', 'checkrd', 'traceloop'];
if (!CONFIGS.includes(config) || !baseURL || !(CALLS > 0) || !(WARM >= 0)) {
  process.stderr.write(`usage: client.mjs <${CONFIGS.join('|')}> <baseURL> <calls> <warm-up calls>\n`);
  process.exit(2);
}

// The same request every call.
const PARAMS = Object.freeze({ model: 'gpt-4o', messages: Object.freeze([Object.freeze({ role: 'user', content: 'Summarise the Q3 report.' })]) });
const EXPECT = 'Revenue grew 12% quarter on quarter.';

// ---------------------------------------------------------------------------------------------------
// Tracing (configurations b, c): the same provider, processor and sink for both.
let sink;
let api;
async function setUpTracing() {
  api = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  sink = {
    spans: 0,
    first: undefined,
    export(spans, done) {
      this.spans += spans.length;
      this.first ??= spans[0];
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: sink })] });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(provider);
  return provider;
}

let provider;
let guard;
let policyLabel = '';
const { default: OpenAI } = await import('openai');

if (config === 'checkrd' || config === 'checkrd-limit' || config === 'ctl-checkrd-notrace') {
  if (config !== 'ctl-checkrd-notrace') provider = await setUpTracing();
  const { init, instrumentOpenAI } = await import('checkrd');
  const policyFile = path.join(here, 'policy.yaml');
  let policy = policyFile;
  if (config !== 'checkrd-limit') {
    const { loadPolicyFile } = await import('@checkrd/policy');
    const doc = (await loadPolicyFile(policyFile)).document;
    policy = { ...doc, rules: doc.rules.filter((r) => !('limit' in r)) };
  }
  guard = await init({ agentId: 'bench', policy });
  instrumentOpenAI();
  policyLabel = config === 'checkrd-limit' ? 'seed policy, limit 1,000,000/min' : 'seed policy, no limit';
} else if (config === 'traceloop') {
  provider = await setUpTracing();
  const { OpenAIInstrumentation } = await import('@traceloop/instrumentation-openai');
  const inst = new OpenAIInstrumentation();
  // Its automatic hook covers openai ">=4 <7"; openai 7 is patched the documented manual way (what
  // @traceloop/node-server-sdk's `instrumentModules: { openAI: OpenAI }` does): the client class of the import.
  inst.manuallyInstrument(OpenAI);
} else if (config === 'ctl-fetch') {
  const { FetchInstrumentation } = await import('@checkrd/instrumentation-fetch');
  new FetchInstrumentation().enable();
}

const client = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0 });
const call = () => client.chat.completions.create(PARAMS);

// ---------------------------------------------------------------------------------------------------
let sent = 0;
for (let i = 0; i < WARM; i++) {
  const r = await call();
  if (r.choices[0].message.content !== EXPECT) throw new Error(`${config}: unexpected response ${JSON.stringify(r)}`);
}
sent += WARM;
gc();
const t = new Float64Array(CALLS);
const cpu0 = process.cpuUsage();
for (let i = 0; i < CALLS; i++) {
  const a = hr();
  await call();
  t[i] = Number(hr() - a);
}
const cpu = process.cpuUsage(cpu0);
sent += CALLS;
const last = await call();
sent++;
if (last.choices[0].message.content !== EXPECT) throw new Error(`${config}: unexpected response after timing`);
const stats = summarize(t.sort());
stats.min = t[0];
// CPU time of the client process (all its threads) per call, ns: less sensitive than wall time to how long the
// scheduler takes to wake either process up.
stats.cpu = ((cpu.user + cpu.system) * 1000) / CALLS;

// The spans of the calls so far (before the profiling below adds its own).
let spans;
if (provider) {
  await provider.forceFlush();
  const a = sink.first?.attributes ?? {};
  spans = {
    exported: sink.spans,
    calls: sent,
    firstName: sink.first?.name,
    firstAttributes: Object.keys(a).length,
    decision: a['checkrd.policy.result'],
    rule: a['checkrd.policy.rule'],
    inputMessagesBytes: typeof a['gen_ai.input.messages'] === 'string' ? a['gen_ai.input.messages'].length : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// checkrd only: where its time goes. Not part of the timed series above.
let profile;
if (PROFILED.includes(config) && process.env.CHECKRD_BENCH_NO_BREAKDOWN !== '1') profile = await cpuProfile(CALLS);
let breakdown;
if (guard && process.env.CHECKRD_BENCH_NO_BREAKDOWN !== '1') breakdown = await profileCheckrd();

process.stdout.write(
  JSON.stringify({
    config,
    policy: policyLabel,
    calls: CALLS,
    warm: WARM,
    sent,
    stats,
    spans,
    profile,
    breakdown,
    memory: process.memoryUsage().rss,
  }) + '\n',
);
await inProcessServer?.close();

// ---------------------------------------------------------------------------------------------------
async function profileCheckrd() {
  const common = await import('@checkrd/instrumentation-common');
  // 1. In situ: time inside guard.evaluate() during real calls (a separate pass; the wrapper adds two timer
  //    reads, so this pass is not the timed series).
  const evalT = new Float64Array(PROFILE_CALLS);
  const callT = new Float64Array(PROFILE_CALLS);
  let k = -1;
  let facts;
  let decision;
  const original = guard.evaluate;
  guard.evaluate = function (f) {
    const a = hr();
    const d = original.call(this, f);
    if (k >= 0) evalT[k] = Number(hr() - a);
    facts ??= f;
    decision = d;
    return d;
  };
  await call();
  sent++;
  gc();
  for (k = 0; k < PROFILE_CALLS; k++) {
    const a = hr();
    await call();
    callT[k] = Number(hr() - a);
  }
  sent += PROFILE_CALLS;
  guard.evaluate = original;
  if (decision.result !== 'allow') throw new Error(`${config}: the benchmark request was not allowed: ${JSON.stringify(decision)}`);
  const inSitu = summarize(evalT.sort());
  const inSituCall = summarize(callT.sort());

  // 2. The synchronous pieces of checkrd's per-call work, each alone, on the facts of a real call.
  const tracer = (api ?? (await import('@opentelemetry/api'))).trace.getTracer('@checkrd/instrumentation-openai');
  const genAi = { 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' };
  const attrs = { ...common.httpAttributes(facts.method, facts.url), ...guard.decisionAttributes(decision), ...genAi };
  const n = 20_000;
  const pieces = [
    ['guard.evaluate(): the decision (host marshalling + wasm)', () => guard.evaluate(facts)],
    ['urlParts(): URL.parse of the request URL (guardRequest does it twice)', () => common.urlParts(facts.url)],
    ['decisionAttributes() + httpAttributes(): span attribute objects', () => ({ ...common.httpAttributes(facts.method, facts.url), ...guard.decisionAttributes(decision), ...genAi })],
    ['span: tracer.startSpan(12 attributes) + setAttribute(status) + end()', () => {
      const s = tracer.startSpan('POST 127.0.0.1', { kind: 2, attributes: attrs });
      s.setAttribute('http.response.status_code', 200);
      s.end();
    }],
    ['guardRequest() + endWithStatus(): decision, span, attributes, end', () => {
      const { span } = common.guardRequest(tracer, guard, facts, { attributes: genAi });
      common.endWithStatus(span, 200);
    }],
    ['runDecided(): AsyncLocalStorage.run around the fetch', () => common.runDecided({ decision, by: 'openai' }, () => 0)],
  ];
  const rows = [];
  for (const [label, fn] of pieces) rows.push({ label, ...summarize(await sampleYielding(fn, n, 5_000)) });
  return { inSitu, inSituCall, pieces: rows, facts: { method: facts.method, url: String(facts.url), bodyBytes: typeof facts.body === 'string' ? Buffer.byteLength(facts.body) : facts.body?.byteLength ?? 0 } };
}

/**
 * Like harness.sample() (one hrtime pair around each synchronous call), but it lets the event loop turn every 256
 * calls, outside the timing, so the BatchSpanProcessor can export as it would in an app: ended spans are not
 * dropped on a full queue, which would make span.end() look cheaper than it is.
 */
async function sampleYielding(fn, n, warm) {
  for (let i = 0; i < warm; i++) {
    fn();
    if ((i & 255) === 255) await new Promise(setImmediate);
  }
  gc();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = hr();
    fn();
    out[i] = Number(hr() - a);
    if ((i & 255) === 255) await new Promise(setImmediate);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------
/**
 * `n` more calls under V8's sampling profiler (100 µs interval); returns self time per call (ns) by component.
 * The profiler slows everything a little; the components' sizes relative to each other are what it is for.
 */
async function cpuProfile(n) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  gc();
  await session.post('Profiler.start');
  for (let i = 0; i < n; i++) await call();
  const { profile: p } = await session.post('Profiler.stop');
  session.disconnect();
  sent += n;

  const nodes = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x);
  // checkrd's wasm module: the one whose functions are called from @checkrd/core's JS (undici's llhttp is the other).
  const checkrdWasm = new Set();
  for (const x of p.nodes) {
    if (!x.callFrame.url.startsWith('wasm://')) continue;
    let up = parent.get(x.id);
    while (up && up.callFrame.url.startsWith('wasm://')) up = parent.get(up.id);
    if (up && /\/core\/dist\//.test(up.callFrame.url)) checkrdWasm.add(x.callFrame.url);
  }
  const component = (x) => {
    const { url, functionName } = x.callFrame;
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'gc';
    if (url.startsWith('wasm://')) return checkrdWasm.has(url) ? 'checkrd-wasm' : 'undici';
    const pkg = url.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
    if (pkg) {
      if (pkg === 'openai') return 'openai';
      if (pkg.startsWith('@opentelemetry/')) return 'otel';
      if (pkg.startsWith('@traceloop/') || pkg === 'js-tiktoken' || pkg === 'tslib') return 'traceloop';
      return 'other';
    }
    if (/\/(instrumentations\/[^/]+|sdk)\/dist\//.test(url)) return 'checkrd-instr';
    if (/\/core\/dist\//.test(url)) return 'checkrd-host';
    if (url.startsWith('node:internal/deps/undici')) return 'undici';
    if (url.startsWith('node:internal/webstreams')) return 'webstreams';
    if (url.startsWith('file://') && url.includes('/bench/')) return 'bench';
    return 'node';
  };
  const out = {};
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const k = component(nodes.get(p.samples[i]));
    out[k] = (out[k] ?? 0) + dt;
  }
  for (const k of Object.keys(out)) out[k] = (out[k] * 1000) / n;
  return out;
}
