/**
 * Profiling harness (not part of `npm run bench`): how fast the embedded registry and the CNCF
 * registry serve the same image, and what serving costs the embedded one. Both are started once
 * and sent the same OCI layout; then, rounds alternating between them:
 *
 * - `skopeo copy` registry → `oci:` under DEST (default /dev/shm, so that skopeo's own disk
 *   writes do not pace the pull), and
 * - every layer fetched at once by parallel `curl`s into /dev/null (the registry alone),
 *
 * with the embedded registry's CPU (user, system) and minor page faults per MiB served.
 *
 *   node --import tsx bench/profile/pull.ts [MiB=1024] [rounds=4] [DEST=/dev/shm]
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDistribution } from '../../test/support/distribution.js';
import { writeBigOciLayout } from '../lib/data.js';
import { run, startServerChild } from '../lib/proc.js';
import { stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 1024) * MiB;
const rounds = Number(process.argv[3] ?? 4);
const destRoot = process.argv[4] ?? '/dev/shm';
const tmp = `/tmp/imgdigest-profile-pull-${process.pid}`;

/** CPU (ms, user and system) and minor page faults of a process so far. */
function usage(pid: number): { user: number; sys: number; faults: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10, faults: Number(f[7]) };
}

await mkdir(join(tmp, 'root'), { recursive: true });
const layout = join(tmp, 'layout');
const { blobBytes } = await writeBigOciLayout(layout, size, 4, 'big');
const mib = blobBytes / MiB;
const root = new URL('../..', import.meta.url).pathname;
const child = await startServerChild(process.execPath, [
  join(root, 'bench', 'servers', 'child.js'),
  'registry',
  join(tmp, 'root'),
]);
const dist = await startDistribution({ proxy: false });
try {
  const hosts = { embedded: child.info.host!, cncf: new URL(dist.registryUrl).host };
  for (const host of Object.values(hosts)) {
    await run('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:big`,
      `docker://${host}/bench/big:1`,
    ]);
  }
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const manifestHex = index.manifests[0].digest.split(':')[1];
  const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestHex), 'utf8'));
  const layers: string[] = manifest.layers.map((l: { digest: string }) => l.digest);

  const ways = {
    skopeo: async (host: string) => {
      const pulled = join(destRoot, `imgdigest-pulled-${process.pid}`);
      try {
        return (
          await run('skopeo', [
            'copy',
            '--quiet',
            '--src-tls-verify=false',
            `docker://${host}/bench/big:1`,
            `oci:${pulled}:big`,
          ])
        ).ms;
      } finally {
        await rm(pulled, { recursive: true, force: true });
      }
    },
    curl: async (host: string) => {
      const start = performance.now();
      await Promise.all(
        layers.map((d) => run('curl', ['-sf', '-o', '/dev/null', `http://${host}/v2/bench/big/blobs/${d}`])),
      );
      return performance.now() - start;
    },
  };
  for (const [way, fetch] of Object.entries(ways)) {
    const rate: Record<string, number[]> = { embedded: [], cncf: [] };
    const cost: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? (['cncf', 'embedded'] as const) : (['embedded', 'cncf'] as const)) {
        const u0 = usage(child.pid);
        const ms = await fetch(hosts[kind]);
        const u1 = usage(child.pid);
        rate[kind]!.push(Math.round(mib / (ms / 1000)));
        if (kind === 'embedded') {
          cost.push(
            `user ${((u1.user - u0.user) / mib).toFixed(2)} sys ${((u1.sys - u0.sys) / mib).toFixed(2)} ms/MiB, ${((u1.faults - u0.faults) / mib).toFixed(1)} faults/MiB`,
          );
        }
      }
    }
    console.log(`${way}: MiB/s embedded ${rate.embedded!.join(' ')} | CNCF ${rate.cncf!.join(' ')}`);
    console.log(`${way}: embedded registry per MiB: ${cost.join('; ')}`);
  }
} finally {
  await child.stop();
  await stopDistribution(dist);
  await rm(tmp, { recursive: true, force: true });
}
