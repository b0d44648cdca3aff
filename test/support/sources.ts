/**
 * @module test/support/sources
 * Reading from an `ImageSource` the way a test compares: a whole blob, after the source verified it.
 */
import type { Digest } from '../../src/core/digest.js';
import type { ImageSource } from '../../src/sources/source.js';

/** All the bytes of a blob, read through the source's verifying stream. */
export async function blobBytes(source: ImageSource, digest: Digest): Promise<Buffer> {
  const reader = await source.blob({ digest });
  const chunks: Buffer[] = [];
  for await (const c of reader.stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
