/**
 * @module cli/commands/outdated
 * `imgdigest outdated -f PATH...`: list `name:tag@digest` images whose tag now points elsewhere.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import {
  addFileOptions,
  addRuleOptions,
  type FileOptions,
  pathsFromOptions,
  type RuleOptions,
  readManifests,
  rulesFromOptions,
  wholeNumber,
} from '../flags.js';
import { addRegistryOptions, type RegistryFlags, refuseStdinConflict, resolverOptions } from '../options.js';

interface OutdatedFlags extends RuleOptions, FileOptions, RegistryFlags {
  json?: boolean;
  concurrency: string;
}

export function registerOutdated(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('outdated')
    .description(
      'report pinned images (name:tag@digest) whose tag has moved to another digest (exit 1 if any)',
    );
  addFileOptions(cmd);
  addRuleOptions(cmd)
    .option(
      '-p, --platform <os/arch[/variant]>',
      'compare with the platform manifest (when the manifests pin those)',
    )
    .option('--json', 'print {outdated, checked, untagged, failures} as JSON')
    .option('--concurrency <n>', 'lookups in flight at once, per registry', '8');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Output lines are FILE:LINE: TAG moved OLD -> NEW. Images pinned without a tag are counted
but cannot be compared.

Examples:
  $ imgdigest outdated -f deploy/
  deploy/web.yaml:22: localhost:5000/sample/app:1.0 moved sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16 -> sha256:f8956dd9ac6fd1aeba2cf9f499b515b9b58b19c4a5e309fe09ab5467cccad27a
  $ imgdigest outdated -f deploy/ --json | jq '.outdated[].image'`,
  );
  cmd.action(async (flags: OutdatedFlags) => {
    const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1);
    const paths = pathsFromOptions(flags);
    if (paths.includes('-')) refuseStdinConflict(flags, '-f -');
    const rules = await rulesFromOptions(flags);
    const files = await readManifests(ctx, paths);
    const { findOutdated } = await import('../../k8s/outdated.js');
    const { formatSite } = await import('../../k8s/sites.js');
    const { openResolver } = await import('../../resolver/open.js');
    const resolver = await openResolver(await resolverOptions({ ...flags, concurrency }, ctx));
    let result: Awaited<ReturnType<typeof findOutdated>>;
    try {
      result = await findOutdated(files, { rules, resolver });
    } finally {
      await resolver.close();
    }
    if (flags.json) ctx.json(result);
    else {
      for (const o of result.outdated)
        ctx.out(`${formatSite(o, 'file:line')}: ${o.tag} moved ${o.pinned} -> ${o.current}`);
      for (const f of result.failures) ctx.err(`${formatSite(f, 'file:line')}: ${f.image}: ${f.reason}`);
    }
    if (!ctx.globals().quiet) {
      ctx.err(
        `${result.outdated.length} of ${result.checked} pinned image(s) outdated${result.untagged ? `, ${result.untagged} pinned without a tag` : ''}`,
      );
    }
    if (result.outdated.length > 0) ctx.setExitCode(1);
    if (result.failures.length > 0) ctx.setExitCode(3);
  });
}
