/**
 * The body of a held request, written through `req.write()` / `req.end()` after the request exists.
 * Writes are kept (copied: the caller's callback runs at once, so it may reuse its buffer) to be replayed
 * in order, and read for the policy up to the body limit; past it, or in an encoding that cannot be
 * read, the body is unavailable to the policy and body conditions fail closed.
 */
import type { BodyFacts, HeldWrite } from './internal-types.js';

export class HeldBody {
  readonly writes: HeldWrite[] = [];
  readonly #limit: number;
  #parts: Uint8Array[] = [];
  #size = 0;
  #unreadable = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Keeps a write for replay and reads it for the policy. */
  keep(chunk: string | Uint8Array, encoding: unknown, callback: HeldWrite['callback']): void {
    const own = typeof chunk === 'string' ? chunk : Buffer.from(chunk);
    const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined;
    this.writes.push({ chunk: own, encoding: enc, callback });
    this.read(own, encoding);
  }

  /** Reads the final chunk given to `end()` (replayed with the end call itself, not kept). */
  read(chunk: string | Uint8Array, encoding: unknown): void {
    if (this.exhausted) return;
    let bytes: Uint8Array;
    if (typeof chunk === 'string') {
      const enc = encoding == null ? 'utf8' : encoding;
      if (typeof enc !== 'string' || !Buffer.isEncoding(enc)) {
        this.#unreadable = true;
        this.#parts = [];
        return;
      }
      bytes = Buffer.from(chunk, enc);
    } else {
      bytes = chunk;
    }
    this.#size += bytes.byteLength;
    if (this.#size > this.#limit) this.#parts = [];
    else if (bytes.byteLength > 0) this.#parts.push(bytes);
  }

  /** Past the limit or unreadable: the policy cannot have the body, so there is no point in waiting for it. */
  get exhausted(): boolean {
    return this.#unreadable || this.#size > this.#limit;
  }

  facts(): BodyFacts {
    if (this.exhausted) return { bodyUnavailable: true };
    if (this.#size === 0) return {};
    return { body: this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size) };
  }
}
