/**
 * @module test/support/vectors
 * The shared public test vectors (`shared/vectors/vectors.json`), found beside the repository as CI
 * lays it out (`../shared`) or through IMGDIGEST_VECTORS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// biome-ignore lint/suspicious/noExplicitAny: vectors are heterogeneous JSON tables read by tests
type Vectors = Record<string, any>;

let cached: Vectors | undefined;

export function vectorsPath(): string {
  const candidates = [
    process.env.IMGDIGEST_VECTORS,
    join(repoRoot, '..', 'shared', 'vectors', 'vectors.json'),
    join(repoRoot, 'test', 'fixtures', 'vectors.json'),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`test vectors not found; looked in ${candidates.join(', ')}`);
  return found;
}

export function loadVectors(): Vectors {
  cached ??= JSON.parse(readFileSync(vectorsPath(), 'utf8')) as Vectors;
  return cached;
}
