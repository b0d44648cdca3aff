/**
 * @module cli/commands/outdated
 * `imgdigest outdated -f PATH...`: list `name:tag@digest` images whose tag now points elsewhere.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
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
  write?: boolean;
  lockFile?: string;
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
    .option(
      '-w, --write',
      'replace each outdated digest in place (only the digest changes; all files or none, as pin --write)',
    )
    .option('--lock-file <file>', 'with --write: record the new resolutions in this ImageLock file')
    .option('--concurrency <n>', 'lookups in flight at once, per registry', '8');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Output lines are FILE:LINE: TAG moved OLD -> NEW. Images pinned without a tag are counted
but cannot be compared. With --write the new digests are written (exit 0 once written; a failed
lookup writes nothing, exit 3); \`pin --update\` does the same and also pins unpinned images.

Examples:
  $ imgdigest outdated -f deploy/
  deploy/web.yaml:22: localhost:5000/sample/app:1.0 moved sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16 -> sha256:f8956dd9ac6fd1aeba2cf9f499b515b9b58b19c4a5e309fe09ab5467cccad27a
  $ imgdigest outdated -f deploy/ --json | jq '.outdated[].image'
  $ imgdigest outdated -f deploy/ --write --lock-file images.lock`,
  );
  cmd.action(async (flags: OutdatedFlags) => {
    const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1);
    const paths = pathsFromOptions(flags);
    if (paths.includes('-')) refuseStdinConflict(flags, '-f -');
    const rules = await rulesFromOptions(flags);
    if (flags.lockFile && !flags.write) throw new ImgdigestError('USAGE', '--lock-file needs --write');
    const { files, roots } = await readManifests(ctx, paths, { followSymlinks: flags.followSymlinks });
    const { findOutdated } = await import('../../k8s/outdated.js');
    const { formatSite } = await import('../../k8s/sites.js');
    const { openResolver } = await import('../../resolver/open.js');
    const resolver = await openResolver(await resolverOptions({ ...flags, concurrency }, ctx));
    let result: Awaited<ReturnType<typeof findOutdated>>;
    try {
      if (flags.write) {
        const { pinFiles } = await import('../../k8s/pin.js');
        const pinned = await pinFiles(files, { rules, resolver, update: 'only-update' });
        result = outdatedOf(pinned);
        if (result.failures.length === 0) {
          const { writePinResult } = await import('../pin-write.js');
          await writePinResult(ctx, pinned, { ...flags, roots });
        }
      } else result = await findOutdated(files, { rules, resolver });
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
      const written = flags.write && result.failures.length === 0 ? ', updated' : '';
      ctx.err(
        `${result.outdated.length} of ${result.checked} pinned image(s) outdated${written}${result.untagged ? `, ${result.untagged} pinned without a tag` : ''}`,
      );
    }
    if (result.failures.length > 0) {
      if (flags.write) {
        throw new ImgdigestError(
          'REGISTRY_ERROR',
          `${result.failures.length} tag(s) could not be resolved, nothing written`,
        );
      }
      ctx.setExitCode(3);
    } else if (result.outdated.length > 0 && !flags.write) ctx.setExitCode(1);
  });
}

type PinResult = Awaited<ReturnType<typeof import('../../k8s/pin.js').pinFiles>>;
type OutdatedResult = Awaited<ReturnType<typeof import('../../k8s/outdated.js').findOutdated>>;

/** An update-only pin run told as `outdated` tells it. */
function outdatedOf(result: PinResult): OutdatedResult {
  return {
    outdated: result.changes.map((c) => ({
      file: c.file,
      line: c.line,
      column: c.column,
      object: c.object,
      fieldPath: c.fieldPath,
      image: c.image,
      tag: c.image.slice(0, c.image.lastIndexOf('@')),
      pinned: c.previous!,
      current: c.digest,
    })),
    checked: result.pinned.checked,
    untagged: result.pinned.untagged,
    failures: result.failures.map((f) => ({ file: f.file, line: f.line, image: f.image, reason: f.reason })),
  };
}
