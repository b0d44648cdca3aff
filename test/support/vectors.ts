/**
 * @module test/support/vectors
 * Public test vectors for references, digests, platforms, referrers tags and auth parsing, kept in
 * the repository at `test/fixtures/vectors.json`. Every entry names the upstream file it comes from
 * (`source`), and `upstreamCommits` pins the upstream commits; see `test/fixtures/README.md`.
 */
import { readFileSync } from 'node:fs';

// biome-ignore lint/suspicious/noExplicitAny: vectors are heterogeneous JSON tables read by tests
type Vectors = Record<string, any>;

let cached: Vectors | undefined;

/** The vectors file inside the repository (never a path outside it). */
export const vectorsFile = new URL('../fixtures/vectors.json', import.meta.url);

export function loadVectors(): Vectors {
  cached ??= JSON.parse(readFileSync(vectorsFile, 'utf8')) as Vectors;
  return cached;
}
