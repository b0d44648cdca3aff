/**
 * @module cli/commands/config
 * `imgdigest config REF`: the image config blob, verified against its digest.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';

interface ConfigFlags extends RegistryFlags {
  platform?: string;
  pretty?: boolean;
}

export function registerConfig(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('config')
    .description('print the image config blob (verified against its digest)')
    .argument('<reference>', 'registry reference or oci:/docker-archive:/docker-daemon: source')
    .option(
      '-p, --platform <os/arch[/variant]>',
      'for an index: the platform whose config to print (required)',
    )
    .option('--pretty', 'indent the JSON');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
For a multi-platform index, --platform is required: a config belongs to one platform's image.

Example:
  $ imgdigest config --platform linux/amd64 --pretty localhost:5000/sample/app:1.0`,
  );
  cmd.action(async (input: string, flags: ConfigFlags) => {
    await withSource(input, flags, ctx, async (source) => {
      const { imageConfig } = await import('../../sources/image.js');
      const { raw } = await imageConfig(
        source,
        flags.platform === undefined ? {} : { platform: flags.platform },
      );
      if (flags.pretty) ctx.out(JSON.stringify(JSON.parse(Buffer.from(raw).toString('utf8')), null, 2));
      else ctx.io.stdout.write(Buffer.from(raw));
    });
  });
}
