// The benchmark's requests, as an instrumented HTTP client hands them to the engine: method, absolute
// URL, headers, and the body exactly as it will be sent (a string).

const PROSE =
  'Our quarterly review covers pipeline health, renewals at risk and the accounts that expanded. ' +
  'Summarize the notes below for the sales team, list open questions, and draft a short follow-up email ' +
  'for each account owner. Keep the tone factual and avoid speculation about pricing changes. ';

function text(bytes, seed) {
  let s = '';
  let i = seed;
  while (s.length < bytes) s += `[${i++}] ${PROSE}`;
  return s.slice(0, bytes);
}

/** An OpenAI chat completion body of exactly `size` bytes (ASCII), its conversation grown to fit. */
export function chatBody(size) {
  const doc = {
    model: 'gpt-4o-mini',
    temperature: 0.2,
    max_tokens: 512,
    messages: [
      { role: 'system', content: 'You are a careful assistant for a B2B sales team. Answer concisely.' },
      { role: 'user', content: '' },
    ],
  };
  // Long conversations: earlier turns of about 1.5 KB each, then the last user message fills the rest.
  let turn = 0;
  while (JSON.stringify(doc).length + 1600 < size - 200) {
    doc.messages.splice(doc.messages.length - 1, 0, { role: turn % 2 ? 'assistant' : 'user', content: text(1500, turn * 7) });
    turn++;
  }
  const base = JSON.stringify(doc).length;
  doc.messages[doc.messages.length - 1].content = text(size - base, 1000);
  const body = JSON.stringify(doc);
  if (body.length !== size) throw new Error(`chat body is ${body.length} bytes, wanted ${size}`);
  return body;
}

const openaiHeaders = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench-0000000000000000000000000000000000000000',
  'user-agent': 'OpenAI/JS 4.104.0',
  'x-stainless-lang': 'js',
};

/** The three timed requests. */
export const timed = [
  {
    id: 'openai-chat-2k',
    label: 'OpenAI chat, 2 KB body',
    req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chatBody(2048) },
    expect: 'allow',
  },
  {
    id: 'openai-chat-64k',
    label: 'OpenAI chat, 64 KB body',
    req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chatBody(65536) },
    expect: 'allow',
  },
  {
    id: 'github-get',
    label: 'GET, no body (GitHub)',
    req: {
      method: 'GET',
      url: 'https://api.github.com/repos/checkrd/checkrd/pulls?state=open&per_page=50',
      headers: { accept: 'application/vnd.github+json', authorization: 'Bearer ghp_bench000000000000000000000000000000', 'user-agent': 'octokit.js/4.1.0' },
    },
    expect: 'allow',
  },
];

const chat = (patch) => JSON.stringify({ ...JSON.parse(chatBody(2048)), ...patch });

/** More requests, not timed: both engines must agree on these too (every rule kind is exercised). */
export const extra = [
  { label: 'admin path', req: { method: 'GET', url: 'https://api.github.com/repos/o/r/admin/keys' } },
  { label: 'internal host', req: { method: 'GET', url: 'https://billing.corp.internal/v1/invoices' } },
  { label: 'cloud metadata', req: { method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' } },
  { label: 'OpenAI key in a prompt', req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chat({ messages: [{ role: 'user', content: 'use sk-proj-abc123 for this' }] }) } },
  { label: 'AWS key in a prompt', req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chat({ messages: [{ role: 'user', content: 'key AKIAABCDEFGHIJKLMNOP ok' }] }) } },
  { label: 'private key in a prompt', req: { method: 'POST', url: 'https://api.anthropic.com/v1/messages', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: '-----BEGIN RSA PRIVATE KEY-----\nMIIE' }] }) } },
  { label: 'debug bypass header', req: { method: 'GET', url: 'https://api.github.com/repos/o/r', headers: { 'X-Debug-Bypass': '1' } } },
  { label: 'model not allowed', req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chat({ model: 'gpt-3.5-turbo' }) } },
  { label: 'max_tokens too high', req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chat({ max_tokens: 100000 }) } },
  { label: 'chat without content-type', req: { method: 'POST', url: 'https://api.openai.com/v1/chat/completions', body: chatBody(2048) } },
  { label: 'chat over http', req: { method: 'POST', url: 'http://api.openai.com/v1/chat/completions', headers: openaiHeaders, body: chatBody(2048) } },
  { label: 'embeddings', req: { method: 'POST', url: 'https://api.openai.com/v1/embeddings', headers: openaiHeaders, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'hello' }) } },
  { label: 'list models', req: { method: 'GET', url: 'https://api.openai.com/v1/models' } },
  { label: 'Anthropic messages', req: { method: 'POST', url: 'https://api.anthropic.com/v1/messages', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] }) } },
  { label: 'Anthropic, old API version', req: { method: 'POST', url: 'https://api.anthropic.com/v1/messages', headers: { 'content-type': 'application/json', 'anthropic-version': '2022-01-01' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [] }) } },
  { label: 'Stripe read', req: { method: 'GET', url: 'https://api.stripe.com/v1/charges?limit=3' } },
  { label: 'Stripe refund, JSON body', req: { method: 'POST', url: 'https://api.stripe.com/v1/refunds', headers: { 'idempotency-key': 'k1' }, body: '{"charge":"ch_1"}' } },
  { label: 'Stripe refund, form body', req: { method: 'POST', url: 'https://api.stripe.com/v1/refunds', headers: { 'idempotency-key': 'k1' }, body: 'charge=ch_1&amount=500' } },
  { label: 'Stripe refund after hours', at: Date.UTC(2025, 5, 2, 22, 30), req: { method: 'POST', url: 'https://api.stripe.com/v1/refunds', headers: { 'idempotency-key': 'k1' }, body: '{"charge":"ch_1"}' } },
  { label: 'GitHub delete', req: { method: 'DELETE', url: 'https://api.github.com/repos/o/r' } },
  { label: 'GitHub issue comment', req: { method: 'POST', url: 'https://api.github.com/repos/o/r/issues/12/comments', headers: { 'content-type': 'application/json' }, body: '{"body":"LGTM"}' } },
  { label: 'unknown host', req: { method: 'GET', url: 'https://example.com/' } },
];
