/**
 * `Expect: 100-continue` while the policy waits for the body. A client that sends this header waits for
 * the request's 'continue' event before it writes the body (the AWS SDK does for S3 uploads, up to its
 * continue timeout of 1–6 s); but a request whose policy reads bodies does not connect before its body
 * is known. So the held request answers for the server: it emits 'continue' itself, and drops the
 * server's own 100 Continue later, so the client sees one 'continue', as without checkrd. On the wire the
 * body then follows the headers without waiting for the 100, which HTTP allows.
 */
import type { ClientRequest } from 'node:http';

export function expectsContinue(req: ClientRequest): boolean {
  const value = req.getHeader('expect');
  return typeof value === 'string' && value.trim().toLowerCase() === '100-continue';
}

/** Drops the next 'continue' the request emits (the server's, after ours). */
export function dropNextContinue(req: ClientRequest): void {
  const emit = req.emit;
  let dropped = false;
  const wrapped = function (this: ClientRequest, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'continue' && !dropped) {
      dropped = true;
      return this.listenerCount('continue') > 0;
    }
    return emit.call(this, event, ...args);
  };
  Object.defineProperty(req, 'emit', { value: wrapped, configurable: true, writable: true, enumerable: false });
}
