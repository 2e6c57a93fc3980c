import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Guard } from '@checkrd/instrumentation-common';

/** Which core module a call came through: it decides the default agent, as in Node. */
export type Scheme = 'http' | 'https';

/** `http.request`, `http.get`, `https.request`, `https.get`, with every calling convention. */
export type RequestFn = (...args: unknown[]) => ClientRequest;

/** The part of node:http / node:https that is patched (and read: the default agent). */
export interface CoreHttpModule {
  request: RequestFn;
  get: RequestFn;
  globalAgent: Agent;
}

/** Request options as the caller passed them (any of http.RequestOptions, https.RequestOptions, URL parts). */
export type Options = Record<string, unknown>;

/** The facts the guard decides on. */
export type Facts = Parameters<Guard['evaluate']>[0];

/** What the policy learns of the body: the bytes, nothing (no body), or that it cannot be read whole. */
export type BodyFacts = Pick<Facts, 'body' | 'bodyUnavailable'>;

/** A `write()` held back while the policy waits for the body; replayed as it was made. */
export interface HeldWrite {
  chunk: string | Uint8Array;
  encoding: BufferEncoding | undefined;
  /** The caller's callback if it has not been called yet (the write that crossed the body limit). */
  callback: ((err?: Error | null) => void) | undefined;
}

/** ClientRequest members used here that @types/node does not declare (or declares narrower). */
export interface ClientRequestInternals {
  onSocket(socket: undefined, err?: unknown): void;
  /** The agent the request got its socket from (undefined with createConnection and no agent). */
  agent: Agent | undefined;
  /** The response, once it arrived. */
  res: IncomingMessage | null;
}

/** An agent as ClientRequest uses it (`addRequest` is public in Node, undeclared in @types/node). */
export interface AgentLike {
  addRequest(req: ClientRequest, opts: unknown): void;
}
