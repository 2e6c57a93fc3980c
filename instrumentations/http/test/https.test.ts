import https from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import axios from 'axios';
import got from 'got';
import { isPolicyDenied, PolicyDeniedError, setGlobalGuard } from '@checkrd/instrumentation-common';
import { countingGuard, otel } from '../../common/test/helpers.js';
import { HttpInstrumentation } from '../src/index.js';
import { outcome, POLICY, tlsServer, type TlsServer } from './support.js';

describe('node:https client requests (self-signed certificate from openssl)', () => {
  const o = otel();
  let main: TlsServer;
  let vault: TlsServer;
  let guard: Awaited<ReturnType<typeof countingGuard>>;
  let inst: HttpInstrumentation;
  let agent: https.Agent;

  beforeAll(async () => {
    main = await tlsServer();
    vault = await tlsServer();
    guard = await countingGuard(POLICY([`https://127.0.0.1:${main.port}`, `https://127.0.0.1:${vault.port}`]));
    inst = new HttpInstrumentation({ guard });
    agent = new https.Agent({ ca: [main.ca, vault.ca], keepAlive: true });
  });
  afterAll(async () => {
    inst.disable();
    agent.destroy();
    setGlobalGuard(undefined);
    await main.close();
    await vault.close();
  });
  beforeEach(() => {
    o.reset();
    guard.evaluations = 0;
  });

  it('allows https.request with a body by `$.model`; span says https', async () => {
    const req = https.request(`${main.url}/v1/chat/completions`, { method: 'POST', ca: main.ca });
    const done = outcome(req);
    req.end(JSON.stringify({ model: 'gpt-4o' }));
    const out = await done;
    expect(out.error).toBeUndefined();
    expect(JSON.parse(out.body!).echo).toBe('{"model":"gpt-4o"}');
    expect(guard.evaluations).toBe(1);
    expect(o.spans()[0]!.attributes).toMatchObject({ 'url.scheme': 'https', 'server.port': main.port, 'checkrd.policy.rule': 'chat_models_0', 'http.response.status_code': 200 });
  });

  it('refuses https.request and https.get before the TLS connection is opened', async () => {
    const req = https.request({ host: '127.0.0.1', port: vault.port, path: '/v1/chat/completions', method: 'POST', ca: vault.ca });
    const done = outcome(req);
    req.end('{"model":"gpt-5"}');
    expect((await done).error).toBeInstanceOf(PolicyDeniedError);
    const viaGet = await outcome(https.get(new URL(`${vault.url}/admin/`), { agent }));
    expect((viaGet.error as PolicyDeniedError).rule).toBe('no_admin');
    expect(vault.connections).toBe(0);
    expect(guard.evaluations).toBe(2);
  });

  it('requires the https scheme the rules name: the same host over http is not allowed', async () => {
    const http = await import('node:http');
    const out = await outcome(http.get(`http://127.0.0.1:${vault.port}/ok`));
    expect((out.error as PolicyDeniedError).reason).toBe('default_deny');
    expect(vault.connections).toBe(0);
  });

  it('guards axios and got over https', async () => {
    const res = await axios.post(`${main.url}/v1/chat/completions`, { model: 'gpt-4o' }, { httpsAgent: agent });
    expect(res.status).toBe(200);
    await expect(axios.get(`${vault.url}/admin/`, { httpsAgent: agent })).rejects.toSatisfy(isPolicyDenied);
    const body = await got(`${main.url}/ok`, { https: { certificateAuthority: main.ca } }).json<{ echo: string }>();
    expect(body.echo).toBe('');
    await expect(got(`${vault.url}/admin/`, { https: { certificateAuthority: vault.ca }, retry: { limit: 0 } })).rejects.toSatisfy(isPolicyDenied);
    expect(guard.evaluations).toBe(4);
    expect(vault.connections).toBe(0);
  });
});
