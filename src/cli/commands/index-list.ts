/**
 * @module cli/commands/index-list
 * `imgdigest index REF`: the children of a multi-platform index as a table, attestations marked,
 * followed by the referrers of the index when the source knows them.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import { escapeText } from '../../core/terminal-text.js';
import type { CliContext } from '../context.js';
import { platformJson } from '../json.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';
import { table } from '../table.js';

interface IndexFlags extends RegistryFlags {
  json?: boolean;
  referrers: boolean;
}

export function registerIndex(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('index')
    .description('list the platforms of a multi-platform index: platform, digest, media type, size')
    .argument('<reference>', 'registry reference or oci:/docker-archive:/docker-daemon: source')
    .option('--json', 'print {reference, digest, mediaType, manifests: [...], referrers: [...]} as JSON')
    .option('--no-referrers', 'do not look up OCI referrers (signatures, SBOMs) of the index');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Example:
  $ imgdigest index localhost:5000/sample/app:1.0
  PLATFORM         DIGEST                                                                   MEDIA TYPE                                  SIZE  NOTE
  linux/amd64      sha256:e889e8f03e8b8b23332712d0f352cc97844df01ba7f31b234354409882674430  application/vnd.oci.image.manifest.v1+json  555
  linux/arm64      sha256:904d9d968f2b5c9fa524d14936ebb8fd7a74345d3cc627829a47ef736fbf7dfa  application/vnd.oci.image.manifest.v1+json  555
  linux/arm/v7     sha256:67b5406397a1d7c2bc99933b7d79ea63beeb21c52c6542b604d1a499708eb852  application/vnd.oci.image.manifest.v1+json  555
  unknown/unknown  sha256:1d919e62403ab8674840715773b239d9cbcf367761d58b6738569430cd8d236d  application/vnd.oci.image.manifest.v1+json  386   attestation of sha256:e889e8f03e8b8b23332712d0f352cc97844df01ba7f31b234354409882674430`,
  );
  cmd.action(async (input: string, flags: IndexFlags) => {
    await withSource(input, flags, ctx, async (source) => {
      const { indexEntries } = await import('../../sources/image.js');
      const top = await source.manifest();
      if (top.kind !== 'index') {
        throw new ImgdigestError(
          'INPUT_INVALID',
          `${input} is a single-platform image manifest (${top.mediaType}), not an index; use "imgdigest inspect"`,
        );
      }
      const entries = indexEntries(top);
      const referrers =
        flags.referrers && source.referrers ? await source.referrers(top.digest).catch(() => []) : [];
      if (flags.json) {
        ctx.json({
          reference: input,
          digest: top.digest,
          mediaType: top.mediaType,
          manifests: entries.map((e) => ({ ...e, platform: platformJson(e.platform) })),
          referrers,
        });
        return;
      }
      const rows = entries.map((e) => [
        e.platform ?? '-',
        e.digest,
        e.mediaType,
        String(e.size),
        e.attestation ? `attestation${e.attests ? ` of ${e.attests}` : ''}` : '',
      ]);
      ctx.out(table(['PLATFORM', 'DIGEST', 'MEDIA TYPE', 'SIZE', 'NOTE'], rows));
      for (const r of referrers) {
        ctx.out(`referrer ${r.digest} ${escapeText(r.artifactType ?? r.mediaType)}`);
      }
    });
  });
}
