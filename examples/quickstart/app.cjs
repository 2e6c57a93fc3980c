// The same quickstart in a CommonJS app (require), instrumenting before the SDK is required.
require('./tracing-cjs.cjs');
const { init, instrumentOpenAI, isPolicyDenied, shutdown } = require('checkrd');

(async () => {
  const { startFakeOpenAI } = await import('./fake-openai.mjs');
  const api = await startFakeOpenAI();
  await init({ agentId: 'checkout-agent', policy: require('node:path').join(__dirname, 'policy.yaml') });
  instrumentOpenAI();
  const OpenAI = require('openai');
  const client = new OpenAI({ apiKey: 'sk-demo', baseURL: api.url, maxRetries: 0 });
  for (const model of ['gpt-4o', 'gpt-5']) {
    try {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      console.log(`ALLOW ${model}`);
    } catch (err) {
      if (!isPolicyDenied(err)) throw err;
      console.log(`DENY  ${model}: ${err.reason}`);
    }
  }
  console.log(`received ${api.received()}`);
  await shutdown();
  await api.close();
})();
