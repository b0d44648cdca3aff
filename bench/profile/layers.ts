/**
 * Profiling harness (not part of `npm run bench`): client CPU per manifest HEAD at each layer of
 * imgdigest, against a trivial registry stand-in in a child process (as client-cpu.ts): the bare
 * undici Pool loop, the transport, the registry client's `resolve`, and the resolver. The
 * differences between rows are what each layer costs per tag.
 * Usage: node --import tsx bench/profile/layers.ts [n] [rounds]   (medians of rounds 3 on, when
 * there are three or more)
 */
import { MANIFEST_ACCEPT } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { Transport } from '../../src/sources/registry/transport.js';
import { headLoop } from '../lib/head-loop.js';
import { mapLimit } from '../lib/proc.js';
import { resolveAll, startTrivialRegistry, trivialTags } from './trivial-registry.js';

const n = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 6);
const { host, child } = await startTrivialRegistry();
const refs = trivialTags(n);
const accept = MANIFEST_ACCEPT.join(', ');
const rows: Record<string, () => Promise<void>> = {
  pool: async () => {
    await headLoop(
      `http://${host}`,
      refs.map((t) => ({ path: `/v2/${t.repo}/manifests/${t.tag}` })),
      8,
    );
  },
  transport: async () => {
    const transport = new Transport({ concurrency: 8 });
    try {
      await mapLimit(refs, 8, async (t) => {
        const res = await transport.send({
          method: 'HEAD',
          url: new URL(`http://${host}/v2/${t.repo}/manifests/${t.tag}`),
          headers: { accept },
        });
        if (!res.header('docker-content-digest')) throw new Error('no digest');
      });
    } finally {
      await transport.close();
    }
  },
  client: async () => {
    const client = new RegistryClient({ concurrency: 8, anonymous: true });
    try {
      await mapLimit(refs, 8, async (t) => {
        await client.resolve(parseReference(`${host}/${t.repo}:${t.tag}`));
      });
    } finally {
      await client.close();
    }
  },
  resolver: () => resolveAll(host, refs, { maxEntries: n * 2 }),
  // The resolver without its answer cache (coalescing and limits stay).
  uncached: () => resolveAll(host, refs, { ttlMs: 0 }),
};
const out: Record<string, number[]> = {};
for (let i = 0; i < rounds; i++) {
  for (const [name, fn] of Object.entries(rows).filter(
    ([k]) => !process.env.ROWS || process.env.ROWS.split(',').includes(k),
  )) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    out[name] ??= [];
    out[name].push(Math.round((c.user + c.system) / n));
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
for (const [name, all] of Object.entries(out)) {
  // The first two rounds are V8 warming up; with fewer than three rounds the median is of them all.
  const warm = all.length > 2 ? all.slice(2) : all;
  console.log(`${name.padEnd(10)} median ${String(median(warm)).padStart(4)} µs/tag  (${all.join(' ')})`);
}
child.kill();
