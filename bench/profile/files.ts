/**
 * Profiling harness (not part of `npm run bench`): `walkLayer` over a gzip layer of many small
 * files, from the CNCF registry through `getBlob` (verified) and from the file on disk, alternating;
 * client CPU per MiB of gzip and MiB/s. PROFILE=FILE writes a CPU profile of the last registry round.
 * Usage: node --import tsx bench/profile/files.ts [MiB] [rounds]
 */
import { createReadStream, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { walkLayer } from '../../src/sources/layers/layer-files.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import { pushFileBlob, writeManyFilesLayer } from '../lib/data.js';
import { stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 64) * MiB;
const rounds = Number(process.argv[3] ?? 3);
const path = `/tmp/imgdigest-profile-files-${process.pid}.tar.gz`;
const dist = await startDistribution({ proxy: false });
const client = new RegistryClient({ anonymous: true });
try {
  const layer = await writeManyFilesLayer(path, size);
  await pushFileBlob(dist.registryUrl, 'bench/layer', layer);
  const repo = parseReference(`${new URL(dist.registryUrl).host}/bench/layer`);
  const walk = async (stream: Readable) => {
    const n = await walkLayer(stream, MediaType.OCI_LAYER_GZIP, () => {});
    if (n !== layer.entries) throw new Error(`saw ${n} entries of ${layer.entries}`);
  };
  const variants: Record<string, () => Promise<void>> = {
    registry: async () =>
      walk((await client.getBlob(repo, { digest: layer.digest, size: layer.size })).stream),
    disk: async () => walk(createReadStream(path, { highWaterMark: MiB })),
  };
  const session = process.env.PROFILE ? new Session() : null;
  session?.connect();
  await session?.post('Profiler.enable');
  const r: Record<string, number[]> = { registry: [], disk: [] };
  const cpu: Record<string, number[]> = { registry: [], disk: [] };
  for (const fn of Object.values(variants)) await fn();
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of Object.entries(variants)) {
      const last = name === 'registry' && i === rounds - 1;
      if (last) await session?.post('Profiler.start');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      r[name]!.push(Math.round(layer.size / MiB / (ms / 1000)));
      cpu[name]!.push(Math.round((c.user + c.system) / (layer.size / MiB)));
      if (last && session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
      }
    }
  }
  console.log(
    `${(layer.size / MiB).toFixed(0)} MiB gzip, ${layer.entries} entries; MiB/s ${JSON.stringify(r)} client CPU µs/MiB ${JSON.stringify(cpu)}`,
  );
} finally {
  await client.close();
  await stopDistribution(dist);
  rmSync(path, { force: true });
}
