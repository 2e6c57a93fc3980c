/** Test helpers shared by the instrumentation tests: a real OTel SDK and a local server that counts connections. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createGuard, type Guard } from '../src/index.js';

let shared: ReturnType<typeof makeOtel> | undefined;

/** One real tracer provider per test file (the global provider can be set only once), with an in-memory exporter. */
export function otel() {
  shared ??= makeOtel();
  shared.reset();
  return shared;
}

function makeOtel() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(provider);
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
  };
}

export interface TestServer {
  url: string;
  port: number;
  connections: number;
  requests: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 answering `respond(req, body)`; counts TCP connections. */
export async function testServer(
  respond: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void = (_req, body, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ echo: body }));
  },
): Promise<TestServer> {
  const state = { connections: 0, requests: [] as TestServer['requests'] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      respond(req, body, res);
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A guard on a YAML policy, with a counter of evaluations. */
export async function countingGuard(yaml: string, agentId = 'test-agent'): Promise<Guard & { evaluations: number }> {
  const guard = (await createGuard({ agentId, policy: yaml })) as Guard & { evaluations: number };
  guard.evaluations = 0;
  const evaluate = guard.evaluate.bind(guard);
  guard.evaluate = (facts) => {
    guard.evaluations++;
    return evaluate(facts);
  };
  return guard;
}

/**
 * The Node binaries out-of-process tests run on: the one running the tests, and Node 22
 * (fetched by scripts/test.sh into .node/ and passed as CHECKRD_NODE22_BIN).
 */
export function nodeBinaries(): [string, string][] {
  const node22 = process.env.CHECKRD_NODE22_BIN;
  if (!node22) throw new Error('CHECKRD_NODE22_BIN is not set: run the tests with ./run test, which fetches Node 22');
  return [
    [`node ${process.versions.node}`, process.execPath],
    ['node 22', node22],
  ];
}
