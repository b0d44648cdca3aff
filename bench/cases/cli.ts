/**
 * @module bench/cases/cli
 * One `imgdigest digest` process per image, as a shell loop or a CI step runs it: cold start
 * dominates. Compared with `skopeo inspect --format {{.Digest}}` per image, and the start-up floor
 * `node -e 0`; `imgdigest --version` shows the CLI's own start-up cost, and one manifest HEAD with
 * node:http in a fresh process (bench/servers/head-once.js) the least any Node program pays to print
 * a digest. The five commands run in turn for every image (rotating which goes first) so they share
 * the same moments of load.
 */
import { join } from 'node:path';
import { startDistribution } from '../../test/support/distribution.js';
import type { Benchmark } from '../lib/context.js';
import { run } from '../lib/proc.js';
import { seedTinyImages, stopDistribution } from '../lib/seed.js';

export const cliBenchmark: Benchmark = {
  id: 'cli',
  title: 'One CLI process per image',
  async run(ctx, rec) {
    if (!ctx.cli) throw new Error('no dist/ build: the CLI cannot run');
    const [node, bin] = ctx.cli as [string, string];
    const { bigRounds: rounds, cliImages } = ctx.scale;
    rec.param('images per round', cliImages);
    rec.param('rounds', rounds);
    const dist = await startDistribution({ proxy: false });
    try {
      const seeded = await seedTinyImages(dist.registryUrl, {
        repos: cliImages,
        tagsPerRepo: 1,
        prefix: 'bench/cli',
      });
      const host = new URL(dist.registryUrl).host;
      const samples: Record<string, number[]> = { digest: [], skopeo: [], version: [], node: [], head: [] };
      const headOnce = join(ctx.root, 'bench', 'servers', 'head-once.js');
      type Seeded = (typeof seeded)[number];
      const refOf = (t: Seeded) => `${host}/${t.repo}:${t.tag}`;
      const commands: Record<string, (t: Seeded) => [string, string[]]> = {
        digest: (t) => [node, [bin, 'digest', refOf(t)]],
        skopeo: (t) => [
          'skopeo',
          ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${refOf(t)}`],
        ],
        version: () => [node, [bin, '--version']],
        node: () => [node, ['-e', '0']],
        head: (t) => [node, [headOnce, `${dist.registryUrl}/v2/${t.repo}/manifests/${t.tag}`]],
      };
      const names = Object.keys(commands);
      // Untimed warm-up: the first start of each reads its files from disk.
      for (const name of ctx.scale.warmUp ? names : []) {
        const [cmd, args] = commands[name]!(seeded[0]!);
        await run(cmd, args);
      }
      let turn = 0;
      for (let round = 1; round <= rounds; round++) {
        ctx.log(`cli: round ${round}/${rounds}`);
        for (const t of seeded) {
          turn++;
          for (let k = 0; k < names.length; k++) {
            const name = names[(k + turn) % names.length]!;
            const [cmd, args] = commands[name]!(t);
            const res = await run(cmd, args);
            if (
              (name === 'digest' || name === 'skopeo' || name === 'head') &&
              res.stdout.trim() !== t.digest
            ) {
              throw new Error(`${name} printed ${res.stdout.trim()} for ${refOf(t)}, expected ${t.digest}`);
            }
            samples[name]!.push(res.ms);
          }
        }
      }
      rec.measure('digest', 'imgdigest digest REF (one process)', 'ms', 'lower', samples.digest!);
      rec.measure(
        'skopeo',
        'skopeo inspect --format {{.Digest}} REF (one process)',
        'ms',
        'lower',
        samples.skopeo!,
      );
      rec.measure('version', 'imgdigest --version', 'ms', 'lower', samples.version!);
      rec.measure('node', 'node -e 0', 'ms', 'lower', samples.node!);
      rec.measure(
        'head',
        'one manifest HEAD with node:http in a fresh node process (bench/servers/head-once.js)',
        'ms',
        'lower',
        samples.head!,
      );
      rec.ratio('digest', 'skopeo', 'imgdigest digest / skopeo inspect (ms per invocation)', {
        atMost: 1,
        text: '< 1× (faster than skopeo)',
      });
      rec.ratio('version', 'node', 'imgdigest --version / node -e 0 (CLI start)', {
        atMost: 1.3,
        text: '≤ 1.3×',
      });
      rec.ratio('digest', 'node', 'imgdigest digest / node -e 0', { atMost: 1.8, text: '≤ 1.8×' });
      // Not a target: the least a Node program pays to print a digest, against the same start.
      rec.ratio('head', 'node', 'one node:http HEAD / node -e 0 (the floor of any Node client)');
      rec.ratio('digest', 'head', 'imgdigest digest / one node:http HEAD');
      rec.note(
        'Every invocation is one sample (rounds × images); wall time from spawn to exit, against the CNCF registry on loopback.',
      );
      const median = (id: string) => rec.get(id)!.summary.median;
      rec.note(
        `Medians: node starts in ${median('node').toFixed(0)} ms; \`imgdigest --version\` adds ${(median('version') - median('node')).toFixed(0)} ms ` +
          `(loading the CLI); \`imgdigest digest\` adds another ${(median('digest') - median('version')).toFixed(0)} ms ` +
          `(loading the registry client, one GET /v2/ and one HEAD, exiting). skopeo is one Go binary: ${median('skopeo').toFixed(0)} ms in all. ` +
          `One HEAD with node:http alone, in a fresh process: ${median('head').toFixed(0)} ms.`,
      );
    } finally {
      await stopDistribution(dist);
    }
  },
};
