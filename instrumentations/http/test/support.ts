/** Helpers for the node:http tests: the policy, raw request plumbing, and an HTTPS server on a throwaway certificate. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '../../common/test/helpers.js';

/** Rules per host: chat by `$.model`, uploads without body conditions, reads; admin paths and a marked header denied everywhere. */
export const POLICY = (hosts: string[], mode = 'enforce') => `
default: deny
mode: ${mode}
rules:
  - name: no_admin
    deny:
      url: "**/admin/**"
  - name: no_marked_header
    deny:
      headers:
        - name: x-checkrd-test
          exact: forbidden
${hosts
  .map(
    (h, i) => `  - name: chat_models_${i}
    allow:
      method: [POST]
      url: "${h}/v1/chat/completions"
      body:
        - jsonpath: "$.model"
          in: [gpt-4o]
  - name: uploads_${i}
    allow:
      method: [POST, PUT]
      url: "${h}/upload"
  - name: reads_${i}
    allow:
      method: [GET]
      url: "${h}/**"`,
  )
  .join('\n')}
`;

/** The same without any body condition: the engine does not need bodies, so requests are decided at once. */
export const HEADERS_ONLY_POLICY = (hosts: string[]) => `
default: deny
mode: enforce
rules:
  - name: no_marked_header
    deny:
      headers:
        - name: x-checkrd-test
          exact: forbidden
${hosts
  .map(
    (h, i) => `  - name: anything_${i}
    allow:
      url: "${h}/**"`,
  )
  .join('\n')}
`;

/** The test server's answers: `/status/<n>`, `/slow`, `/redirect?to=<url>`, else an echo of the body as JSON. */
export function respond(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/status/')) {
    res.statusCode = Number(url.pathname.slice('/status/'.length));
    res.end('status');
    return;
  }
  if (url.pathname === '/slow') {
    setTimeout(() => res.end('slow'), 400);
    return;
  }
  if (url.pathname === '/redirect') {
    res.statusCode = 302;
    res.setHeader('location', url.searchParams.get('to') ?? '/');
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ echo: body, te: req.headers['transfer-encoding'] ?? null, marker: req.headers['x-checkrd-test'] ?? null }));
}

export interface Outcome {
  status?: number;
  body?: string;
  error?: Error;
  /** The request's events, in order (socket, response, error, close, abort, timeout). */
  events: string[];
}

/** Watches a raw ClientRequest to its end: the response read whole, or its error, and then 'close'. */
export function outcome(req: http.ClientRequest): Promise<Outcome> {
  const events: string[] = [];
  for (const e of ['socket', 'abort', 'timeout']) req.on(e, () => events.push(e));
  return new Promise((resolve) => {
    const out: Outcome = { events };
    req.on('response', (res) => {
      events.push('response');
      out.status = res.statusCode;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        out.body = body;
      });
    });
    req.on('error', (err) => {
      events.push('error');
      out.error = err;
    });
    req.on('close', () => {
      events.push('close');
      // The response's 'end' runs before the request's 'close'; give the span one more tick.
      setImmediate(() => resolve(out));
    });
  });
}

export interface TlsServer extends TestServer {
  ca: Buffer;
}

/** An HTTPS server on 127.0.0.1 with a self-signed certificate made by openssl in a temporary directory. */
export async function tlsServer(): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'checkrd-http-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const state = { connections: 0, requests: [] as TestServer['requests'] };
    const server = https.createServer({ key, cert }, (req, res) => {
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
      url: `https://127.0.0.1:${port}`,
      port,
      ca: cert,
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
