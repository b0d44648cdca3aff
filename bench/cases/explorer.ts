/**
 * @module bench/cases/explorer
 * The web explorer: (1) time to the first file entry and to the full listing of a large gzip layer
 * streamed into the layer page, beside `tar -tzf` on the same file; (2) bytes fetched to view one
 * file of an eStargz and of a zstd:chunked layer (read by HTTP Range from the table of contents)
 * beside the layer's size; (3) page answer times once the caches are warm.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSampleImages, pushImageSet } from '../../src/builder/index.js';
import { startExplorer } from '../../src/explorer/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import { pushEstargzImage, pushZstdChunkedImage } from '../../test/support/explorer-images.js';
import type { Benchmark } from '../lib/context.js';
import { pushFileBlob, writeManyFilesLayer } from '../lib/data.js';
import { run } from '../lib/proc.js';
import { pushClient, stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;

/** Read a streamed page: ms to the first file row and to the end of the body. */
async function timeListing(url: string): Promise<{ first: number; full: number; rows: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  if (!res.body) throw new Error(`no body from ${url}`);
  let first = -1;
  let rows = 0;
  const decoder = new TextDecoder();
  const mark = ' data-path="';
  let carry = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    // A row's mark may straddle two chunks: keep a tail too short to hold a whole mark.
    const text = carry + decoder.decode(chunk, { stream: true });
    carry = text.slice(-(mark.length - 1));
    const n = text.split(mark).length - 1;
    if (n > 0 && first < 0) first = performance.now() - t0;
    rows += n;
  }
  return { first, full: performance.now() - t0, rows };
}

/** Files of pseudo-random content: `count` files of `size` bytes under a few directories. */
function tocFiles(count: number, size: number) {
  const files: Array<{ path: string; content?: string; type?: 'dir' }> = [];
  for (let d = 0; d < 10; d++) files.push({ path: `data/d${d}/`, type: 'dir' });
  for (let i = 0; i < count; i++)
    files.push({ path: `data/d${i % 10}/f${i}.bin`, content: randomBytes(size / 2).toString('hex') });
  files.push({ path: 'etc/os-release', content: 'NAME=bench\n' });
  return files;
}

