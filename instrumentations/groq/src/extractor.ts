import { openaiExtractor, type ResponseExtractor } from '@checkrd/instrumentation-common';

/**
 * Groq's API is OpenAI's, except where a stream reports its usage: in the final chunk's `x_groq.usage`
 * (prompt_tokens, completion_tokens), not in a top-level `usage`. The `x_groq.usage` of a non-streamed
 * completion is something else (cache statistics), so only chunks are read there.
 */
export const groqExtractor: ResponseExtractor = (event, facts) => {
  openaiExtractor(event, facts);
  if (typeof event !== 'object' || event === null) return;
  const { object, x_groq: groq } = event as { object?: unknown; x_groq?: { usage?: unknown } | null };
  if (object === 'chat.completion.chunk' && typeof groq === 'object' && groq !== null && groq.usage != null) {
    openaiExtractor({ usage: groq.usage }, facts);
  }
};
