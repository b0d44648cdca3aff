/**
 * @module cli/commands/version
 * `imgdigest version`: what is running, for bug reports and scripts: the imgdigest version, the
 * commit it was built from when known, Node's version and the platform.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description(
      'print the version of imgdigest, its commit, Node and the platform (--version: the version alone)',
    )
    .option('--json', 'print {version, commit, node, platform: {os, architecture, variant?}} as JSON')
    .addHelpText(
      'after',
      `
commit is the git commit the CLI was built from (npm run build in a git checkout), with -dirty when
files had uncommitted changes; null when unknown. platform is the machine's, in the names images
use (amd64, not x64).

Examples:
  $ imgdigest version
  $ imgdigest version --json | jq -r .node`,
    )
    .action(async (flags: { json?: boolean }) => {
      const { buildCommit, packageVersion } = await import('../version.js');
      const { formatPlatform, hostPlatform } = await import('../../core/platform.js');
      const platform = hostPlatform();
      const facts = {
        version: packageVersion(),
        commit: buildCommit(),
        node: process.version,
        platform,
      };
      if (flags.json) {
        ctx.json(facts);
        return;
      }
      ctx.out(
        [
          `imgdigest ${facts.version}`,
          `commit    ${facts.commit ?? 'unknown'}`,
          `node      ${facts.node}`,
          `platform  ${formatPlatform(platform)}`,
        ].join('\n'),
      );
    });
}
