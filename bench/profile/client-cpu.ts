/**
 * Profiling harness (not part of `npm run bench`): client CPU per manifest HEAD, imgdigest's
 * resolver against the bare undici loop, with a trivial registry stand-in in a child process so
 * the client, not the server, is what is measured. Usage: node --import tsx bench/profile/client-cpu.ts [n] [rounds]
 */
import { performance } from 'node:perf_hooks';
import { headLoop } from '../lib/head-loop.js';
import { resolveAll, startTrivialRegistry, trivialTags } from './trivial-registry.js';

const n = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 5);
const { host, child } = await startTrivialRegistry();
const refs = trivialTags(n);
const ours = () => resolveAll(host, refs, { maxEntries: n * 2 });
const ceiling = async () => {
  await headLoop(
    `http://${host}`,
    refs.map((t) => ({ path: `/v2/${t.repo}/manifests/${t.tag}` })),
    8,
  );
};
const out: Record<string, string[]> = { ceiling: [], ours: [] };
for (let i = 0; i < rounds; i++) {
  for (const [name, fn] of (
    [
      ['ceiling', ceiling],
      ['ours', ours],
    ] as const
  ).filter(([k]) => !process.argv[4] || k === process.argv[4])) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    out[name]!.push(
      `${((c.user + c.system) / n).toFixed(0)}µs(u${(c.user / n).toFixed(0)}) ${Math.round((n / ms) * 1000)}/s`,
    );
  }
}
console.log(JSON.stringify(out, null, 1));
child.kill();
