/**
 * An incremental Server-Sent Events parser over bytes (WHATWG HTML §9.2.5/9.2.6, see
 * shared/reference/sse.txt): lines end with CRLF, LF or CR — also when the CR and the LF arrive in
 * different chunks —, `data:` lines of one event are joined with LF, a blank line dispatches the event,
 * `:` lines are comments. It only observes: it never changes or holds on to the chunks it is given.
 *
 * Buffering is bounded: a line longer than `maxLine` bytes is skipped (its bytes are dropped as they
 * arrive, never accumulated) and so is the event it belongs to; an event whose data grows over `maxLine`
 * characters is dropped too. At the end of the stream a pending line and a pending event are dispatched,
 * as the Stainless SDKs do, so the events seen here are the events the caller's SDK sees.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

/** Lines (and event data) longer than this are skipped. */
export const MAX_SSE_LINE_BYTES = 1 << 20;

export type SseEventHandler = (event: string, data: string) => void;

export class SseParser {
  /** Lines skipped because they were longer than the limit. */
  skippedLines = 0;

  readonly #onEvent: SseEventHandler;
  readonly #maxLine: number;
  readonly #decoder = new TextDecoder();
  /** Copies of the bytes of the line in progress (its end has not arrived yet). */
  #pieces: Uint8Array[] = [];
  #pendingBytes = 0;
  /** The line in progress is over the limit: drop bytes up to its end. */
  #overflow = false;
  /** The previous chunk ended with CR: an LF at the start of the next one belongs to it. */
  #afterCR = false;
  #event = '';
  #data: string[] = [];
  #dataChars = 0;
  /** A line of the event in progress was skipped, or its data is over the limit: don't dispatch it. */
  #poisoned = false;

  constructor(onEvent: SseEventHandler, maxLine: number = MAX_SSE_LINE_BYTES) {
    this.#onEvent = onEvent;
    this.#maxLine = maxLine;
  }

  /** Bytes held for the line in progress (never more than the limit). */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    let start = 0;
    if (this.#afterCR) {
      this.#afterCR = false;
      if (chunk[0] === LF) start = 1;
    }
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
      } else {
        end = cr;
        if (cr + 1 < n) {
          next = chunk[cr + 1] === LF ? cr + 2 : cr + 1;
        } else {
          next = n;
          this.#afterCR = true;
        }
      }
      this.#endLine(chunk, start, end);
      start = next;
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
    }
    if (start < n) this.#keep(chunk, start, n);
  }

  /** The stream ended: the pending line, then the pending event, are processed. */
  end(): void {
    if (this.#overflow) {
      this.#skipLine();
    } else if (this.#pendingBytes > 0) {
      const line = this.#takePending(undefined);
      this.#line(this.#decoder.decode(line));
    }
    this.#dispatch();
  }

  #keep(chunk: Uint8Array, start: number, end: number): void {
    if (this.#overflow) return;
    const len = end - start;
    if (this.#pendingBytes + len > this.#maxLine) {
      this.#overflow = true;
      this.#pieces = [];
      this.#pendingBytes = 0;
      return;
    }
    // A copy: the caller's chunk may be transferred (byte streams detach enqueued buffers).
    this.#pieces.push(chunk.slice(start, end));
    this.#pendingBytes += len;
  }

  #endLine(chunk: Uint8Array, start: number, end: number): void {
    if (this.#overflow) {
      this.#skipLine();
      return;
    }
    if (this.#pendingBytes + (end - start) > this.#maxLine) {
      this.#pieces = [];
      this.#pendingBytes = 0;
      this.#skipLine();
      return;
    }
    const line = this.#pendingBytes === 0 ? chunk.subarray(start, end) : this.#takePending(chunk.subarray(start, end));
    this.#line(this.#decoder.decode(line));
  }

  #takePending(tail: Uint8Array | undefined): Uint8Array {
    const pieces = this.#pieces;
    const total = this.#pendingBytes + (tail?.length ?? 0);
    this.#pieces = [];
    this.#pendingBytes = 0;
    if (pieces.length === 1 && !tail) return pieces[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    if (tail) out.set(tail, at);
    return out;
  }

  #skipLine(): void {
    this.#overflow = false;
    this.skippedLines++;
    this.#poisoned = true;
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    if (line.charCodeAt(0) === COLON) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'data') {
      this.#dataChars += value.length + 1;
      if (this.#dataChars > this.#maxLine) {
        this.#poisoned = true;
        this.#data = [];
      } else if (!this.#poisoned) {
        this.#data.push(value);
      }
    } else if (field === 'event') {
      this.#event = value;
    }
  }

  #dispatch(): void {
    const type = this.#event;
    const data = this.#data;
    const poisoned = this.#poisoned;
    this.#event = '';
    this.#data = [];
    this.#dataChars = 0;
    this.#poisoned = false;
    if (poisoned || data.length === 0) return;
    this.#onEvent(type, data.join('\n'));
  }
}
