/**
 * The URL the engine sees: parsed with the WHATWG URL parser, the one fetch uses to connect
 * (so IDN hosts become punycode, `%2e` segments and default ports are resolved exactly as the request
 * will be sent), reduced to `scheme://[u@]host[:port]/path`: never the query, fragment or credentials.
 * The core finishes the normalization of policy-language.md and rejects userinfo.
 */
const cache = new Map<string, string | null>();
const CACHE_MAX = 512;

function reduce(u: URL): string {
  return `${u.protocol}//${u.username || u.password ? 'userinfo@' : ''}${u.host}${u.pathname}`;
}

export function requestUrl(url: string | URL): string | null {
  if (typeof url !== 'string') return reduce(url);
  const hit = cache.get(url);
  if (hit !== undefined) return hit;
  const parsed = URL.parse(url);
  const out = parsed ? reduce(parsed) : null;
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(url, out);
  return out;
}
