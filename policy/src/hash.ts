import { createHash } from 'node:crypto';

/** A policy's identity: `sha256:` and the hex SHA-256 of the exact YAML bytes. */
export function hashPolicy(source: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(source).digest('hex')}`;
}
