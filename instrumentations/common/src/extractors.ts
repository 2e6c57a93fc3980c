/** What each vendor's responses say about the model that answered and the tokens it counted. */
import type { ResponseExtractor } from './response.js';

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/**
 * OpenAI: chat completions and completions (`model`, `usage.prompt_tokens/completion_tokens`, in the JSON
 * body or in stream chunks — the usage one with `stream_options.include_usage`), embeddings
 * (`usage.prompt_tokens`), the Responses API (`model`, `usage.input_tokens/output_tokens`, in the JSON
 * body or in the `response` of its `response.*` stream events).
 */
export const openaiExtractor: ResponseExtractor = (event, facts) => {
  if (!isRecord(event)) return;
  const body =
    typeof event.type === 'string' && event.type.startsWith('response.') && isRecord(event.response) ? event.response : event;
  if (typeof body.model === 'string' && body.model !== '') facts.model = body.model;
  const usage = body.usage;
  if (!isRecord(usage)) return;
  const input = count(usage.prompt_tokens) ?? count(usage.input_tokens);
  const output = count(usage.completion_tokens) ?? count(usage.output_tokens);
  if (input !== undefined) facts.inputTokens = input;
  if (output !== undefined) facts.outputTokens = output;
};

/**
 * Anthropic messages: the JSON `message` (`model`, `usage`), or the stream's `message_start`
 * (`message.model`, `message.usage`) and `message_delta` (`usage.output_tokens`, cumulative; newer API
 * versions also repeat the input counts). The input count includes cache writes and reads
 * (`cache_creation_input_tokens`, `cache_read_input_tokens`), which Anthropic reports apart from
 * `input_tokens`: the GenAI conventions say gen_ai.usage.input_tokens SHOULD include cached tokens.
 */
export const anthropicExtractor: ResponseExtractor = (event, facts) => {
  if (!isRecord(event)) return;
  let message: Rec | undefined;
  let usage: unknown;
  if (event.type === 'message') {
    message = event;
    usage = event.usage;
  } else if (event.type === 'message_start' && isRecord(event.message)) {
    message = event.message;
    usage = message.usage;
  } else if (event.type === 'message_delta') {
    usage = event.usage;
  } else {
    return;
  }
  if (message && typeof message.model === 'string' && message.model !== '') facts.model = message.model;
  if (!isRecord(usage)) return;
  const input = count(usage.input_tokens);
  if (input !== undefined) {
    facts.inputTokens = input + (count(usage.cache_creation_input_tokens) ?? 0) + (count(usage.cache_read_input_tokens) ?? 0);
  }
  const output = count(usage.output_tokens);
  if (output !== undefined) facts.outputTokens = output;
};
