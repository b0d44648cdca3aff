/**
 * @module cli/commands/mirror
 * `imgdigest mirror FILE`: keep the destinations of an ImageMirror file in step with their sources
 * (skopeo sync, regsync), idempotently: a tag the destination already has at the source's digest
 * is left alone, so a second run sends nothing. The file is read here (YAML, with the line of every
 * value for messages); the engine is sources/copy/mirror.ts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { MirrorOutcome } from '../../sources/copy/index.js';
import type { CliContext } from '../context.js';
import { addCopyOptions, type CopyFlags, copyKit, copyProgress, copySummary } from '../copying.js';
import { addRegistryOptions } from '../options.js';
import { table } from '../table.js';

interface MirrorFlags extends CopyFlags {
  all?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerMirror(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('mirror')
    .description(
      'copy the images an ImageMirror file lists (repositories, tag patterns) and skip what is there',
    )
    .argument('<file>', 'an ImageMirror file (YAML or JSON), or - for stdin')
    .option('--all', 'copy every platform of every entry, whatever its platforms: say')
    .option('--dry-run', 'write nothing; say what would be copied')
    .option('--json', 'print a JSON record of every tag instead of the table');
  addCopyOptions(cmd);
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
The file:
  apiVersion: imgdigest.dev/v1alpha1
  kind: ImageMirror
  defaults:                            # optional, for every entry
    platforms: [linux/amd64]           # default: every platform, digests kept
  mirrors:
    - from: registry.example/team/app  # a repository: its tags (or one tag, digest, oci:DIR[:TAG])
      to: mirror.example/team/app      # a registry repository, or oci:DIR
      tags: ["1.*", latest]            # globs (* ? [a-z], as Go's path.Match); default: every tag
      tagRegex: '1\\.[0-9]+'            # or a regular expression (JavaScript), matching the whole tag
      exclude: ["*-rc*"]               # globs taken out again
      referrers: true                  # signatures, SBOMs, attestations too

For each tag: one HEAD at the source and one at the destination; when the digests agree the tag is
left alone (unchanged), else its blobs and manifests are copied as copy does (what the destination
has is skipped). A second run sends nothing. Tags deleted at the source are not deleted. A tag that
fails is listed and the run goes on; the exit code is then 3. A bad file is one line, FILE:LINE:
FIELD: what is wrong (exit 2), before anything is copied.

Examples:
  $ imgdigest mirror mirror.yaml
  $ imgdigest mirror --dry-run mirror.yaml
  $ imgdigest mirror --all --json mirror.yaml`,
  );
  cmd.action(async (file: string, flags: MirrorFlags) => {
    const config = await (await import('../mirror-file.js')).readMirrorFile(ctx, file);
    const { layoutDestination, OciLayoutWriter, parseDestination, registryDestination, runMirror } =
      await import('../../sources/copy/index.js');
    const { localPath } = await import('../../sources/open.js');
    // One writer per layout: the tags copied into it at once share its index.json.
    const layouts = new Map<string, ReturnType<typeof OciLayoutWriter.open>>();
    const layout = (dir: string) => {
      const key = resolve(dir);
      if (!layouts.has(key)) layouts.set(key, OciLayoutWriter.open(dir));
      return layouts.get(key)!;
    };
    const kit = await copyKit(flags, ctx);
    const progress = copyProgress(ctx, 'mirroring');
    let outcomes: MirrorOutcome[];
    try {
      outcomes = await runMirror(config, {
        copier: kit.copier,
        openSource: (input) => kit.openSource(input),
        async openDestination(to, tag) {
          const spec = parseDestination(to);
          if (spec.transport === 'oci')
            return layoutDestination(await layout(localPath(spec.path, ctx.io.cwd)), spec.tag ?? tag);
          const ref = spec.reference.tag || !tag ? spec.reference : spec.reference.withTag(tag);
          return registryDestination(kit.client, ref, kit.upload);
        },
        concurrency: kit.concurrency,
        allPlatforms: flags.all,
        dryRun: flags.dryRun,
        onEvent: progress.onEvent,
      });
    } finally {
      progress.finish();
      await kit.close();
    }
    report(ctx, flags, outcomes);
  });
}

function report(ctx: CliContext, flags: MirrorFlags, outcomes: readonly MirrorOutcome[]): void {
  const dry = flags.dryRun === true;
  const failed = outcomes.filter((o) => o.status === 'failed');
  const copied = outcomes.filter((o) => o.status === 'copied');
  if (flags.json) {
    ctx.json({
      dryRun: dry,
      tags: outcomes.map(({ result, ...o }) => ({
        ...o,
        ...(result ? { blobs: result.blobs, manifests: result.manifests, referrers: result.referrers } : {}),
      })),
    });
  } else if (outcomes.length > 0) {
    const status = (o: MirrorOutcome) => (dry && o.status === 'copied' ? 'copy' : o.status);
    const rows = outcomes.map((o) => [status(o), o.source, o.destination ?? '-']);
    ctx.out(table(['STATUS', 'SOURCE', 'DESTINATION'], rows));
  }
  const quiet = ctx.globals().quiet;
  for (const o of failed) ctx.err(`imgdigest: ${o.source}: ${o.error}`);
  if (!quiet) {
    const results = outcomes.flatMap((o) => (o.result ? [o.result] : []));
    const unchanged = outcomes.length - copied.length - failed.length;
    const sent = results.length > 0 ? `; ${copySummary(results, dry)}` : '';
    ctx.err(
      `${dry ? 'dry run: ' : ''}${copied.length} ${dry ? 'to copy' : 'copied'}, ${unchanged} unchanged, ` +
        `${failed.length} failed${sent}`,
    );
  }
  if (failed.length > 0) {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `${failed.length} of ${outcomes.length} could not be mirrored (listed above)`,
    );
  }
}
