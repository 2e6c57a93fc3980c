import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { createEngine, type Decision, type RequestFacts } from '@checkrd/core';
import { loadPolicyFile } from '@checkrd/policy';
import { loadOrg } from './validate.js';
import { checkReadable, parseTime, println, readUserFile, UsageError, type Io } from './io.js';

/** A request line of `eval --requests` and of test cases. */
export interface RequestLine {
  method?: unknown;
  url?: unknown;
  headers?: unknown;
  body?: unknown;
  time?: unknown;
}

export function toFacts(line: RequestLine, where: string): RequestFacts {
  if (typeof line.method !== 'string' || !line.method) throw new UsageError(`${where}: "method" must be a string such as "POST"`);
  if (typeof line.url !== 'string' || !line.url) throw new UsageError(`${where}: "url" must be an absolute URL string`);
  const facts: RequestFacts = { method: line.method, url: line.url };
  if (line.headers !== undefined) {
    if (typeof line.headers !== 'object' || line.headers === null || Array.isArray(line.headers)) throw new UsageError(`${where}: "headers" must be an object of name: value`);
    facts.headers = line.headers as Record<string, string>;
  }
  if (line.body !== undefined && line.body !== null) facts.body = typeof line.body === 'string' ? line.body : JSON.stringify(line.body);
  return facts;
}

export function decisionLine(d: Decision): string {
  return JSON.stringify(d);
}

export async function evalCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      method: { type: 'string' },
      url: { type: 'string' },
      body: { type: 'string' },
      header: { type: 'string', multiple: true },
      time: { type: 'string' },
      explain: { type: 'boolean' },
      requests: { type: 'string' },
      org: { type: 'string' },
      'kill-switch': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('eval takes one policy file');
  const policy = await loadPolicyFile(positionals[0]!);
  const org = await loadOrg(values.org);
  const engine = await createEngine({ policy: policy.document, orgPolicy: org?.document ?? null });
  if (values['kill-switch']) engine.setKillSwitch(true);
  const explain = values.explain ?? false;
  if (values.requests !== undefined) {
    if (values.method || values.url || values.body) throw new UsageError('use either --requests or --method/--url/--body');
    if (values.requests !== '-') await checkReadable(values.requests, 'requests file');
    const input = values.requests === '-' ? io.stdin : createReadStream(values.requests);
    if (!input) throw new UsageError('no standard input');
    const rl = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    let bad = 0;
    for await (const raw of rl) {
      n++;
      if (!raw.trim()) continue;
      const where = `${values.requests === '-' ? '<stdin>' : values.requests}:${n}`;
      try {
        let line: RequestLine;
        try {
          line = JSON.parse(raw) as RequestLine;
        } catch (e) {
          throw new UsageError(`${where}: not JSON: ${(e as Error).message}`);
        }
        if (typeof line !== 'object' || line === null || Array.isArray(line)) throw new UsageError(`${where}: each line must be a JSON object`);
        const now = line.time === undefined ? Date.now() : parseTime(line.time, where);
        println(io.stdout, decisionLine(engine.evaluate(toFacts(line, where), { now, explain })));
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        bad++;
        println(io.stdout, JSON.stringify({ error: e.message, line: n }));
        println(io.stderr, `checkrd: ${e.message}`);
      }
    }
    return bad ? 1 : 0;
  }
  if (!values.method || !values.url) throw new UsageError('eval needs --method and --url (or --requests)');
  let body: string | undefined = values.body;
  if (body?.startsWith('@')) body = (await readUserFile(body.slice(1), 'body file')).toString('utf8');
  const headers: [string, string][] = [];
  for (const h of values.header ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`--header must be name:value, not "${h}"`);
    headers.push([h.slice(0, i).trim(), h.slice(i + 1).trim()]);
  }
  const now = values.time === undefined ? Date.now() : parseTime(values.time, '--time');
  const d = engine.evaluate({ method: values.method, url: values.url, headers, ...(body !== undefined ? { body } : {}) }, { now, explain });
  println(io.stdout, explain ? JSON.stringify(d, null, 2) : decisionLine(d));
  return 0;
}
