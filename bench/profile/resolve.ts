/**
 * Profiling harness (not part of `npm run bench`): seed the CNCF registry, then alternate the raw
 * HEAD loop and imgdigest's resolver; run under `node --cpu-prof --import tsx` to see where
 * imgdigest's time goes. Usage: node --import tsx bench/profile/resolve.ts [repos] [rounds] [mode]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { parseReference } from '../../src/core/reference.js';
import { openResolver } from '../../src/resolver/open.js';
import { startDistribution } from '../../test/support/distribution.js';
import { headLoop } from '../lib/head-loop.js';
import { mapLimit } from '../lib/proc.js';
import { seedTinyImages, shuffled, stopDistribution } from '../lib/seed.js';

const repos = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 5);
const only = process.argv[4] ?? 'both';
const concurrency = 8;
const dist = await startDistribution({ proxy: false });
try {
  const order = shuffled(await seedTinyImages(dist.registryUrl, { repos, tagsPerRepo: 10 }));
  const host = new URL(dist.registryUrl).host;
  const targets = order.map((t) => ({ path: `/v2/${t.repo}/manifests/${t.tag}` }));
  const ours = async () => {
    const t0 = performance.now();
    const resolver = await openResolver({
      concurrency,
      cache: { maxEntries: order.length * 2 },
      registry: { concurrency, anonymous: true },
    });
    try {
      await mapLimit(order, concurrency, async (t) => {
        const a = await resolver.resolve(parseReference(`${host}/${t.repo}:${t.tag}`));
        if (a.digest !== t.digest) throw new Error('wrong digest');
      });
    } finally {
      await resolver.close();
    }
    return performance.now() - t0;
  };
  const ceiling = async () => (await headLoop(dist.registryUrl, targets, concurrency)).ms;
  const r: Record<string, number[]> = { ceiling: [], ours: [] };
  const cpu: Record<string, number[]> = { ceiling: [], ours: [] };
  const timed = async (name: string, fn: () => Promise<number>) => {
    const c0 = process.cpuUsage();
    r[name]!.push((order.length / (await fn())) * 1000);
    const c = process.cpuUsage(c0);
    cpu[name]!.push(Math.round((c.user + c.system) / order.length));
  };
  // PROFILE=FILE: a CPU profile of imgdigest's rounds only (not the seeding, not the ceiling).
  const session = process.env.PROFILE ? new Session() : null;
  session?.connect();
  await session?.post('Profiler.enable');
  await session?.post('Profiler.setSamplingInterval', { interval: 100 });
  for (let i = 0; i < rounds; i++) {
    if (only !== 'ours') await timed('ceiling', ceiling);
    await session?.post('Profiler.start');
    if (only !== 'ceiling') await timed('ours', ours);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      if (i === rounds - 1) writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
    }
  }
  console.log(`client CPU µs per tag: ${JSON.stringify(cpu)}`);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
  console.log(
    JSON.stringify({
      tags: order.length,
      ceiling: r.ceiling!.map(Math.round),
      ours: r.ours!.map(Math.round),
    }),
  );
  console.log(`median ratio ours/ceiling: ${(med(r.ours!) / med(r.ceiling!)).toFixed(3)}`);
} finally {
  await stopDistribution(dist);
}