export const explorerBenchmark: Benchmark = {
  id: 'explorer',
  title: '`explore`: streamed layer listing, range reads, warm pages',
  async run(ctx, rec) {
    const { layerBytes, bigRounds } = ctx.scale;
    const path = join(ctx.tmp, 'explorer-layer.tar.gz');
    const dist = await startDistribution({ proxy: false });
    const host = new URL(dist.registryUrl).host;
    try {
      ctx.log(`explorer: writing a ${layerBytes / MiB} MiB gzip layer`);
      const layer = await writeManyFilesLayer(path, layerBytes);
      await pushFileBlob(dist.registryUrl, 'bench/layer', layer);
      rec.param('layer', `${(layer.size / MiB).toFixed(0)} MiB gzip, ${layer.entries} entries`);
      rec.param('rounds', bigRounds);
      const first: number[] = [];
      const full: number[] = [];
      const tar: number[] = [];
      for (let round = 1; round <= bigRounds; round++) {
        ctx.log(`explorer: listing round ${round}/${bigRounds}`);
        // A new explorer each round: its layer cache starts empty, as on a first visit.
        const explorer = await startExplorer({ addr: '127.0.0.1:0', registry: { anonymous: true } });
        try {
          const t = await timeListing(`${explorer.url}layer/${host}/bench/layer@${layer.digest}`);
          if (t.rows !== layer.entries)
            throw new Error(`the page listed ${t.rows} entries, the layer has ${layer.entries}`);
          first.push(t.first);
          full.push(t.full);
        } finally {
          await explorer.close();
        }
        tar.push((await run('tar', ['-tzf', path], { stdout: 'devnull' })).ms);
      }
      rec.measure('first', 'explorer layer page: first file entry in the HTML', 'ms', 'lower', first);
      rec.measure('full', 'explorer layer page: full listing streamed', 'ms', 'lower', full);
      rec.measure('tar', 'tar -tzf FILE > /dev/null', 'ms', 'lower', tar);
      rec.ratio('full', 'tar', 'explorer full listing / tar -tzf (time)');
      rec.ratio('first', 'full', 'first entry / full listing (time)');

      ctx.log('explorer: eStargz and zstd:chunked layers');
      const tocBytes = Math.min(layerBytes, 64 * MiB);
      const files = tocFiles(Math.max(16, Math.floor(tocBytes / (256 * 1024))), 256 * 1024);
      const estargz = await pushEstargzImage(dist.registryUrl, 'bench/estargz', 'v1', files);
      const zstd = await pushZstdChunkedImage(host, 'bench/zstd', 'v1', files);
      const zlayer = zstd.manifest.layers[0]!;
      const explorer = await startExplorer({ addr: '127.0.0.1:0', registry: { anonymous: true } });
      try {
        const fetched = async (repo: string, digest: string, image: string, size: number) => {
          const res = await fetch(
            `${explorer.url}layer/${host}/${repo}@${digest}?image=${image}&path=etc/os-release`,
            {
              headers: { accept: 'application/json' },
            },
          );
          const body = (await res.json()) as { via: string; bytesFetched: number };
          if (body.via !== 'range') throw new Error(`${repo}: the file was not read by range (${body.via})`);
          return { fetched: body.bytesFetched, size };
        };
        const e = await fetched('bench/estargz', estargz.layer.digest, estargz.manifest, estargz.layer.size);
        const z = await fetched('bench/zstd', zlayer.digest, zstd.manifestDigest, zlayer.size);
        rec.measure(
          'estargz-fetched',
          'eStargz: bytes fetched to view one file (TOC + file)',
          'bytes',
          'lower',
          [e.fetched],
        );
        rec.measure('estargz-size', 'eStargz: layer size', 'bytes', 'lower', [e.size]);
        rec.measure(
          'zstd-fetched',
          'zstd:chunked: bytes fetched to view one file (TOC + file)',
          'bytes',
          'lower',
          [z.fetched],
        );
        rec.measure('zstd-size', 'zstd:chunked: layer size', 'bytes', 'lower', [z.size]);
        rec.ratio('estargz-fetched', 'estargz-size', 'eStargz: fetched / layer size');
        rec.ratio('zstd-fetched', 'zstd-size', 'zstd:chunked: fetched / layer size');

        ctx.log('explorer: warm pages');
        const seeder = pushClient(undefined);
        try {
          await pushImageSet(seeder, `${host}/bench/app`, await buildSampleImages('app'));
        } finally {
          await seeder.close();
        }
        const index = (await (
          await fetch(`${explorer.url}image/${host}/bench/app:1.0`, {
            headers: { accept: 'application/json' },
          })
        ).json()) as {
          platforms: Array<{ address: string }>;
        };
        const child = index.platforms[0]!.address;
        const manifest = (await (
          await fetch(`${explorer.url}image/${child}`, { headers: { accept: 'application/json' } })
        ).json()) as {
          layers: Array<{ digest: string }>;
        };
        const pages: Record<string, string> = {
          'page-tag': `image/${host}/bench/app:1.0`,
          'page-digest': `image/${child}`,
          'page-config': `config/${child}`,
          'page-layer': `layer/${host}/bench/app@${manifest.layers[1]!.digest}`,
        };
        for (const [id, p] of Object.entries(pages)) {
          await (await fetch(`${explorer.url}${p}`)).text(); // warm: the layer listing is cached now
          const samples: number[] = [];
          for (let i = 0; i < 20; i++) {
            const t0 = performance.now();
            await (await fetch(`${explorer.url}${p}`)).text();
            samples.push(performance.now() - t0);
          }
          rec.measure(id, `GET /${p.split('/')[0]}/… (${id.slice(5)} page, warm)`, 'ms', 'lower', samples);
        }
        rec.note(
          "The listing is streamed as chunked HTML (rows in archive order as the layer is read); tar -tzf runs gzip -d in a second process. Range reads fetch the 51-byte footer, the table of contents and the file's own compressed bytes. A tag page asks the registry (a HEAD and a GET by digest) every time; digest-named pages still read the manifest (the browser caches them as immutable); the layer page answers from the listing cache.",
        );
      } finally {
        await explorer.close();
      }
    } finally {
      await stopDistribution(dist);
      await rm(path, { force: true });
    }
  },
};
