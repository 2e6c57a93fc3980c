// A local stand-in for the OpenAI API (chat completions only), counting the requests it receives.
import http from 'node:http';

export async function startFakeOpenAI() {
  let received = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received++;
      const model = JSON.parse(body || '{}').model ?? 'unknown';
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        id: `chatcmpl-${received}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Here is the summary.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/v1`, received: () => received, close: () => new Promise((r) => server.close(r)) };
}
