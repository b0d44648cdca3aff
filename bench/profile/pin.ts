/**
 * Profiling harness (not part of `npm run bench`): the pin case's work in one process, for
 * `node --cpu-prof`: 10,000 Deployments in 100 files, every image answered from a lock.
 *
 *   node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/profile/pin.ts [--rounds 3] [--parse]
 *
 * Prints the time of each round of `readInputs` + `pinFiles`, and with `--parse` of reading and
 * parsing the same files with `parseAllDocuments` (the bench's reference), rounds alternated.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseReference } from '../../src/core/reference.js';
import { readInputs } from '../../src/k8s/inputs.js';
import { type LockEntry, lockImageKey, lockResolver } from '../../src/k8s/lock.js';
import { pinFiles } from '../../src/k8s/pin.js';
import { defaultRules } from '../../src/k8s/rules.js';
import { deployment } from '../../test/support/manifests.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    documents: { type: 'string', default: '10000' },
    parse: { type: 'boolean', default: false },
  },
});
const documents = Number(values.documents);
const images = Array.from(
  { length: 1000 },
  (_, i) => `registry.example.com/team-${i % 37}/service-${i}:1.${i % 10}.${i % 7}`,
);
const entries: LockEntry[] = images.map((image) => ({
  image: lockImageKey(parseReference(image)),
  digest: `sha256:${createHash('sha256').update(image).digest('hex')}`,
  digestKind: 'index',
  mediaType: 'application/vnd.oci.image.index.v1+json',
}));
const tmp = await mkdtemp(join(tmpdir(), 'pinprof-'));
const dir = join(tmp, 'manifests');
await mkdir(dir);
const paths: string[] = [];
const perFile = Math.ceil(documents / 100);
for (let f = 0; f < 100; f++) {
  const docs: string[] = [];
  for (let d = f * perFile; d < Math.min(documents, (f + 1) * perFile); d++)
    docs.push(deployment(d, images[d % images.length]!));
  const path = join(dir, `apps-${String(f).padStart(3, '0')}.yaml`);
  await writeFile(path, docs.join('---\n'));
  paths.push(path);
}
const resolver = lockResolver(entries);

async function pin(): Promise<number> {
  const t0 = performance.now();
  const { files } = await readInputs([dir]);
  const result = await pinFiles(files, { rules: defaultRules(), resolver });
  if (result.changes.length !== documents) throw new Error(`${result.changes.length} changes`);
  return performance.now() - t0;
}
async function parse(): Promise<number> {
  const t0 = performance.now();
  for (const path of paths) {
    const docs = parseAllDocuments(await readFile(path, 'utf8'));
    if (!Array.isArray(docs)) throw new Error(`${path}: not a document list`);
    for (const doc of docs) if (doc.errors.length > 0) throw new Error(doc.errors[0]!.message);
  }
  return performance.now() - t0;
}
for (let r = 0; r < Number(values.rounds); r++) {
  const p = await pin();
  const q = values.parse ? await parse() : undefined;
  console.log(
    `round ${r + 1}: pin ${p.toFixed(0)} ms${q === undefined ? '' : `  parse ${q.toFixed(0)} ms  ${(p / q).toFixed(2)}×`}`,
  );
}
await rm(tmp, { recursive: true });
