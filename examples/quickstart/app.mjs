// The seed's quickstart, in an ESM app: three lines of checkrd, then plain openai calls.
import './tracing.mjs';
import OpenAI from 'openai';
import { init, instrumentOpenAI, isPolicyDenied, shutdown } from 'checkrd';
import { startFakeOpenAI } from './fake-openai.mjs';

const api = await startFakeOpenAI();
await init({ agentId: 'checkout-agent', policy: new URL('./policy.yaml', import.meta.url).pathname });
instrumentOpenAI(); // after `import OpenAI`: still patched

const client = new OpenAI({ apiKey: 'sk-demo', baseURL: api.url, maxRetries: 0 });
async function call(model) {
  try {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Summarise the Q3 report.' }] });
    console.log(`ALLOW ${model}: "${r.choices[0].message.content}"`);
  } catch (err) {
    if (!isPolicyDenied(err)) throw err;
    console.log(`DENY  ${model}: ${err.message}`);
  }
}
for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-5', 'gpt-4o', 'gpt-4o', 'gpt-4o']) await call(model);
console.log(`the stand-in API received ${api.received()} requests; denied calls never left the process`);
await shutdown();
await api.close();
