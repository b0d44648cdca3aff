/**
 * @module bench/cases/registry
 * The embedded registry (`startRegistry` from dist/, filesystem storage, in its own process) against the
 * CNCF registry with the same client: `skopeo copy` of a large image from an OCI layout to the
 * registry and back, each round on fresh, empty storage; then the manifest-HEAD rate of each,
 * measured with the same undici keep-alive loop as the resolve ceiling.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDistribution } from '../../test/support/distribution.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { writeBigOciLayout } from '../lib/data.js';
import { headRate } from '../lib/head-loop.js';
import { removeTree, run, startServerChild } from '../lib/proc.js';
import type { Recorder } from '../lib/results.js';
import { seedTinyImages, stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;

interface Running {
  url: string;
  host: string;
  stop(): Promise<void>;
}

type Kind = 'embedded' | 'cncf';

async function startKind(ctx: BenchContext, kind: Kind, n: number): Promise<Running> {
  if (kind === 'cncf') {
    const dist = await startDistribution({ proxy: false });
    return {
      url: dist.registryUrl,
      host: new URL(dist.registryUrl).host,
      stop: () => stopDistribution(dist),
    };
  }
  const root = join(ctx.tmp, `embedded-${n}`);
  await mkdir(root, { recursive: true });
  const child = await startServerChild(process.execPath, [
    join(ctx.root, 'bench', 'servers', 'child.js'),
    'registry',
    root,
  ]);
  return {
    url: child.info.url!,
    host: child.info.host!,
    async stop() {
      await child.stop();
      await removeTree(root);
    },
  };
}

export const registryBenchmark: Benchmark = {
  id: 'registry',
  title: 'Embedded registry vs the CNCF registry (skopeo copy, manifest HEAD)',
  async run(ctx, rec) {
    const { imageBytes, imageLayers, bigRounds } = ctx.scale;
    const layout = join(ctx.tmp, 'big-layout');
    const pulled = join(ctx.tmp, 'big-pulled');
    rec.param('image', `${imageBytes / MiB} MiB in ${imageLayers} gzip layers`);
    rec.param('rounds', bigRounds);
    try {
      ctx.log(`registry: writing a ${imageBytes / MiB} MiB OCI layout`);
      const { blobBytes } = await writeBigOciLayout(layout, imageBytes, imageLayers, 'big');
      const mibps = (ms: number) => blobBytes / MiB / (ms / 1000);
      const samples: Record<string, number[]> = {};
      const push = (id: string, v: number) => {
        samples[id] = [...(samples[id] ?? []), v];
      };
      let n = 0;
      for (let round = 1; round <= bigRounds; round++) {
        ctx.log(`registry: copy round ${round}/${bigRounds}`);
        const kinds: Kind[] = round % 2 === 0 ? ['cncf', 'embedded'] : ['embedded', 'cncf'];
        for (const kind of kinds) {
          const reg = await startKind(ctx, kind, n++);
          try {
            const dest = `docker://${reg.host}/bench/big:1`;
            const up = await run('skopeo', [
              'copy',
              '--quiet',
              '--dest-tls-verify=false',
              `oci:${layout}:big`,
              dest,
            ]);
            push(`${kind}.push`, mibps(up.ms));
            const down = await run('skopeo', [
              'copy',
              '--quiet',
              '--src-tls-verify=false',
              dest,
              `oci:${pulled}:big`,
            ]);
            push(`${kind}.pull`, mibps(down.ms));
          } finally {
            await reg.stop();
            await rm(pulled, { recursive: true, force: true });
          }
        }
      }
      await headRates(ctx, rec, push);
      const label: Record<Kind, string> = { embedded: 'embedded registry', cncf: 'CNCF registry' };
      for (const what of ['push', 'pull'] as const) {
        for (const kind of ['embedded', 'cncf'] as const) {
          const verb = what === 'push' ? 'skopeo copy oci: → registry' : 'skopeo copy registry → oci:';
          rec.measure(
            `${kind}.${what}`,
            `${label[kind]}: ${verb}`,
            'MiB/s',
            'higher',
            samples[`${kind}.${what}`]!,
          );
        }
      }
      for (const kind of ['embedded', 'cncf'] as const) {
        rec.measure(
          `${kind}.head`,
          `${label[kind]}: manifest HEAD, ${ctx.scale.concurrency} keep-alive connections`,
          'req/s',
          'higher',
          samples[`${kind}.head`]!,
        );
      }
      const parity = { atLeast: 0.9, text: 'aim: parity (≥ 0.90×)' };
      const atLeastEven = { atLeast: 1, text: '≥ 1.0×' };
      rec.ratio('embedded.push', 'cncf.push', 'push: embedded / CNCF (MiB/s)', atLeastEven);
      rec.ratio('embedded.pull', 'cncf.pull', 'pull: embedded / CNCF (MiB/s)', atLeastEven);
      rec.ratio('embedded.head', 'cncf.head', 'manifest HEAD: embedded / CNCF (req/s)', parity);
      rec.note(
        'Every copy round starts both registries on fresh, empty storage, so skopeo uploads every blob. skopeo keeps the gzip layers as they are in both directions.',
      );
      rec.note(
        'Manifest HEADs are measured with the undici loop of the resolve benchmark (autocannon cannot measure HEAD).',
      );
    } finally {
      await rm(layout, { recursive: true, force: true });
      await rm(pulled, { recursive: true, force: true });
    }
  },
};

async function headRates(
  ctx: BenchContext,
  rec: Recorder,
  push: (id: string, v: number) => void,
): Promise<void> {
  const { concurrency, bigRounds, headSeconds } = ctx.scale;
  const regs: Record<Kind, Running> = {
    embedded: await startKind(ctx, 'embedded', 1000),
    cncf: await startKind(ctx, 'cncf', 1001),
  };
  try {
    const targets: Record<string, { path: string }[]> = {};
    for (const kind of ['embedded', 'cncf'] as const) {
      const seeded = await seedTinyImages(regs[kind].url, {
        repos: ctx.scale.headRepos,
        tagsPerRepo: 10,
        prefix: 'bench/head',
      });
      targets[kind] = seeded.map((t) => ({ path: `/v2/${t.repo}/manifests/${t.tag}` }));
      await headRate(regs[kind].url, targets[kind]!, concurrency, 0.5);
    }
    rec.param(
      'manifest HEAD',
      `${headSeconds} s per run, ${ctx.scale.headRepos * 10} tags in ${ctx.scale.headRepos} repositories`,
    );
    for (let round = 1; round <= bigRounds; round++) {
      ctx.log(`registry: HEAD round ${round}/${bigRounds}`);
      for (const kind of round % 2 === 0
        ? (['cncf', 'embedded'] as const)
        : (['embedded', 'cncf'] as const)) {
        const r = await headRate(regs[kind].url, targets[kind]!, concurrency, headSeconds);
        if (r.failed > 0) throw new Error(`${kind}: ${r.failed} manifest HEADs failed`);
        push(`${kind}.head`, r.perSecond);
      }
    }
  } finally {
    await regs.embedded.stop();
    await regs.cncf.stop();
  }
}
