/**
 * Profiling harness (not part of `npm run bench`): `skopeo copy` of a large OCI layout into the
 * embedded registry and back, the registry in its own process under `node --cpu-prof` (profiles
 * in PROFILE_DIR, default /tmp/imgdigest-registry-prof). Usage: node --import tsx bench/profile/registry.ts [MiB]
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBigOciLayout } from '../lib/data.js';
import { run, startServerChild } from '../lib/proc.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const tmp = `/tmp/imgdigest-profile-registry-${process.pid}`;
const profDir = process.env.PROFILE_DIR ?? '/tmp/imgdigest-registry-prof';
await mkdir(join(tmp, 'root'), { recursive: true });
try {
  const { blobBytes } = await writeBigOciLayout(join(tmp, 'layout'), size, 2, 'big');
  const root = new URL('../..', import.meta.url).pathname;
  const child = await startServerChild(process.execPath, [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
    join(root, 'bench', 'servers', 'child.js'),
    'registry',
    join(tmp, 'root'),
  ]);
  try {
    const dest = `docker://${child.info.host}/bench/big:1`;
    const up = await run('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${join(tmp, 'layout')}:big`,
      dest,
    ]);
    const down = await run('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      dest,
      `oci:${join(tmp, 'pulled')}:big`,
    ]);
    console.log(
      `push ${(blobBytes / MiB / (up.ms / 1000)).toFixed(0)} MiB/s, pull ${(blobBytes / MiB / (down.ms / 1000)).toFixed(0)} MiB/s`,
    );
  } finally {
    await child.stop();
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
