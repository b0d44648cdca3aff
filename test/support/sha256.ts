/**
 * @module test/support/sha256
 * The sha256 digest of some bytes, computed with node:crypto here so expectations never come from
 * the code under test (`digestOf` in src/core/digest.ts).
 */
import { createHash } from 'node:crypto';

export function sha256(bytes: Uint8Array | string): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
