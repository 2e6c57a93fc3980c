// What an application has to do to ask Cedar about an outbound request: parse the URL and the JSON
// body, compute what Cedar cannot (the regex rule), build the context, and call the authorizer.
// It uses the fastest documented entry of @cedar-policy/cedar-wasm 4.x: the policy set is parsed
// once with preparsePolicySet(), and each decision is statefulIsAuthorized() against that id.
import { readFileSync } from 'node:fs';

export const CEDAR_POLICY = readFileSync(new URL('./policy.cedar', import.meta.url), 'utf8');
const AWS_KEY = /AKIA[0-9A-Z]{16}/;
const PRINCIPAL = Object.freeze({ type: 'Agent', id: 'bench-agent' });

// The same reduction, cached the same way, as checkrd's host does (core/ts/url.ts): a fair start.
const urls = new Map();
function parts(url) {
  let p = urls.get(url);
  if (p === undefined) {
    const u = URL.parse(url);
    p = u ? { scheme: u.protocol.slice(0, -1), host: u.host, path: u.pathname } : null;
    if (urls.size >= 512) urls.clear();
    urls.set(url, p);
  }
  return p;
}

/** The Cedar context of one request. Exported so the benchmark can report the marshalling alone. */
export function cedarCall(req, now, policySetId) {
  const u = parts(req.url);
  if (u === null) return null;
  const headers = {};
  if (req.headers) for (const k in req.headers) headers[k.toLowerCase()] = String(req.headers[k]);
  const context = { scheme: u.scheme, host: u.host, path: u.path, headers, minute_of_day: Math.floor(now / 60_000) % 1440, body: 'absent' };
  if (req.body != null) {
    let doc;
    try {
      doc = JSON.parse(req.body);
      context.body = 'json';
    } catch {
      context.body = 'invalid';
    }
    if (doc !== null && typeof doc === 'object') {
      if (typeof doc.model === 'string') context.model = doc.model;
      if (Number.isInteger(doc.max_tokens)) context.max_tokens = doc.max_tokens;
      if (Array.isArray(doc.messages)) {
        const texts = [];
        for (const m of doc.messages) if (m !== null && typeof m === 'object' && typeof m.content === 'string') texts.push(m.content);
        if (texts.length) {
          const joined = texts.join('\n');
          context.message_text = joined;
          context.aws_key_in_messages = AWS_KEY.test(joined);
        }
      }
    }
  }
  return {
    principal: PRINCIPAL,
    action: { type: 'Action', id: req.method.toUpperCase() },
    resource: { type: 'Host', id: u.host },
    context,
    preparsedPolicySetId: policySetId,
    entities: [],
  };
}

/** policy.cedar as {id: text}, each policy under its @id, so diagnostics name the rule as checkrd does. */
function namedPolicies(cedar) {
  const split = cedar.policySetTextToParts(CEDAR_POLICY);
  if (split.type !== 'success') throw new Error(`cedar rejected policy.cedar: ${JSON.stringify(split.errors)}`);
  const out = {};
  for (const text of split.policies) {
    const id = /@id\("([^"]+)"\)/.exec(text)?.[1];
    if (!id) throw new Error(`a policy in policy.cedar has no @id: ${text.slice(0, 80)}`);
    out[id] = text;
  }
  return out;
}

/** A Cedar authorizer over policy.cedar: decide(req, now) → 'allow' | 'deny' (with the policy ids). */
export function createCedar(cedar, id = 'checkrd-bench') {
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: namedPolicies(cedar) });
  if (parsed.type !== 'success') throw new Error(`cedar rejected policy.cedar: ${JSON.stringify(parsed.errors)}`);
  return {
    decide(req, now) {
      const call = cedarCall(req, now, id);
      if (call === null) return 'deny';
      const ans = cedar.statefulIsAuthorized(call);
      if (ans.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(ans.errors)}`);
      return ans.response.decision;
    },
    explain(req, now) {
      const ans = cedar.statefulIsAuthorized(cedarCall(req, now, id));
      if (ans.type !== 'success') return { decision: 'error', reason: ans.errors.map((e) => e.message) };
      return { decision: ans.response.decision, reason: ans.response.diagnostics.reason, errors: ans.response.diagnostics.errors };
    },
  };
}
