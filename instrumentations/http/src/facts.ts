/**
 * The request as Node will send it, read from the caller's arguments and from the constructed
 * ClientRequest (its own parsing of URL, options, host, path, method and headers), never re-derived.
 */
import type { Agent, ClientRequest } from 'node:http';
import { urlToHttpOptions } from 'node:url';
import type { Facts, Options } from './internal-types.js';

/** The caller's arguments split the way ClientRequest splits them. */
export interface CallShape {
  /** The URL argument as options (`urlToHttpOptions`), if there was one. */
  input: Options | undefined;
  /** The options argument, if there was one. */
  options: Options | undefined;
  /** Where the options argument is in the argument list; -1 when there is none. */
  optionsIndex: number;
}

/** Node's own test for "a URL object" (`internal/url` isURL): duck-typed, so a url.parse() result is not one. */
function isUrlLike(v: unknown): v is URL {
  if (typeof v !== 'object' || v === null) return false;
  const u = v as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown };
  return Boolean(u.href && u.protocol) && u.auth === undefined && u.path === undefined;
}

/** Throws what ClientRequest would throw for an invalid URL string. */
export function readArgs(args: readonly unknown[]): CallShape {
  let input: Options | undefined;
  let i = 0;
  const first = args[0];
  if (typeof first === 'string') {
    input = urlToHttpOptions(new URL(first)) as Options;
    i = 1;
  } else if (isUrlLike(first)) {
    input = urlToHttpOptions(first) as Options;
    i = 1;
  }
  const next = args[i];
  if (next !== null && typeof next === 'object') return { input, options: next as Options, optionsIndex: i };
  return { input, options: undefined, optionsIndex: -1 };
}

/** One option as ClientRequest sees it: the options argument wins over the URL. */
export function option(shape: CallShape, key: string): unknown {
  if (shape.options && key in shape.options) return shape.options[key];
  return shape.input?.[key];
}

/** The port ClientRequest connects to: `options.port || defaultPort || 80`. */
export function requestPort(shape: CallShape, agent: Agent | undefined): string | number {
  const port = option(shape, 'port') || option(shape, 'defaultPort') || (agent as { defaultPort?: number } | undefined)?.defaultPort || 80;
  return port as string | number;
}

/**
 * The absolute URL of the request: scheme, host and port it connects to, and the path it sends (never
 * the Host header). A path already in absolute form (a request to a forward proxy) is the URL itself.
 */
export function requestUrl(req: ClientRequest, port: string | number): string {
  const path = req.path;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
  let host = req.host;
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${req.protocol}//${host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The headers that will be sent: those set on the request, or a raw header array given as options.headers. */
export function requestHeaders(req: ClientRequest, shape: CallShape): Facts['headers'] {
  const raw = option(shape, 'headers');
  if (!Array.isArray(raw)) return req.getHeaders() as Facts['headers'];
  const out: [string, string][] = [];
  if (raw.length > 0 && Array.isArray(raw[0])) {
    for (const pair of raw as unknown[][]) out.push([String(pair[0]), String(pair[1])]);
  } else {
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  }
  return out;
}
