/**
 * Holding the connection of a ClientRequest until the policy has decided.
 *
 * The ClientRequest constructor asks for its socket synchronously, and that is where the TCP connection
 * starts: `this.agent.addRequest(this, opts)`, or, without an agent, `opts.createConnection(opts, cb)`.
 * While the real constructor runs, that one call is caught and kept — the caller gets the genuine
 * ClientRequest, whose writes Node buffers until a socket is assigned, exactly as when an agent's pool is
 * busy. Later the kept call is either made (`release`), or answered the way an agent answers when it cannot
 * create a socket: `req.onSocket(undefined, err)`, which fails the request with 'error' then 'close' and
 * never touches the network (`fail`).
 *
 * The agent's `addRequest` is shadowed by an own property only for the synchronous constructor call
 * (so `req.agent` is the caller's agent, never a wrapper); `agent: false` shadows it on the prototype
 * of the agent class Node instantiates; `createConnection` is wrapped in a copy of the options.
 */
import type { Agent, ClientRequest } from 'node:http';
import { option, type CallShape } from './facts.js';
import type { AgentLike, ClientRequestInternals } from './internal-types.js';

export interface Hold {
  /** Constructs the request with `construct(args)`, catching its request for a socket. */
  construct(construct: (args: unknown[]) => ClientRequest): ClientRequest;
  /** True when the constructor's request for a socket was caught (and nothing was connected). */
  readonly caught: boolean;
  /** Connects: makes the kept call. */
  release(): void;
}

type AddRequest = (this: Agent, req: ClientRequest, opts: unknown) => void;
type CreateConnection = (this: unknown, opts: unknown, oncreate: (err: Error | null, socket?: unknown) => void) => unknown;

/** Fails a request whose connection was held, as an agent does when it cannot create a socket. */
export function failHeld(req: ClientRequest, err?: unknown): void {
  (req as unknown as ClientRequestInternals).onSocket(undefined, err);
}

/** What the ClientRequest constructor will ask for its socket, for these arguments. */
export function holdConnection(args: unknown[], shape: CallShape, defaultAgent: Agent): Hold {
  const agent = option(shape, 'agent');
  if (agent === null || agent === undefined) {
    const createConnection = option(shape, 'createConnection');
    if (typeof createConnection === 'function' && shape.optionsIndex >= 0) {
      return holdCreateConnection(args, shape, createConnection as CreateConnection);
    }
    return holdAddRequest(args, defaultAgent);
  }
  if (agent === false) return holdAddRequest(args, (defaultAgent.constructor as { prototype: object }).prototype);
  if (typeof (agent as AgentLike).addRequest === 'function') return holdAddRequest(args, agent as object);
  // Not an agent: the constructor throws ERR_INVALID_ARG_TYPE before asking for a socket.
  return { construct: (c) => c(args), caught: false, release() {} };
}

function holdAddRequest(args: unknown[], target: object): Hold {
  let kept: { agent: Agent; req: ClientRequest; opts: unknown } | undefined;
  return {
    construct(construct) {
      const own = Object.getOwnPropertyDescriptor(target, 'addRequest');
      const real = (target as { addRequest: AddRequest }).addRequest;
      const addRequest: AddRequest = function (req, opts) {
        if (kept) return real.call(this, req, opts); // not the request being constructed
        kept = { agent: this, req, opts };
      };
      try {
        Object.defineProperty(target, 'addRequest', { value: addRequest, configurable: true, writable: true, enumerable: false });
      } catch {
        return construct(args); // a non-extensible agent: cannot hold (the caller decides at once instead)
      }
      try {
        return construct(args);
      } finally {
        if (own) Object.defineProperty(target, 'addRequest', own);
        else delete (target as { addRequest?: unknown }).addRequest;
      }
    },
    get caught() {
      return kept !== undefined;
    },
    release() {
      const k = kept!;
      (k.agent as unknown as AgentLike).addRequest(k.req, k.opts);
    },
  };
}

function holdCreateConnection(args: unknown[], shape: CallShape, real: CreateConnection): Hold {
  let kept: { self: unknown; opts: unknown; oncreate: (err: Error | null, socket?: unknown) => void } | undefined;
  const createConnection: CreateConnection = function (opts, oncreate) {
    if (kept) return real.call(this, opts, oncreate);
    kept = { self: this, opts, oncreate };
    return undefined;
  };
  const held = args.slice();
  held[shape.optionsIndex] = { ...shape.options, createConnection };
  return {
    construct: (construct) => construct(held),
    get caught() {
      return kept !== undefined;
    },
    release() {
      // What ClientRequest does with createConnection: a returned socket, or one passed to the callback.
      const { self, opts, oncreate } = kept!;
      try {
        const socket = real.call(self, opts, oncreate);
        if (socket) oncreate(null, socket);
      } catch (err) {
        oncreate(err as Error);
      }
    },
  };
}
