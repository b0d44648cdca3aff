/**
 * Profiling harness (not part of `npm run bench`): the pin case's work in one process, for
 * `node --cpu-prof`: 10,000 Deployments in 100 files, every image answered from a lock.
 *
 *   node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/profile/pin.ts [--rounds 3] [--parse]
 *
 * Prints the time of each round of `readInputs` + `pinFiles`, and with `--parse` of reading and
 * parsing the same files with `parseAllDocuments` (the bench's reference), rounds alternated.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { readInputs } from '../../src/k8s/inputs.js';
import { lockResolver } from '../../src/k8s/lock.js';
import { pinFiles } from '../../src/k8s/pin.js';
import { defaultRules } from '../../src/k8s/rules.js';
import { writePinCase } from '../cases/pin.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    documents: { type: 'string', default: '10000' },
    parse: { type: 'boolean', default: false },
  },
});
const documents = Number(values.documents);
const tmp = await mkdtemp(join(tmpdir(), 'pinprof-'));
const dir = join(tmp, 'manifests');
const { paths, entries } = await writePinCase(dir, documents, 1000, 100);
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
