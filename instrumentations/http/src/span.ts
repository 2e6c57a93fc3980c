/**
 * Ending the request's span from what the ClientRequest emits. `emit` is wrapped on the instance rather
 * than listeners added: an 'error' listener would swallow an error the caller never listened for, and a
 * 'response' listener would stop Node from dumping a response nobody reads.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { endWithError, endWithStatus } from '@checkrd/instrumentation-common';
import type { ClientRequestInternals } from './internal-types.js';

function aborted(message: string): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}

/** Ends `span` once: with the response status when the response ends, or with the request's failure. */
export function endSpanWithRequest(req: ClientRequest, span: Span): void {
  let ended = false;
  const end = (f: () => void) => {
    if (!ended) {
      ended = true;
      f();
    }
  };
  const onResponse = (res: IncomingMessage) => {
    const status = res.statusCode ?? 0;
    res.once('end', () => end(() => endWithStatus(span, status)));
    res.once('close', () =>
      end(() => (res.complete ? endWithStatus(span, status) : endWithError(span, res.errored ?? aborted('response closed before its end')))),
    );
  };
  const emit = req.emit;
  const wrapped = function (this: ClientRequest, event: string | symbol, ...args: unknown[]): boolean {
    if (!ended) {
      switch (event) {
        case 'response':
          onResponse(args[0] as IncomingMessage);
          break;
        case 'upgrade':
        case 'connect':
          end(() => endWithStatus(span, (args[0] as IncomingMessage).statusCode ?? 0));
          break;
        case 'error':
          end(() => endWithError(span, args[0]));
          break;
        case 'close':
          if (!(this as unknown as ClientRequestInternals).res) end(() => endWithError(span, aborted('request closed before a response')));
          break;
      }
    }
    return emit.call(this, event, ...args);
  };
  Object.defineProperty(req, 'emit', { value: wrapped, configurable: true, writable: true, enumerable: false });
}
