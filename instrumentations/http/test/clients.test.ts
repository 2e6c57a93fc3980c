/**
 * The clients that reach the network through node:http, as their users see a decision: axios (through
 * follow-redirects), got, node-fetch v2. What each surfaces on a denial:
 * - axios: AxiosError with the message of the PolicyDeniedError, `code` copied, the denial in `cause`.
 * - got: RequestError with the same message and code, the denial in `cause`; not retried.
 * - node-fetch v2: FetchError "request to <url> failed, reason: checkrd: …", `code` copied, but no
 *   `cause` (node-fetch v2 keeps no reference to the error), but it copies the code, and `isPolicyDenied` accepts the code alone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import axios, { AxiosError } from 'axios';
import got, { RequestError } from 'got';
import nodeFetch, { FetchError } from 'node-fetch';
import { isPolicyDenied, policyDenial, setGlobalGuard } from '@checkrd/instrumentation-common';
import { countingGuard, otel, testServer, type TestServer } from '../../common/test/helpers.js';
import { HttpInstrumentation } from '../src/index.js';
import { POLICY, respond } from './support.js';

describe('axios, got and node-fetch v2 through node:http', () => {
  const o = otel();
  let main: TestServer;
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
  });
  afterAll(() => {
    expect(vault.connections).toBe(0);
  });

  describe('axios', () => {
    it('allows a JSON POST by `$.model`: one evaluation, response intact, span with the status', async () => {
      const res = await axios.post(`${main.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [] }, { headers: { authorization: 'Bearer sk-secret' } });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.data.echo)).toEqual({ model: 'gpt-4o', messages: [] });
      expect(guard.evaluations).toBe(1);
      expect(o.spans()).toHaveLength(1);
      expect(o.spans()[0]!.attributes).toMatchObject({ 'checkrd.policy.rule': 'chat_models_0', 'http.response.status_code': 200, 'http.request.method': 'POST' });
    });

    it('refuses a JSON POST by `$.model` without connecting: AxiosError with the denial as cause', async () => {
      const err = await axios.post(`${vault.url}/v1/chat/completions`, { model: 'gpt-5' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AxiosError);
      expect(isPolicyDenied(err)).toBe(true);
      expect((err as AxiosError).message).toMatch(/^checkrd: POST 127\.0\.0\.1 denied by policy/);
      expect((err as AxiosError).code).toBe('CHECKRD_E_POLICY_DENIED');
      expect(policyDenial(err)?.reason).toBe('default_deny');
      expect(vault.connections).toBe(0);
      expect(guard.evaluations).toBe(1);
      expect(o.spans()[0]!.status.code).toBe(2);
    });

    it('streams a body over the limit: denied where the rule needs the body, allowed where it does not', async () => {
      const big = { model: 'gpt-4o', pad: 'x'.repeat(guard.engine.bodyLimit) };
      await expect(axios.post(`${vault.url}/v1/chat/completions`, big)).rejects.toSatisfy(isPolicyDenied);
      const res = await axios.post(`${main.url}/upload`, big, { maxBodyLength: Infinity });
      expect(JSON.parse(res.data.echo).pad).toHaveLength(guard.engine.bodyLimit);
    });

    it('decides every redirect hop', async () => {
      const res = await axios.get(`${main.url}/redirect?to=${encodeURIComponent(`${main.url}/landed`)}`);
      expect(res.status).toBe(200);
      expect(guard.evaluations).toBe(2);
      const err = await axios.get(`${main.url}/redirect?to=${encodeURIComponent(`${vault.url}/admin/`)}`).catch((e: unknown) => e);
      expect(policyDenial(err)?.rule).toBe('no_admin');
      expect(vault.connections).toBe(0);
    });

    it('goes straight to node:http with maxRedirects: 0 too', async () => {
      const err = await axios.get(`${vault.url}/admin/`, { maxRedirects: 0 }).catch((e: unknown) => e);
      expect(isPolicyDenied(err)).toBe(true);
      const res = await axios.get(`${main.url}/plain`, { maxRedirects: 0 });
      expect(res.status).toBe(200);
    });
  });

  describe('got', () => {
    it('allows GET and a JSON POST: one evaluation each', async () => {
      expect((await got(`${main.url}/ok`).json()) as object).toMatchObject({ echo: '' });
      const body = await got.post(`${main.url}/v1/chat/completions`, { json: { model: 'gpt-4o' } }).json<{ echo: string }>();
      expect(JSON.parse(body.echo)).toEqual({ model: 'gpt-4o' });
      expect(guard.evaluations).toBe(2);
      expect(o.spans().map((s) => s.attributes['checkrd.policy.rule'])).toEqual(['reads_0', 'chat_models_0']);
    });

    it('refuses without connecting and without retrying: RequestError with the denial as cause', async () => {
      const err = await got(`${vault.url}/admin/`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestError);
      expect(isPolicyDenied(err)).toBe(true);
      expect((err as RequestError).message).toMatch(/^checkrd: GET 127\.0\.0\.1 denied by policy: rule "no_admin"/);
      expect((err as RequestError).code).toBe('CHECKRD_E_POLICY_DENIED');
      const post = await got.post(`${vault.url}/v1/chat/completions`, { json: { model: 'gpt-5' } }).catch((e: unknown) => e);
      expect(isPolicyDenied(post)).toBe(true);
      expect(guard.evaluations).toBe(2);
      expect(vault.connections).toBe(0);
    });

    it('sends a streamed body after the decision', async () => {
      const { Readable } = await import('node:stream');
      const body = await got
        .post(`${main.url}/v1/chat/completions`, { body: Readable.from(['{"model":', '"gpt-4o"}']) })
        .json<{ echo: string; te: string | null }>();
      expect(body.echo).toBe('{"model":"gpt-4o"}');
      expect(guard.evaluations).toBe(1);
    });
  });

  describe('node-fetch v2', () => {
    it('allows a JSON POST by `$.model`', async () => {
      const res = await nodeFetch(`${main.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4o' }), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { echo: string }).echo).toBe('{"model":"gpt-4o"}');
      expect(guard.evaluations).toBe(1);
      expect(o.spans()[0]!.attributes['http.response.status_code']).toBe(200);
    });

    it('refuses without connecting: FetchError naming checkrd, with the code but no cause', async () => {
      const err = await nodeFetch(`${vault.url}/v1/chat/completions`, { method: 'POST', body: '{"model":"gpt-5"}' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FetchError);
      expect((err as FetchError).message).toBe(`request to ${vault.url}/v1/chat/completions failed, reason: checkrd: POST 127.0.0.1 denied by policy: default_deny`);
      expect((err as FetchError).code).toBe('CHECKRD_E_POLICY_DENIED');
      expect(isPolicyDenied(err)).toBe(true); // node-fetch v2 drops the error but keeps its code, which isPolicyDenied accepts
      expect(policyDenial(err)).toBeUndefined();
      expect(vault.connections).toBe(0);
      expect(o.spans()[0]!.attributes['checkrd.policy.result']).toBe('deny');
    });
  });
});
