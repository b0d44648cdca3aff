/**
 * @module bench/cases/copy
 * `imgdigest copy --all` and `imgdigest mirror` beside skopeo on the same registries (the CNCF
 * registry, straight, no proxy, for the copy; behind the counting proxy for the mirror, so the
 * writes of a second run can be counted, the same proxy for both tools):
 * - a multi-platform image (about `imageBytes`, gzip layers of random bytes, no blob shared
 *   between platforms) copied between two registries, `imgdigest copy --all` (the CLI from dist/,
 *   chunked uploads above 64 MiB as a user gets them, and with `--chunked-above off` for
 *   reference) and `skopeo copy --all --preserve-digests`, each round into a fresh, empty registry;
 * - `mirrorTags` tags of one repository, `imgdigest mirror FILE` and `skopeo sync --all
 *   --preserve-digests`, into a fresh registry, then again (what a second run costs and writes).
 *
 * Both measure the whole process, as a user runs it. The case is skipped when the machine is
 * already loaded (load average above the number of cores; `IMGDIGEST_BENCH_FORCE=1` runs it
 * anyway): these are transfers, and noise from other jobs swamps them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { type Distribution, startDistribution } from '../../test/support/distribution.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { writeMultiPlatformLayout } from '../lib/data.js';
import { run } from '../lib/proc.js';
import type { Recorder } from '../lib/results.js';
import { seedTinyImages, stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'ppc64le' },
];
const WRITES = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** The environment of every imgdigest run: no user configuration, upload state in the bench's folder. */
function cliEnv(ctx: BenchContext): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DOCKER_CONFIG: join(ctx.tmp, 'no-docker-config'),
    XDG_CACHE_HOME: join(ctx.tmp, 'copy-cache'),
  };
}

/** The digest `ref` names at a registry (a check that a copy really landed whole). */
async function digestAt(ref: string): Promise<string> {
  const client = new RegistryClient({ anonymous: true });
  try {
    return (await client.resolve(parseReference(ref))).digest;
  } finally {
    await client.close();
  }
}

export const copyBenchmark: Benchmark = {
  id: 'copy',
  title: 'copy --all and mirror beside skopeo (CNCF registry to CNCF registry)',
  async run(ctx, rec) {
    const cores = cpus().length;
    const load = loadavg()[0]!;
    if (load > cores && process.env.IMGDIGEST_BENCH_FORCE !== '1') {
      rec.result.status = 'not run';
      rec.result.reason = `the machine is loaded (load average ${load.toFixed(1)} on ${cores} cores); IMGDIGEST_BENCH_FORCE=1 runs it anyway`;
      return;
    }
    if (!ctx.cli) throw new Error('no dist/ build: the CLI cannot run');
    rec.param('load average at start', load.toFixed(2));
    await copyAll(ctx, rec);
    await mirror(ctx, rec);
  },
};

async function copyAll(ctx: BenchContext, rec: Recorder): Promise<void> {
  const { imageBytes, bigRounds, imageLayers } = ctx.scale;
  const platforms = PLATFORMS.slice(0, ctx.quick ? 2 : 4);
  const perPlatform = Math.max(1, Math.floor((imageLayers * 2) / platforms.length));
  const layout = join(ctx.tmp, 'copy-layout');
  const src = await startDistribution({ proxy: false });
  try {
    ctx.log(`copy: writing a ${imageBytes / MiB} MiB image for ${platforms.length} platforms`);
    const image = await writeMultiPlatformLayout(layout, imageBytes, platforms, perPlatform, 'big');
    rec.param(
      'copy --all image',
      `${(image.blobBytes / MiB).toFixed(0)} MiB: ${platforms.length} platforms × ${perPlatform} gzip layers, ${image.blobs} blobs`,
    );
    rec.param('copy rounds', bigRounds);
    const from = `${new URL(src.registryUrl).host}/bench/big:1`;
    await run('skopeo', [
      'copy',
      '--all',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:big`,
      `docker://${from}`,
    ]);
    await rm(layout, { recursive: true, force: true });
    if ((await digestAt(from)) !== image.indexDigest)
      throw new Error('the source registry changed the index digest');

    const mibps = (ms: number) => image.blobBytes / MiB / (ms / 1000);
    const samples: Record<string, number[]> = { imgdigest: [], unchunked: [], skopeo: [] };
    const tools: Record<string, (to: string) => string[]> = {
      imgdigest: (to) => [...ctx.cli!, 'copy', '--all', from, to],
      unchunked: (to) => [...ctx.cli!, 'copy', '--all', '--chunked-above', 'off', from, to],
      skopeo: (to) => [
        'skopeo',
        'copy',
        '--all',
        '--preserve-digests',
        '--quiet',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${from}`,
        `docker://${to}`,
      ],
    };
    for (let round = 1; round <= bigRounds; round++) {
      const order = Object.keys(tools);
      if (round % 2 === 0) order.reverse();
      for (const tool of order) {
        ctx.log(`copy: round ${round}/${bigRounds}, ${tool}`);
        const dst = await startDistribution({ proxy: false });
        try {
          const to = `${new URL(dst.registryUrl).host}/bench/big:1`;
          const [cmd, ...args] = tools[tool]!(to);
          const r = await run(cmd!, args, { env: cliEnv(ctx), stdout: 'devnull' });
          if ((await digestAt(to)) !== image.indexDigest)
            throw new Error(`${tool} did not keep the index digest`);
          samples[tool]!.push(mibps(r.ms));
        } finally {
          await stopDistribution(dst);
        }
      }
    }
    rec.measure(
      'copy.imgdigest',
      'imgdigest copy --all (chunked above 64 MiB, the default)',
      'MiB/s',
      'higher',
      samples.imgdigest!,
    );
    rec.measure(
      'copy.unchunked',
      'imgdigest copy --all --chunked-above off',
      'MiB/s',
      'higher',
      samples.unchunked!,
    );
    rec.measure('copy.skopeo', 'skopeo copy --all --preserve-digests', 'MiB/s', 'higher', samples.skopeo!);
    rec.ratio('copy.imgdigest', 'copy.skopeo', 'copy --all: imgdigest / skopeo (MiB/s)', {
      atLeast: 1,
      text: '≥ 1× (at least as fast)',
    });
    rec.ratio('copy.unchunked', 'copy.skopeo', 'copy --all, unchunked uploads: imgdigest / skopeo (MiB/s)');
    rec.note(
      'Every copy goes into a fresh, empty CNCF registry, so every blob is sent; both tools keep the gzip layers as they are, and the index digest at the destination is checked after each copy.',
    );
  } finally {
    await rm(layout, { recursive: true, force: true });
    await stopDistribution(src);
  }
}

