/** Reading a dispatch body for the policy without losing it: buffered up to the limit, replayed after. */

export type DispatchBody = string | Uint8Array | null | undefined | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | { pipe: unknown };

export interface Peeked {
  /** The bytes for the policy: undefined when there is no body; 'too_large' when over the limit or unreadable. */
  facts: Uint8Array | string | undefined | 'too_large';
  /** The body to send on: the same bytes, never consumed twice. */
  body: DispatchBody;
}

function isAsyncIterable(b: unknown): b is AsyncIterable<Uint8Array | string> {
  return typeof b === 'object' && b !== null && Symbol.asyncIterator in b;
}

/**
 * Collects up to `limit` bytes of an iterable body. If the whole body fits, it is returned as one buffer
 * (and sent as such); otherwise the chunks read so far are replayed in front of the rest of the stream.
 */
export async function peekBody(body: DispatchBody, limit: number): Promise<Peeked> {
  if (body === null || body === undefined) return { facts: undefined, body };
  if (typeof body === 'string' || body instanceof Uint8Array) return { facts: body, body };
  if (!isAsyncIterable(body) && !(typeof body === 'object' && Symbol.iterator in body)) {
    // A stream.Readable (has pipe) or something unknown: not read here; body conditions fail closed.
    return { facts: 'too_large', body };
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const it = isAsyncIterable(body) ? body[Symbol.asyncIterator]() : (body as Iterable<Uint8Array | string>)[Symbol.iterator]();
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    const chunk = typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value;
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > limit) {
      async function* replay() {
        yield* chunks;
        for (;;) {
          const n = await it.next();
          if (n.done) return;
          yield n.value;
        }
      }
      return { facts: 'too_large', body: replay() };
    }
  }
  const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  return { facts: whole, body: whole };
}
