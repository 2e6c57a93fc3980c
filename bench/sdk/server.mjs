// The stand-in for the OpenAI API: node:http on 127.0.0.1 with keep-alive, answering every request with the
// same chat completion, byte for byte. It runs in the benchmark's parent process; the measured client runs in a
// child process, so the server's work is not on the client's thread (the VM has 2 cores: one each).
import http from 'node:http';

/** The response every call gets: a small, fixed chat completion (with usage, so tracers record tokens). */
export const RESPONSE = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1764000000,
    model: 'gpt-4o-2024-08-06',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Revenue grew 12% quarter on quarter.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 14, completion_tokens: 9, total_tokens: 23 },
    system_fingerprint: 'fp_bench',
  }),
);

const HEADERS = { 'content-type': 'application/json', 'content-length': String(RESPONSE.length) };

/**
 * Starts the server. `counts()` reports requests and TCP connections since the last `reset()`, so the runner
 * can check that each configuration sent exactly one request per call over one kept-alive connection.
 */
export async function startServer() {
  let requests = 0;
  let connections = 0;
  let notChat = 0;
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: 120_000, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') notChat++;
    req.on('data', () => {});
    req.on('end', () => {
      requests++;
      res.writeHead(200, HEADERS);
      res.end(RESPONSE);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.on('connection', (socket) => {
    connections++;
    socket.setNoDelay(true);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    counts: () => ({ requests, connections, notChat }),
    reset() {
      requests = 0;
      connections = 0;
      notChat = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}
