/**
 * @module bench/cases/files
 * `imgdigest files` on a large gzip layer of many small files, against `tar -tzf` on the same
 * file. Three imgdigest paths: the CLI listing the layer from the CNCF registry (what a user
 * runs), the library (`getBlob` + `walkLayer`) from the registry, and `walkLayer` over the file
 * on disk (no HTTP, same input as tar).
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { walkLayer } from '../../src/sources/layers/layer-files.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import type { Benchmark } from '../lib/context.js';
import { pushFileBlob, writeManyFilesLayer } from '../lib/data.js';
import { run } from '../lib/proc.js';
import { stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;

export const filesBenchmark: Benchmark = {
  id: 'files',
  title: '`files` on a large gzip layer',
  async run(ctx, rec) {
    if (!ctx.cli) throw new Error('no dist/ build: the CLI cannot run');
    const [node, bin] = ctx.cli as [string, string];
    const { layerBytes, bigRounds } = ctx.scale;
    const path = join(ctx.tmp, 'layer.tar.gz');
    const dist = await startDistribution({ proxy: false });
    const client = new RegistryClient({ anonymous: true });
    try {
      ctx.log(`files: writing a ${layerBytes / MiB} MiB gzip layer of many files`);
      const layer = await writeManyFilesLayer(path, layerBytes);
      rec.param(
        'layer',
        `${(layer.size / MiB).toFixed(0)} MiB gzip (${(layer.uncompressed / MiB).toFixed(0)} MiB tar)`,
      );
      rec.param('entries', layer.entries);
      rec.param('rounds', bigRounds);
      await pushFileBlob(dist.registryUrl, 'bench/layer', layer);
      const host = new URL(dist.registryUrl).host;
      const repo = parseReference(`${host}/bench/layer`);
      const mibps = (ms: number) => layer.size / MiB / (ms / 1000);
      const walk = async (stream: NodeJS.ReadableStream) => {
        const n = await walkLayer(
          stream as import('node:stream').Readable,
          MediaType.OCI_LAYER_GZIP,
          () => {},
        );
        if (n !== layer.entries)
          throw new Error(`walkLayer saw ${n} entries, the layer has ${layer.entries}`);
      };
      const steps: Record<string, () => Promise<number>> = {
        tar: async () => (await run('tar', ['-tzf', path], { stdout: 'devnull' })).ms,
        cli: async () =>
          (await run(node, [bin, 'files', `${host}/bench/layer@${layer.digest}`], { stdout: 'devnull' })).ms,
        library: async () => {
          const t0 = performance.now();
          const reader = await client.getBlob(repo, { digest: layer.digest, size: layer.size });
          await walk(reader.stream);
          return performance.now() - t0;
        },
        disk: async () => {
          const t0 = performance.now();
          await walk(createReadStream(path, { highWaterMark: MiB }));
          return performance.now() - t0;
        },
      };
      const samples: Record<string, number[]> = { tar: [], cli: [], library: [], disk: [] };
      if (ctx.scale.warmUp) {
        await steps.tar!();
        await steps.library!();
      }
      const names = Object.keys(steps);
      for (let round = 1; round <= bigRounds; round++) {
        ctx.log(`files: round ${round}/${bigRounds}`);
        for (let k = 0; k < names.length; k++) {
          const name = names[(k + round) % names.length]!;
          samples[name]!.push(mibps(await steps[name]!()));
        }
      }
      rec.measure(
        'cli',
        'imgdigest files REPO@LAYER (CLI process, from the registry) > /dev/null',
        'MiB/s',
        'higher',
        samples.cli!,
      );
      rec.measure(
        'library',
        'getBlob + walkLayer (library, from the registry, verified)',
        'MiB/s',
        'higher',
        samples.library!,
      );
      rec.measure(
        'disk',
        'walkLayer over the file on disk (library, no HTTP)',
        'MiB/s',
        'higher',
        samples.disk!,
      );
      rec.measure('tar', 'tar -tzf FILE > /dev/null', 'MiB/s', 'higher', samples.tar!);
      rec.ratio('cli', 'tar', 'imgdigest files (CLI) / tar -tzf (MiB/s of gzip)', {
        atLeast: 0.8,
        text: '≥ 0.80×',
      });
      rec.ratio('library', 'tar', 'library from the registry / tar -tzf');
      rec.ratio('disk', 'tar', 'walkLayer on disk / tar -tzf');
      rec.note(
        'Rates are compressed megabytes per second. GNU tar runs `gzip -d` in a second process, so it uses both cores; imgdigest decompresses (zlib) and walks the tar (tar-stream) in one process, and the CLI also verifies the sha256 of the blob as it streams.',
      );
    } finally {
      await client.close();
      await stopDistribution(dist);
      await rm(path, { force: true });
    }
  },
};
