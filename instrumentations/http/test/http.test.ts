import http from 'node:http';
import https from 'node:https';
import { request as namedRequest } from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPolicyDenied, PolicyDeniedError, runDecided, setGlobalGuard } from '@checkrd/instrumentation-common';
import { FetchInstrumentation } from '@checkrd/instrumentation-fetch';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { HttpInstrumentation } from '../src/index.js';
import { HEADERS_ONLY_POLICY, outcome, POLICY, respond } from './support.js';

const originals = { request: http.request, get: http.get, httpsRequest: https.request, httpsGet: https.get };

describe('node:http client requests (real ClientRequest, real OTel SDK, local servers)', () => {
  const o = otel();
  /** Serves the allowed requests. */
  let main: TestServer;
  /** Every request sent here in these tests is denied: it must never see a connection. */
  let vault: TestServer;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: HttpInstrumentation;

  beforeAll(async () => {
    main = await testServer(respond);
    vault = await testServer(respond);
    guard = await countingGuard(POLICY([`127.0.0.1:${main.port}`, `127.0.0.1:${vault.port}`]));
    inst = new HttpInstrumentation({ guard });
  });
  afterAll(async () => {
    inst.disable();
    setGlobalGuard(undefined);
    await main.close();
    await vault.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
    inst.setConfig({ guard });
  });

  it('reads bodies: the policy needs them, so requests are decided at end()', () => {
    expect(guard.engine.needsBody).toBe(true);
  });

  it('allows a POST whose body, written in chunks, passes `$.model`; the body and its framing arrive intact', async () => {
    const req = http.request(`${main.url}/v1/chat/completions?key=secret`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret' } });
    const done = outcome(req);
    req.write('{"model":');
    req.write(Buffer.from('"gpt-4o"'));
    req.end('}');
    const out = await done;
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!)).toEqual({ echo: '{"model":"gpt-4o"}', te: 'chunked', marker: null });
    expect(out.events).toEqual(['socket', 'response', 'close']);
    expect(guard.evaluations).toBe(1);
    const spans = o.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name).toBe('POST 127.0.0.1');
    expect(spans[0]!.attributes).toMatchObject({
      'checkrd.agent.id': 'test-agent',
      'checkrd.policy.result': 'allow',
      'checkrd.policy.rule': 'chat_models_0',
      'checkrd.policy.reason': 'rule_allow',
      'checkrd.policy.mode': 'enforce',
      'checkrd.policy.enforced': true,
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': main.port,
      'url.scheme': 'http',
      'url.path': '/v1/chat/completions',
      'http.response.status_code': 200,
    });
    expect(spans[0]!.status.code).toBe(0);
    expect(JSON.stringify(spans[0]!.attributes)).not.toMatch(/secret|key=/);
  });

  it('refuses a POST whose body fails `$.model` before connecting: PolicyDeniedError as the error event, then close', async () => {
    const req = http.request({ host: '127.0.0.1', port: vault.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
    const done = outcome(req);
    req.write('{"model":"gpt-5"}');
    req.end();
    const out = await done;
    expect(out.error).toBeInstanceOf(PolicyDeniedError);
    expect(isPolicyDenied(out.error)).toBe(true);
    expect(out.error!.message).toMatch(/^checkrd: POST 127\.0\.0\.1 denied by policy: default_deny/);
    expect(out.events).toEqual(['error', 'close']);
    expect(req.destroyed).toBe(true);
    expect(vault.connections).toBe(0);
    expect(guard.evaluations).toBe(1);
    const [span] = o.spans();
    expect(o.spans()).toHaveLength(1);
    expect(span!.status.code).toBe(2);
    expect(span!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'checkrd.policy.reason': 'default_deny', 'error.type': 'PolicyDeniedError' });
  });

  it('guards http.get with each calling convention (string, URL, options, url + options + callback)', async () => {
    const viaString = await outcome(http.get(`${main.url}/a`));
    const viaUrl = await outcome(http.get(new URL(`${main.url}/b`)));
    const viaOptions = await outcome(http.get({ hostname: '127.0.0.1', port: main.port, path: '/c', headers: { accept: 'application/json' } }));
    let called = false;
    const viaBoth = await outcome(
      http.get(`${main.url}/ignored`, { path: '/d' }, () => {
        called = true;
      }),
    );
    for (const out of [viaString, viaUrl, viaOptions, viaBoth]) expect(out.status).toBe(200);
    expect(called).toBe(true);
    expect(main.requests.slice(-4).map((r) => r.url)).toEqual(['/a', '/b', '/c', '/d']);
    expect(guard.evaluations).toBe(4);
    expect(o.spans().map((s) => s.attributes['url.path'])).toEqual(['/a', '/b', '/c', '/d']);

    const denied = await outcome(http.get(`${vault.url}/x/admin/y`));
    expect(denied.error).toBeInstanceOf(PolicyDeniedError);
    expect((denied.error as PolicyDeniedError).rule).toBe('no_admin');
    expect(denied.events).toEqual(['error', 'close']);
    expect(vault.connections).toBe(0);
  });

  it('decides on the URL Node really connects to: host, hostname, port, path, setHost', async () => {
    // `host` with no `hostname`, and a Host header naming somewhere else: the policy sees where the bytes go.
    const out = await outcome(http.get({ host: '127.0.0.1', port: String(vault.port), path: '/admin/', setHost: false, headers: { host: `127.0.0.1:${main.port}` } }));
    expect((out.error as PolicyDeniedError).rule).toBe('no_admin');
    const [span] = o.spans();
    expect(span!.attributes).toMatchObject({ 'server.port': vault.port, 'url.path': '/admin/' });
    expect(vault.connections).toBe(0);
  });

  it('sees headers set on the request after http.request() returned, and raw header arrays', async () => {
    const req = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST' });
    req.setHeader('X-Checkrd-Test', 'forbidden');
    const done = outcome(req);
    req.end('{"model":"gpt-4o"}');
    expect(((await done).error as PolicyDeniedError).rule).toBe('no_marked_header');

    const raw = await outcome(http.get(`${vault.url}/ok`, { headers: ['X-Checkrd-Test', 'forbidden'] as unknown as http.OutgoingHttpHeaders }));
    expect((raw.error as PolicyDeniedError).rule).toBe('no_marked_header');
    expect(vault.connections).toBe(0);
  });

  it('keeps flushHeaders, setTimeout, the socket event and socket reuse working', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const before = main.connections;
      const first = http.request(`${main.url}/v1/chat/completions`, { method: 'POST', agent });
      first.flushHeaders();
      let socketSeen = false;
      first.on('socket', (s) => (socketSeen = s instanceof net.Socket));
      first.setTimeout(5_000);
      const done = outcome(first);
      first.end('{"model":"gpt-4o"}');
      expect((await done).status).toBe(200);
      expect(socketSeen).toBe(true);
      expect(first.reusedSocket).toBe(false);

      const second = http.request(`${main.url}/v1/chat/completions`, { method: 'POST', agent });
      const done2 = outcome(second);
      second.end('{"model":"gpt-4o"}');
      expect((await done2).status).toBe(200);
      expect(second.reusedSocket).toBe(true);
      expect(main.connections - before).toBe(1);

      const slow = http.get(`${main.url}/slow`, { agent });
      let timedOut = false;
      slow.setTimeout(50, () => {
        timedOut = true;
        slow.destroy(new Error('timed out'));
      });
      const out = await outcome(slow);
      expect(timedOut).toBe(true);
      expect(out.error?.message).toBe('timed out');
      expect(o.spans().at(-1)!.status.code).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('streams a body past the limit once decided (body unavailable: an allow rule without body conditions still allows)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunks = Array.from({ length: 24 }, () => chunk); // 1.5 MiB
    const req = http.request(`${main.url}/upload`, { method: 'PUT' });
    const done = outcome(req);
    Readable.from(chunks).pipe(req);
    const out = await done;
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!).echo).toHaveLength(24 * 64 * 1024);
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes['checkrd.policy.rule']).toBe('uploads_0');
  });

  it('connects as soon as the writes pass the body limit, before end()', async () => {
    const req = http.request(`${main.url}/upload`, { method: 'POST' });
    const socket = new Promise((r) => req.once('socket', r));
    const done = outcome(req);
    req.write(Buffer.alloc(guard.engine.bodyLimit + 1, 'b'));
    await socket;
    req.end('tail');
    const out = await done;
    expect(JSON.parse(out.body!).echo).toHaveLength(guard.engine.bodyLimit + 5);
  });

  it('fails closed on a body over the limit when the rule needs it: denied without a connection', async () => {
    const req = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST' });
    const done = outcome(req);
    const filler = 'x'.repeat(64 * 1024);
    let writes = 0;
    req.write('{"model":"gpt-4o","pad":"');
    while (writes++ < 20) req.write(filler);
    req.end('"}');
    const out = await done;
    expect(out.error).toBeInstanceOf(PolicyDeniedError);
    expect(vault.connections).toBe(0);
    expect(guard.evaluations).toBe(1);
  });

  it('calls write callbacks while it holds the body, so a writer that waits for them reaches end()', async () => {
    const req = http.request(`${main.url}/v1/chat/completions`, { method: 'POST' });
    const done = outcome(req);
    const write = (s: string) => new Promise<void>((r, j) => req.write(s, (err) => (err ? j(err) : r())));
    await write('{"model"');
    await write(':"gpt-4o"}');
    await new Promise<void>((r) => req.end(() => r()));
    expect(JSON.parse((await done).body!).echo).toBe('{"model":"gpt-4o"}');
  });

  it('answers Expect: 100-continue while it waits for the body, and the client sees one continue', async () => {
    const req = http.request(`${main.url}/v1/chat/completions`, { method: 'POST', headers: { expect: '100-continue', 'content-type': 'application/json' } });
    let continues = 0;
    req.on('continue', () => {
      if (continues++ === 0) req.end('{"model":"gpt-4o"}');
    });
    const out = await outcome(req);
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!).echo).toBe('{"model":"gpt-4o"}');
    expect(continues).toBe(1);
    expect(main.requests.at(-1)!.headers.expect).toBe('100-continue');

    const denied = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST', headers: { expect: '100-continue' } });
    denied.on('continue', () => denied.end('{"model":"gpt-5"}'));
    expect((await outcome(denied)).error).toBeInstanceOf(PolicyDeniedError);
    expect(vault.connections).toBe(0);
  });

  it('a request destroyed before it is decided is not decided and fails as Node fails it', async () => {
    const a = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST' });
    const aOut = outcome(a);
    a.write('{"model":');
    a.destroy();
    expect((await aOut).error).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });

    const b = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST' });
    const bOut = outcome(b);
    b.destroy(new Error('mine'));
    expect((await bOut).error?.message).toBe('mine');

    const c = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST' });
    const cOut = outcome(c);
    c.abort();
    const cRes = await cOut;
    expect(cRes.error).toBeUndefined();
    expect(cRes.events).toEqual(['abort', 'close']);

    const controller = new AbortController();
    const d = http.request(`${vault.url}/v1/chat/completions`, { method: 'POST', signal: controller.signal });
    const dOut = outcome(d);
    controller.abort();
    expect((await dOut).error?.name).toBe('AbortError');

    const e = http.get(`${vault.url}/ok`, { signal: AbortSignal.abort() });
    expect((await outcome(e)).error?.name).toBe('AbortError');

    expect(guard.evaluations).toBe(0);
    expect(o.spans()).toHaveLength(0);
    expect(vault.connections).toBe(0);
  });

  it('holds agent: false and createConnection requests too', async () => {
    const out = await outcome(http.get(`${main.url}/nokeepalive`, { agent: false }));
    expect(out.status).toBe(200);
    const denied = await outcome(http.get(`${vault.url}/admin/`, { agent: false }));
    expect(denied.error).toBeInstanceOf(PolicyDeniedError);

    let created = 0;
    const createConnection = (opts: net.NetConnectOpts) => {
      created++;
      return net.createConnection(opts);
    };
    const ok = await outcome(http.get(`${main.url}/cc`, { createConnection } as http.RequestOptions));
    expect(ok.status).toBe(200);
    expect(created).toBe(1);
    const refused = await outcome(http.get(`${vault.url}/admin/`, { createConnection } as http.RequestOptions));
    expect(refused.error).toBeInstanceOf(PolicyDeniedError);
    expect(created).toBe(1);
    expect(vault.connections).toBe(0);
  });

  it('decides at once, even for an agent it cannot hold (not extensible)', async () => {
    const agent = Object.preventExtensions(new http.Agent());
    const ok = await outcome(http.get(`${main.url}/rigid`, { agent }));
    expect(ok.status).toBe(200);
    const before = main.requests.length;
    const denied = await outcome(http.get(`${main.url}/admin/rigid`, { agent }));
    expect(denied.error).toBeInstanceOf(PolicyDeniedError);
    expect(main.requests.length).toBe(before); // the TCP connection may open; no byte of the request is sent
    expect(guard.evaluations).toBe(2);
  });

  it('lets the constructor throw as Node does, and leaves the agent as it was', async () => {
    expect(() => http.request({ host: '127.0.0.1', port: main.port, method: 'BAD METHOD' })).toThrow(/Method must be a valid HTTP token/);
    expect(() => http.request(`${main.url}/x`, { agent: new https.Agent() })).toThrow(/Protocol "http:" not supported/);
    expect(() => http.request('not a url')).toThrow(/Invalid URL/);
    expect(Object.getOwnPropertyDescriptor(http.globalAgent, 'addRequest')).toBeUndefined();
    expect(guard.evaluations).toBe(0);
    expect((await outcome(http.get(`${main.url}/after-throw`))).status).toBe(200);
  });

  it('records the response status: 4xx ends the span with an error status, once', async () => {
    const out = await outcome(http.get(`${main.url}/status/404`));
    expect(out.status).toBe(404);
    expect(o.spans()).toHaveLength(1);
    expect(o.spans()[0]!.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' });
    expect(o.spans()[0]!.status.code).toBe(2);
  });

  it('leaves an unanswered error unhandled as Node does (no error listener of its own)', async () => {
    const req = http.get(`${vault.url}/admin/`);
    expect(req.listenerCount('error')).toBe(0);
    const err = await new Promise<Error>((r) => req.on('error', r));
    expect(err).toBeInstanceOf(PolicyDeniedError);
  });

  it('makes no decision for a request an outer instrumentation already decided', async () => {
    const d = guard.evaluate({ method: 'GET', url: `${main.url}/ok` });
    guard.evaluations = 0;
    const out = await runDecided({ decision: d, by: 'test' }, () => outcome(http.get(`${main.url}/admin/x`)));
    expect(out.status).toBe(200);
    expect(guard.evaluations).toBe(0);
    expect(o.spans()).toHaveLength(0);
  });

  it('does not see fetch (undici does not use node:http), so fetch is decided once, by the fetch instrumentation', async () => {
    const res = await fetch(`${main.url}/admin/fetch`);
    expect(res.status).toBe(200);
    await res.text();
    expect(guard.evaluations).toBe(0);
    const fetchInst = new FetchInstrumentation({ guard });
    try {
      await expect(fetch(`${vault.url}/admin/fetch`)).rejects.toSatisfy(isPolicyDenied);
      const ok = await fetch(`${main.url}/fetch`);
      await ok.text();
      expect(guard.evaluations).toBe(2);
      expect(o.spans()).toHaveLength(2);
    } finally {
      fetchInst.disable();
    }
  });

  it('patches the ESM named exports too', () => {
    expect(namedRequest).toBe(http.request);
    expect(namedRequest).not.toBe(originals.request);
  });

  it('disable() restores the originals; enable() twice patches once', async () => {
    inst.disable();
    expect([http.request, http.get, https.request, https.get]).toEqual([originals.request, originals.get, originals.httpsRequest, originals.httpsGet]);
    expect(namedRequest).toBe(originals.request);
    const out = await outcome(http.get(`${main.url}/admin/after-disable`));
    expect(out.status).toBe(200);
    expect(guard.evaluations).toBe(0);
    inst.enable();
    inst.enable();
    expect((http.request as unknown as { __original: unknown }).__original).toBe(originals.request);
    expect((https.get as unknown as { __original: unknown }).__original).toBe(originals.httpsGet);
    const denied = await outcome(http.get(`${vault.url}/admin/`));
    expect(denied.error).toBeInstanceOf(PolicyDeniedError);
    expect(guard.evaluations).toBe(1);
  });

  it('shares node:http with another instrumentation that wrapped over it (shimmer): disable leaves ours inert, enable revives it', async () => {
    const ours = http.request;
    const outer = Object.assign(
      function (this: unknown, ...args: unknown[]) {
        return (ours as (...a: unknown[]) => http.ClientRequest).apply(this, args);
      },
      { __original: ours, __wrapped: true },
    ) as unknown as typeof http.request;
    http.request = outer;
    try {
      inst.disable();
      expect(http.request).toBe(outer);
      const passed = await outcome(http.request(`${main.url}/admin/inert`).end());
      expect(passed.status).toBe(200);
      expect(guard.evaluations).toBe(0);
      inst.enable();
      expect(http.request).toBe(outer);
      const denied = await outcome(http.request(`${vault.url}/admin/`).end());
      expect(denied.error).toBeInstanceOf(PolicyDeniedError);
      expect(guard.evaluations).toBe(1);
    } finally {
      http.request = ours;
    }
  });

  it('passes requests through unchecked when there is no guard', async () => {
    inst.setConfig({});
    const out = await outcome(http.get(`${main.url}/admin/unguarded`));
    expect(out.status).toBe(200);
    expect(o.spans()).toHaveLength(0);
  });

  describe('with a policy that reads no body', () => {
    let headersOnly: Awaited<ReturnType<typeof countingGuard>>;
    beforeAll(async () => {
      headersOnly = await countingGuard(HEADERS_ONLY_POLICY([`127.0.0.1:${main.port}`]));
    });
    beforeEach(() => {
      inst.setConfig({ guard: headersOnly });
      headersOnly.evaluations = 0;
    });

    it('decides on the next tick, with the headers set right after request()', async () => {
      expect(headersOnly.engine.needsBody).toBe(false);
      const req = http.request(`${main.url}/v1/chat/completions`, { method: 'POST' });
      req.setHeader('x-checkrd-test', 'forbidden');
      req.end('{"model":"anything"}');
      const out = await outcome(req);
      expect((out.error as PolicyDeniedError).rule).toBe('no_marked_header');
      expect(headersOnly.evaluations).toBe(1);
    });

    it('lets a caller wait for the socket before it writes the body', async () => {
      const req = http.request(`${main.url}/v1/chat/completions`, { method: 'POST' });
      const done = outcome(req);
      req.on('socket', () => req.end('{"model":"o3"}'));
      const out = await done;
      expect(JSON.parse(out.body!).echo).toBe('{"model":"o3"}');
      expect(headersOnly.evaluations).toBe(1);
    });
  });
});

describe('node:http in dry_run', () => {
  it('lets a denied request through and says on the span what would have happened', async () => {
    const o = otel();
    const server = await testServer(respond);
    const guard = await countingGuard(POLICY([`127.0.0.1:${server.port}`], 'dry_run'));
    const inst = new HttpInstrumentation({ guard });
    try {
      const req = http.request(`${server.url}/v1/chat/completions`, { method: 'POST' });
      const done = outcome(req);
      req.end('{"model":"gpt-5"}');
      const out = await done;
      expect(out.status).toBe(200);
      expect(server.requests).toHaveLength(1);
      expect(guard.evaluations).toBe(1);
      expect(o.spans()[0]!.attributes).toMatchObject({ 'checkrd.policy.result': 'deny', 'checkrd.policy.enforced': false, 'checkrd.policy.mode': 'dry_run', 'http.response.status_code': 200 });
    } finally {
      inst.disable();
      await server.close();
    }
  });
});
