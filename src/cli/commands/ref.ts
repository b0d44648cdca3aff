/**
 * @module cli/commands/ref
 * `imgdigest ref REF`: parse a reference and print its canonical form (or all its parts).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerRef(program: Command, ctx: CliContext): void {
  program
    .command('ref')
    .description('parse an image reference and print its canonical form')
    .argument('<reference>', 'an image reference, e.g. nginx:1.27 or ghcr.io/org/app:v1@sha256:...')
    .option('--json', 'print {reference, input, canonical, familiar, domain, path, tag, digest}', false)
    .option('--familiar', 'print the short form Docker shows (nginx:1.27)', false)
    .option('--host', 'print the registry host to connect to (docker.io is registry-1.docker.io)', false)
    .addHelpText(
      'after',
      `
Examples:
  $ imgdigest ref nginx:1.27
  docker.io/library/nginx:1.27
  $ imgdigest ref --json gcr.io/google-containers/pause-amd64:3.2`,
    )
    .action(async (input: string, opts: { json: boolean; familiar: boolean; host: boolean }) => {
      const { parseReference } = await import('../../core/reference.js');
      const ref = parseReference(input);
      if (opts.json) ctx.json({ reference: input, ...ref.toJSON() });
      else if (opts.familiar) ctx.out(ref.familiar);
      else if (opts.host) ctx.out(ref.registryHost);
      else ctx.out(ref.canonical);
    });
}
