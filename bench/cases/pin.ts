/**
 * @module bench/cases/pin
 * Pin many Kubernetes documents with the network excluded (every image answered from a lock via
 * `lockResolver`), against only parsing the same files with the yaml library
 * (`parseAllDocuments`): what pinning costs on top of reading the YAML at all. Both sides read
 * the files from disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { parseReference } from '../../src/core/reference.js';
import { readInputs } from '../../src/k8s/inputs.js';
import { type LockEntry, lockImageKey, lockResolver } from '../../src/k8s/lock.js';
import { pinFiles } from '../../src/k8s/pin.js';
import { defaultRules } from '../../src/k8s/rules.js';
import { deployment } from '../../test/support/manifests.js';
import type { Benchmark } from '../lib/context.js';

/**
 * The case's files in `dir` (created): `documents` Deployments spread over `files` files, naming
 * `images` distinct tagged images in turn, and the lock entries that answer every image.
 */
export async function writePinCase(
  dir: string,
  documents: number,
  images: number,
  files: number,
): Promise<{ paths: string[]; entries: LockEntry[] }> {
  const names = Array.from(
    { length: images },
    (_, i) => `registry.example.com/team-${i % 37}/service-${i}:1.${i % 10}.${i % 7}`,
  );
  const entries: LockEntry[] = names.map((image) => ({
    image: lockImageKey(parseReference(image)),
    digest: `sha256:${createHash('sha256').update(image).digest('hex')}`,
    digestKind: 'index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
  }));
  await mkdir(dir, { recursive: true });
  const perFile = Math.ceil(documents / files);
  const paths: string[] = [];
  for (let f = 0; f < files; f++) {
    const docs: string[] = [];
    for (let d = f * perFile; d < Math.min(documents, (f + 1) * perFile); d++)
      docs.push(deployment(d, names[d % images]!));
    const path = join(dir, `apps-${String(f).padStart(3, '0')}.yaml`);
    await writeFile(path, docs.join('---\n'));
    paths.push(path);
  }
  return { paths, entries };
}

export const pinBenchmark: Benchmark = {
  id: 'pin',
  title: 'Pin Kubernetes documents from a warm lock',
  async run(ctx, rec) {
    const { pinDocuments, pinImages, pinFiles: fileCount, bigRounds: rounds } = ctx.scale;
    rec.param('documents', pinDocuments);
    rec.param('unique images', pinImages);
    rec.param('files', fileCount);
    rec.param('rounds', rounds);
    const dir = join(ctx.tmp, 'manifests');
    const { paths, entries } = await writePinCase(dir, pinDocuments, pinImages, fileCount);
    const resolver = lockResolver(entries);
    const steps: Record<string, () => Promise<number>> = {
      pin: async () => {
        const t0 = performance.now();
        const { files, problems } = await readInputs([dir]);
        if (problems.length > 0) throw new Error(`readInputs: ${problems[0]!.reason}`);
        const result = await pinFiles(files, { rules: defaultRules(), resolver });
        const ms = performance.now() - t0;
        if (result.failures.length > 0 || result.changes.length !== pinDocuments) {
          throw new Error(
            `pin: ${result.changes.length} changes, ${result.failures.length} failures for ${pinDocuments} documents`,
          );
        }
        return ms;
      },
      parse: async () => {
        const t0 = performance.now();
        let docs = 0;
        for (const path of paths) {
          const parsed = parseAllDocuments(await readFile(path, 'utf8'));
          if (!Array.isArray(parsed)) throw new Error(`${path}: not a document list`);
          for (const doc of parsed) {
            if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
            docs++;
          }
        }
        const ms = performance.now() - t0;
        if (docs !== pinDocuments) throw new Error(`parseAllDocuments saw ${docs} documents`);
        return ms;
      },
    };
    const samples: Record<string, number[]> = { pin: [], parse: [] };
    // Untimed warm-up: JIT-compile both paths before measuring.
    if (ctx.scale.warmUp) {
      await steps.parse!();
      await steps.pin!();
    }
    for (let round = 1; round <= rounds; round++) {
      ctx.log(`pin: round ${round}/${rounds}`);
      for (const name of round % 2 === 0 ? ['pin', 'parse'] : ['parse', 'pin'])
        samples[name]!.push(await steps[name]!());
    }
    rec.measure('pin', 'imgdigest readInputs + pinFiles (lockResolver)', 'ms', 'lower', samples.pin!);
    rec.measure('parse', 'read + yaml parseAllDocuments', 'ms', 'lower', samples.parse!);
    rec.ratio('pin', 'parse', 'pin / parse only (time)', { atMost: 2, text: '≤ 2×' });
    const perDoc = (rec.get('pin')!.summary.median / pinDocuments) * 1000;
    rec.note(
      `pin: ${perDoc.toFixed(0)} µs per document (median); every document is a Deployment of ~30 lines with one tagged image.`,
    );
  },
};
