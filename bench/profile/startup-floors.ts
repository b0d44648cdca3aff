/**
 * Profiling harness (not part of `npm run bench`): where `imgdigest digest REF` stands between the
 * start-up floors of a one-HEAD Node program. Against the CNCF registry on loopback, whole
 * processes in turn (rotating which goes first), wall time:
 *
 * - `node -e 0`;
 * - one manifest HEAD with node:http (bench/servers/head-once.js): the least any Node program pays;
 * - one manifest HEAD with the undici pieces imgdigest uses (src/sources/registry/undici.ts, bundled
 *   by esbuild as scripts/bundle-cli.mjs bundles the CLI, with the same `--liftoff-only`): the
 *   least a client on undici pays;
 * - `imgdigest digest REF` (bin/imgdigest.js, the built bundle: run `npm run build` first).
 *
 *   node --import tsx bench/profile/startup-floors.ts [rounds=30]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions } from '../../scripts/bundle-options.mjs';
import { startDistribution } from '../../test/support/distribution.js';
import { run } from '../lib/proc.js';
import { seedTinyImages, stopDistribution } from '../lib/seed.js';

const rounds = Number(process.argv[2] ?? 30);
const root = resolve(import.meta.dirname, '..', '..');
const tmp = await mkdtemp(join(tmpdir(), 'startup-floors-'));
const entry = join(tmp, 'undici-head.ts');
// The floor client: imgdigest's own undici module, one Client, one HEAD, the digest printed.
await writeFile(
  entry,
  `import { baselineWasmOnly } from '${join(root, 'src/cli/options.ts')}';
import { Client, request } from '${join(root, 'src/sources/registry/undici.ts')}';
const url = new URL(process.argv[2]!);
baselineWasmOnly();
const client = new Client(url.origin);
const res = await request(
  { origin: url.origin, path: url.pathname },
  { method: 'HEAD', headers: { accept: ${JSON.stringify(
    [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ].join(', '),
  )} }, dispatcher: client },
);
await res.body.dump();
process.stdout.write(\`\${res.headers['docker-content-digest']}\\n\`);
await client.close();
`,
);
const bundled = join(tmp, 'undici-head.js');
await build({
  entryPoints: [entry],
  outfile: bundled,
  ...bundleOptions,
  logLevel: 'warning',
});

const dist = await startDistribution({ proxy: false });
try {
  const [seeded] = await seedTinyImages(dist.registryUrl, { repos: 1, tagsPerRepo: 1, prefix: 'floors/app' });
  const ref = `${new URL(dist.registryUrl).host}/${seeded!.repo}:${seeded!.tag}`;
  const url = `${dist.registryUrl}/v2/${seeded!.repo}/manifests/${seeded!.tag}`;
  const node = process.execPath;
  const commands: Record<string, string[]> = {
    'node -e 0': ['-e', '0'],
    'node:http HEAD': [join(root, 'bench', 'servers', 'head-once.js'), url],
    'undici HEAD': [bundled, url],
    'imgdigest digest': [join(root, 'bin', 'imgdigest.js'), 'digest', ref],
  };
  const names = Object.keys(commands);
  const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) {
    const out = await run(node, commands[name]!); // warm-up, and every HEAD must print the digest
    if (name !== 'node -e 0' && out.stdout.trim() !== seeded!.digest)
      throw new Error(`${name} printed ${out.stdout.trim()}, expected ${seeded!.digest}`);
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!;
      ms[name]!.push((await run(node, commands[name]!)).ms);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const base = median(ms['node -e 0']!);
  for (const name of names) {
    const m = median(ms[name]!);
    console.log(`${name.padEnd(18)} ${m.toFixed(0).padStart(4)} ms  ${(m / base).toFixed(2)}x node -e 0`);
  }
} finally {
  await stopDistribution(dist);
  await rm(tmp, { recursive: true, force: true });
}