async function mirror(ctx: BenchContext, rec: Recorder): Promise<void> {
  const tags = ctx.quick ? 20 : 100;
  const rounds = ctx.scale.bigRounds;
  const src = await startDistribution({ proxy: false });
  const work = join(ctx.tmp, 'mirror');
  await mkdir(work, { recursive: true });
  try {
    const seeded = await seedTinyImages(src.registryUrl, {
      repos: 1,
      tagsPerRepo: tags,
      prefix: 'bench/mirror',
    });
    const repo = `${new URL(src.registryUrl).host}/${seeded[0]!.repo}`;
    rec.param(
      'mirror',
      `${tags} tags of one repository (one small image each, their layer and config shared)`,
    );
    rec.param('mirror rounds', rounds);
    const samples: Record<string, number[]> = {};
    const push = (id: string, v: number) => {
      samples[id] = [...(samples[id] ?? []), v];
    };
    const writes: Record<string, number[]> = { imgdigest: [], skopeo: [] };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 0 ? ['skopeo', 'imgdigest'] : ['imgdigest', 'skopeo'];
      for (const tool of order) {
        ctx.log(`mirror: round ${round}/${rounds}, ${tool}`);
        const dst: Distribution = await startDistribution();
        try {
          const host = dst.host;
          const once = async () => {
            if (tool === 'imgdigest') {
              const file = join(work, 'mirror.yaml');
              await writeFile(
                file,
                `apiVersion: imgdigest.dev/v1alpha1\nkind: ImageMirror\nmirrors:\n  - from: ${repo}\n    to: ${host}/mirror/app\n`,
              );
              return run(ctx.cli![0]!, [...ctx.cli!.slice(1), 'mirror', file], {
                env: cliEnv(ctx),
                stdout: 'devnull',
              });
            }
            return run(
              'skopeo',
              [
                'sync',
                '--all',
                '--preserve-digests',
                '--src',
                'docker',
                '--dest',
                'docker',
                '--src-tls-verify=false',
                '--dest-tls-verify=false',
                repo,
                `${host}/mirror`,
              ],
              { stdout: 'devnull' },
            );
          };
          const first = await once();
          push(`${tool}.first`, tags / (first.ms / 1000));
          dst.resetCounts();
          const second = await once();
          push(`${tool}.second`, second.ms / 1000);
          writes[tool]!.push(dst.requestLog.filter((l) => WRITES.has(l.method)).length);
        } finally {
          await stopDistribution(dst);
        }
      }
    }
    rec.measure(
      'mirror.imgdigest',
      `imgdigest mirror, ${tags} tags into an empty registry`,
      'tags/s',
      'higher',
      samples['imgdigest.first']!,
    );
    rec.measure(
      'mirror.skopeo',
      `skopeo sync --all, ${tags} tags into an empty registry`,
      'tags/s',
      'higher',
      samples['skopeo.first']!,
    );
    rec.measure(
      'mirror.imgdigest.again',
      'imgdigest mirror, second run',
      's',
      'lower',
      samples['imgdigest.second']!,
    );
    rec.measure('mirror.skopeo.again', 'skopeo sync, second run', 's', 'lower', samples['skopeo.second']!);
    rec.ratio(
      'mirror.imgdigest',
      'mirror.skopeo',
      `mirror of ${tags} tags: imgdigest / skopeo sync (tags/s)`,
      {
        atLeast: 1,
        text: '≥ 1× (at least as fast)',
      },
    );
    rec.ratio('mirror.imgdigest.again', 'mirror.skopeo.again', 'second run: imgdigest / skopeo sync (time)');
    const most = (list: number[]) => Math.max(...list);
    rec.check(
      'second run: requests that write, imgdigest mirror',
      most(writes.imgdigest!),
      `${most(writes.imgdigest!)} writes`,
      {
        equals: 0,
        text: 'none (idempotent)',
      },
    );
    rec.check(
      'second run: requests that write, skopeo sync',
      most(writes.skopeo!),
      `${most(writes.skopeo!)} writes`,
    );
    rec.note(
      'The mirror destination sits behind the counting proxy of test/support/distribution.ts for both tools, so the writes of the second run (PUT, POST, PATCH, DELETE) can be counted; the most of any round is reported.',
    );
  } finally {
    await rm(work, { recursive: true, force: true });
    await stopDistribution(src);
  }
}
