// Engine memory at the sizing point: a 200-rule policy and 10,000 live rate-limit keys.
// What is reported is the engine's wasm linear memory (engine.stats().memory_bytes): the policy, the
// rate-limit windows, the request buffer and the allocator's slack. It never shrinks.

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o3-mini'];

/** A valid 200-rule policy: 20 deny, 170 allow, 10 limits; one limit is keyed per `$.user`. */
export function policy200() {
  const rules = [];
  for (let i = 0; i < 10; i++) rules.push({ name: `deny_path_${i}`, deny: { url: `**/blocked-${i}/**` } });
  for (let i = 0; i < 5; i++) rules.push({ name: `deny_secret_${i}`, deny: { body: { jsonpath: '$.messages[*].content', contains: `secret-marker-${i}-` } } });
  for (let i = 0; i < 5; i++) rules.push({ name: `deny_header_${i}`, deny: { headers: [{ name: `x-block-${i}`, present: true }] } });
  for (let i = 0; i < 170; i++) {
    rules.push({
      name: `allow_service_${i}`,
      allow: {
        method: ['POST'],
        url: `https://api-${i}.example.com/v1/chat/completions`,
        headers: [{ name: 'content-type', prefix: 'application/json' }],
        body: [
          { jsonpath: '$.model', in: MODELS },
          { jsonpath: '$.max_tokens', min: 1, max: 4096 },
        ],
      },
    });
  }
  rules.push({ name: 'limit_per_user', limit: { per: 'body_field', field: '$.user', calls_per_minute: 60 } });
  for (let i = 1; i < 10; i++) {
    rules.push({ name: `limit_service_${i}`, limit: { per: 'endpoint', url: `api-${i}.example.com/**`, calls_per_minute: 600 } });
  }
  return { agent: 'bench-agent', default: 'deny', mode: 'enforce', rules };
}

/** Loads policy200(), admits one call for each of `keys` users, and reads the engine's stats. */
export async function measureMemory(createEngine, keys = 10_000) {
  const engine = await createEngine({ policy: policy200() });
  const afterLoad = engine.stats();
  const now = Date.UTC(2025, 5, 2, 12, 0);
  const headers = { 'content-type': 'application/json' };
  let allowed = 0;
  for (let i = 0; i < keys; i++) {
    const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 256, user: `user-${i}`, messages: [{ role: 'user', content: `question ${i}` }] });
    const d = engine.evaluate({ method: 'POST', url: 'https://api-0.example.com/v1/chat/completions', headers, body }, { now: now + i });
    if (d.result === 'allow') allowed++;
  }
  return { rules: engine.rules.length, afterLoad, afterKeys: engine.stats(), allowed };
}
