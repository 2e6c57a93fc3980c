import type { Readable, Writable } from 'node:stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin?: Readable;
}

export class UsageError extends Error {}

export function println(w: Writable, line = ''): void {
  w.write(line + '\n');
}

/** Parses a request time: ms since the epoch (number or digits) or ISO 8601. */
export function parseTime(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`${where}: time must be ms since the epoch or an ISO 8601 date, not ${JSON.stringify(v)}`);
}
