/**
 * @module cli/commands/manifest
 * `imgdigest manifest REF`: the manifest or index exactly as served, so that
 * `imgdigest manifest X | sha256sum` equals `imgdigest digest X`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';

interface ManifestFlags extends RegistryFlags {
  platform?: string;
  pretty?: boolean;
}

export function registerManifest(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('manifest')
    .description('print the raw manifest or index bytes exactly as served')
    .argument('<reference>', 'registry reference or oci:/docker-archive:/docker-daemon: source')
    .option('-p, --platform <os/arch[/variant]>', "print the chosen platform's manifest instead of the index")
    .option('--pretty', 'indent the JSON (the bytes then no longer match the digest)');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
With --platform, two GETs: the index, then the chosen platform's manifest (its bytes, verified
against the digest the index lists). For the digest alone, "imgdigest digest --platform" needs only
the index.

Examples:
  $ imgdigest manifest localhost:5000/sample/app:1.0 | sha256sum
  $ imgdigest manifest --platform linux/arm64 --pretty localhost:5000/sample/app:1.0`,
  );
  cmd.action(async (input: string, flags: ManifestFlags) => {
    await withSource(input, flags, ctx, async (source) => {
      const { imageManifest } = await import('../../sources/image.js');
      const m =
        flags.platform === undefined
          ? await source.manifest()
          : (await imageManifest(source, { platform: flags.platform })).manifest;
      if (flags.pretty) {
        ctx.out(JSON.stringify(JSON.parse(Buffer.from(m.raw).toString('utf8')), null, 2));
      } else {
        ctx.io.stdout.write(Buffer.from(m.raw));
      }
    });
  });
}
