/**
 * @module cli/commands/copy
 * `imgdigest copy SRC DST`: an image from any source to a registry, an OCI layout or a docker
 * archive, digests kept (crane copy, skopeo copy, regctl image copy). Prints `DST@DIGEST`.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CopyItem, CopyResult } from '../../sources/copy/index.js';
import type { CliContext } from '../context.js';
import { addCopyOptions, type CopyFlags, copyKit, copyProgress, copySummary } from '../copying.js';
import { collect } from '../flags.js';
import { addRegistryOptions } from '../options.js';
import { humanSize, table } from '../table.js';

interface CopyCommandFlags extends CopyFlags {
  all?: boolean;
  platform?: string[];
  referrers?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerCopy(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('copy')
    .description('copy an image or index to a registry, an OCI layout or a docker archive, digests kept')
    .argument(
      '<source>',
      'registry reference, oci:DIR[:TAG], docker-archive:FILE[:REF] or docker-daemon:NAME',
    )
    .argument(
      '<destination>',
      'registry reference (REPO[:TAG]), oci:DIR[:TAG] or docker-archive:FILE[:NAME[:TAG]] (one platform)',
    )
    .option('--all', 'every platform and the index itself (the default, said explicitly)')
    .option(
      '-p, --platform <os/arch[/variant]>',
      'only these platforms (repeatable or comma-separated): one gives its manifest, several a new index',
      collect,
    )
    .option('--referrers', 'copy the referrers too (signatures, SBOMs, attestations), recursively')
    .option('--dry-run', 'write nothing; list every blob and manifest with what would happen to it')
    .option('--json', 'print a JSON record of the copy');
  addCopyOptions(cmd);
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
What the source names is copied whole by default (an index with every platform, its digest kept):
blobs first, skipped when the destination has them and mounted from the source repository when
both are one registry, then manifests, the tag last. Every blob and manifest is verified against
its digest while it streams. Without a tag, the destination takes the source's.

--platform P copies that platform's manifest (the destination names its digest, as skopeo and crane
do); several make a new index of just those platforms, whose digest differs from the source's.

docker-archive:FILE[:NAME[:TAG]] writes what \`docker load\` and \`podman load\` read (the OCI layout
Docker 25 writes, plus manifest.json), the image tagged NAME:TAG if given. An archive holds one
platform's image: from an index, --platform chooses it (default: this machine's platform). FILE is
replaced only when the whole archive is written. The archive is an uncompressed tar, as docker save
writes it: a FILE named .gz, .tgz, .bz2, .xz or .zst is refused (compress it afterwards).

Run again after an interruption: what landed is skipped, and a blob cut in the middle of a chunked
upload resumes where the registry says it stopped (kept in $XDG_CACHE_HOME/imgdigest/uploads).

Examples:
  $ imgdigest copy localhost:5000/sample/app:1.0 localhost:5000/mirror/app
  localhost:5000/mirror/app:1.0@sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16
  $ imgdigest copy --platform linux/arm64 localhost:5000/sample/app:1.0 oci:layout:arm64
  oci:layout:arm64@sha256:904d9d968f2b5c9fa524d14936ebb8fd7a74345d3cc627829a47ef736fbf7dfa
  $ imgdigest copy --dry-run localhost:5000/sample/app:1.0 localhost:5000/mirror/app:1.0
  $ imgdigest copy docker-archive:app.tar localhost:5000/imported/app:single
  $ imgdigest copy --platform linux/arm64 localhost:5000/sample/app:1.0 docker-archive:app-arm64.tar:sample/app:1.0`,
  );
  cmd.action(async (sourceInput: string, destinationInput: string, flags: CopyCommandFlags) => {
    const platforms = (flags.platform ?? [])
      .flatMap((p) => p.split(','))
      .map((p) => p.trim())
      .filter(Boolean);
    if (flags.all && platforms.length > 0) {
      throw new ImgdigestError('USAGE', '--all copies every platform; it cannot be combined with --platform');
    }
    const { formatPlatform, hostPlatform, parsePlatform } = await import('../../core/platform.js');
    const { isIndexMediaType } = await import('../../core/media-types.js');
    for (const p of platforms) parsePlatform(p);
    const {
      archiveDestination,
      archiveRepoTag,
      checkArchivePath,
      layoutDestination,
      parseCopyDestination,
      registryDestination,
    } = await import('../../sources/copy/index.js');
    const { localPath } = await import('../../sources/open.js');
    const spec = parseCopyDestination(destinationInput);
    // Relative destination paths are the caller's folder's (ctx.io.cwd), as source paths are.
    if (spec.transport !== 'registry') spec.path = localPath(spec.path, ctx.io.cwd);
    if (spec.transport === 'docker-archive') {
      // Refused now, before anything is read.
      checkArchivePath(spec.path);
      if (spec.ref !== undefined) archiveRepoTag(spec.ref);
      if (flags.all || platforms.length > 1) {
        throw new ImgdigestError(
          'USAGE',
          `${destinationInput}: a docker archive holds one platform's image; give at most one --platform`,
        );
      }
      if (flags.referrers) {
        throw new ImgdigestError(
          'USAGE',
          `${destinationInput}: a docker archive holds images, not referrers; --referrers needs a registry or an OCI layout`,
        );
      }
    }
    const kit = await copyKit(flags, ctx);
    const progress = copyProgress(ctx, 'copying');
    try {
      const source = await kit.openSource(sourceInput);
      try {
        if (spec.transport === 'docker-archive' && platforms.length === 0) {
          // An index cannot be loaded: this machine's platform, as skopeo and docker pull choose.
          const top = await source.head();
          if (isIndexMediaType(top.mediaType)) {
            const host = formatPlatform(hostPlatform());
            platforms.push(host);
            if (!ctx.globals().quiet)
              ctx.err(
                `imgdigest: note: ${sourceInput} is an index; the archive holds its ${host} image (--platform chooses)`,
              );
          }
        }
        const archive =
          spec.transport === 'docker-archive' ? await archiveDestination(spec.path, spec.ref) : undefined;
        const destination =
          archive ??
          (spec.transport === 'registry'
            ? registryDestination(kit.client, spec.reference, kit.upload)
            : await layoutDestination(spec.path, spec.transport === 'oci' ? spec.tag : undefined));
        try {
          const result = await kit.copier.copy(source, destination, {
            platforms,
            referrers: flags.referrers,
            dryRun: flags.dryRun,
            onEvent: progress.onEvent,
          });
          progress.finish();
          report(ctx, flags, result);
        } finally {
          // Its staging folder goes whatever happened (a dry run or a failure leaves FILE untouched).
          await archive?.discard();
        }
      } finally {
        await source.close?.();
      }
    } finally {
      progress.finish();
      await kit.close();
    }
  });
}

function report(ctx: CliContext, flags: CopyCommandFlags, result: CopyResult): void {
  const quiet = ctx.globals().quiet;
  if (!quiet) for (const note of result.notes) ctx.err(`imgdigest: note: ${note}`);
  if (flags.json) {
    const { items, ...rest } = result;
    ctx.json(flags.dryRun ? { ...rest, items } : rest);
  } else if (flags.dryRun) {
    ctx.out(itemTable(result.items));
  } else ctx.out(result.destination);
  if (!quiet) {
    const dry = flags.dryRun === true;
    ctx.err(`${dry ? `dry run, would write ${result.destination}: ` : ''}${copySummary([result], dry)}`);
  }
}

/** The dry run's table: one row per blob and manifest, in the order they would be written. */
export function itemTable(items: readonly CopyItem[]): string {
  const rows = items.map((i) => [i.action, i.kind, i.digest, humanSize(i.size), i.note ?? '']);
  return table(['ACTION', 'KIND', 'DIGEST', 'SIZE', 'NOTE'], rows);
}
