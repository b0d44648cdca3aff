/**
 * @module cli/commands/demo
 * `imgdigest demo` (what `npm start` runs): the whole workflow offline. It starts the embedded
 * registry on a free loopback port, builds and pushes sample images in-process, then runs the real
 * commands one after another and prints each command line with its real output, as a transcript.
 */
import type { Command } from 'commander';
import type { CliContext, Io } from '../context.js';

interface Captured {
  code: number;
  stdout: Buffer;
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('walk through the main workflows offline, on the embedded registry (what npm start runs)')
    .option('--keep', 'keep the registry running at the end until Ctrl-C')
    .option(
      '--manifests <dir>',
      'only write the example manifests (examples/manifests) into DIR, naming the registry --registry',
    )
    .option('--registry <host:port>', 'with --manifests: the registry the manifests name', 'localhost:5000')
    .addHelpText(
      'after',
      `
Needs no network and no other service. Every step prints the command it runs and its real output.
The same images are served by \`imgdigest registry serve --demo\`; --manifests writes the example
Kubernetes manifests that name them, for trying check, pin and the KRM function by hand.

Examples:
  $ imgdigest demo
  $ imgdigest demo --manifests deploy --registry localhost:5000
  deploy/debug-pod.yaml
  deploy/nightly.yaml
  deploy/web.yaml
  deploy/worker.yaml`,
    )
    .action(async (flags: { keep?: boolean; manifests?: string; registry: string }) => {
      const { renderExamples } = await import('../../k8s/examples.js');
      if (flags.manifests !== undefined) {
        const { parseReference } = await import('../../core/reference.js');
        const { basename, join: joinPath, resolve } = await import('node:path');
        // The host must make valid references (`localhost:5000/sample/app:1.0`).
        parseReference(`${flags.registry}/sample/app:1.0`);
        const written = await renderExamples(resolve(ctx.io.cwd, flags.manifests), flags.registry);
        for (const file of written) ctx.out(joinPath(flags.manifests, basename(file)));
        return;
      }
      const { startRegistry } = await import('../../registry-server/index.js');
      const { main } = await import('../main.js');
      const { digestOf } = await import('../../core/digest.js');
      const { mkdtemp, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { PassThrough } = await import('node:stream');

      const registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
      const work = await mkdtemp(join(tmpdir(), 'imgdigest-demo-'));
      const say = (text = '') => ctx.out(text);
      const step = (title: string) => {
        say('');
        say(`== ${title}`);
      };
      // Each step runs the real CLI in-process; its output is shown as the user would see it.
      const run = async (args: string[], show: 'out' | 'none' = 'out'): Promise<Captured> => {
        say(`$ imgdigest ${args.map((a) => (/[\s*]/.test(a) ? `'${a}'` : a)).join(' ')}`);
        const stdout = new PassThrough();
        const chunks: Buffer[] = [];
        stdout.on('data', (c: Buffer) => {
          chunks.push(c);
          if (show === 'out') ctx.io.stdout.write(c);
        });
        const stderr = new PassThrough();
        stderr.on('data', (c: Buffer) => ctx.io.stderr.write(c));
        const io: Io = { ...ctx.io, stdout, stderr, cwd: work };
        const code = await main(args, io);
        const out = Buffer.concat(chunks);
        if (show === 'out' && out.length > 0 && out[out.length - 1] !== 10) ctx.io.stdout.write('\n');
        if (code !== 0) say(`(exit code ${code})`);
        return { code, stdout: out };
      };
      try {
        const host = registry.host;
        const repo = `${host}/sample/app`;
        say(`imgdigest demo: embedded registry at ${registry.url} (in memory), serving`);
        for (const image of registry.loaded) say(`  ${image.repository}:${image.tag}@${image.digest}`);
        say('(1.0, 1.1 and latest are indexes for linux/amd64, linux/arm64, linux/arm/v7 and a build');
        say(' attestation; single and worker:2 are linux/amd64 images)');

        step('1. The digest behind a tag (one HEAD request; the index digest for a multi-platform tag)');
        const indexDigest = (await run(['digest', `${repo}:1.0`])).stdout.toString().trim();
        step('2. The digest of one platform (the best match in the index; attestations are never chosen)');
        for (const p of ['linux/amd64', 'linux/arm64', 'linux/arm/v7']) {
          await run(['digest', '--platform', p, '--full-ref', `${repo}:1.0`]);
        }
        step('3. What the index holds');
        await run(['index', `${repo}:1.0`]);
        step('4. The manifest exactly as served: its sha256 is the digest');
        const manifest = await run(['manifest', `${repo}:1.0`], 'none');
        say(`(${manifest.stdout.length} bytes) | sha256 = ${digestOf(manifest.stdout)}`);
        say(
          digestOf(manifest.stdout) === indexDigest
            ? 'matches the digest from step 1'
            : 'DOES NOT MATCH step 1',
        );
        step('5. The image config of one platform (verified against its digest)');
        await run(['config', '--platform', 'linux/amd64', '--pretty', `${repo}:1.0`]);
        step("6. The files in that platform's layers");
        await run(['files', '--platform', 'linux/amd64', `${repo}:1.0`]);
        step('7. Tags, and which tags point at a digest');
        await run(['tags', repo]);
        await run(['tags', repo, '--digest', indexDigest]);

        const examples = join(work, 'manifests');
        await renderExamples(examples, host);
        const shown = 'manifests';
        step('8. Enforce: which workloads in examples/ run images without a digest (exit 1 = findings)');
        await run(['check', '-f', shown]);
        step('9. Pin: rewrite tags to name:tag@digest in place, printing the diff');
        await run(['pin', '-f', shown, '--write', '--diff']);
        step('10. Check again: clean');
        await run(['check', '-f', shown]);
        say('');
        say('Next: README.md has every command with its options; `imgdigest --help` lists them.');
        say(
          'Try it on your own registry: imgdigest digest --platform linux/arm64 docker.io/library/alpine:latest',
        );
        say('');
        say('Explore the same images in your browser (a local web UI):');
        say('  imgdigest registry serve --demo            # the demo registry on localhost:5000');
        say('  imgdigest explore localhost:5000/sample/app:1.0   # prints the URL to open');
        if (flags.keep) {
          say(`registry still running at ${registry.url}; Ctrl-C to stop`);
          say(`  in another terminal: imgdigest explore ${repo}:1.0`);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
          });
        }
      } finally {
        await registry.close();
        await rm(work, { recursive: true, force: true });
      }
    });
}
