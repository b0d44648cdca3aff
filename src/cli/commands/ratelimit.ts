/**
 * @module cli/commands/ratelimit
 * `imgdigest ratelimit REF`: Docker Hub's pull limit and what is left, from one HEAD request
 * (HEAD requests do not count as pulls).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';

interface RateFlags extends RegistryFlags {
  json?: boolean;
}

export function registerRatelimit(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('ratelimit')
    .description("show the registry's pull rate limit and remaining pulls (one HEAD; spends no pull)")
    .argument('<reference>', 'an image reference on the registry to ask, e.g. docker.io/library/alpine')
    .option(
      '--json',
      'print {reference, limit, remaining, windowSeconds, source} as JSON (null values when unlimited)',
    );
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ imgdigest ratelimit alpine
  limit 100 per 21600s, remaining 76
  $ imgdigest ratelimit localhost:5000/sample/app:1.0
  no rate limit reported by localhost:5000`,
  );
  cmd.action(async (input: string, flags: RateFlags) => {
    const { parseReference } = await import('../../core/reference.js');
    const { RegistryClient } = await import('../../sources/registry/index.js');
    const ref = parseReference(input);
    const client = new RegistryClient(await registryOptions(flags, ctx, 'node'));
    try {
      const rl = await client.rateLimit(ref);
      if (flags.json) {
        ctx.json({
          reference: input,
          ...(rl ?? { limit: null, remaining: null, windowSeconds: null, source: null }),
        });
      } else if (!rl) {
        ctx.out(`no rate limit reported by ${ref.domain}`);
      } else {
        const window = rl.windowSeconds ? ` per ${rl.windowSeconds}s` : '';
        ctx.out(`limit ${rl.limit ?? 'unknown'}${window}, remaining ${rl.remaining ?? 'unknown'}`);
      }
    } finally {
      await client.close?.();
    }
  });
}
