import type { Readable, Writable } from 'node:stream';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin?: Readable;
}

/** A mistake in how the command was called: exit 2 with a usage hint. */
export class UsageError extends Error {}

/** A clean failure (a file that cannot be read, …): the message alone, exit 1. */
export class CliError extends Error {}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}

/** Fails with one clear line unless the named file can be opened for reading (without reading it). */
export async function checkReadable(path: string, what: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  try {
    const h = await open(path, 'r');
    const st = await h.stat();
    await h.close();
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
  } catch (e) {
    throw new CliError(`checkrd: cannot read ${what} ${path}: ${describe(e)}`);
  }
}

/** Reads a file the user named, turning file-system errors into one clear line. */
export async function readUserFile(path: string, what: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path);
  } catch (e) {
    throw new CliError(`checkrd: cannot read ${what} ${path}: ${describe(e)}`);
  }
}

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
