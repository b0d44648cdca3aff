/**
 * @module cli/commands/index-list
 * `imgdigest index REF`: the children of a multi-platform index as a table, attestations marked,
 * followed by the referrers of the index when the source knows them.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
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
    .option('--json', 'print {digest, mediaType, manifests: [...], referrers: [...]} as JSON')
    .option('--no-referrers', 'do not look up OCI referrers (signatures, SBOMs) of the index');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Example:
  $ imgdigest index localhost:5000/sample/app:1.0
  PLATFORM      DIGEST             MEDIA TYPE                                    SIZE
  linux/amd64   sha256:1a2b...     application/vnd.oci.image.manifest.v1+json    1047
  ...
  unknown/unknown sha256:9f8e...   application/vnd.oci.image.manifest.v1+json    840  attestation of sha256:1a2b...`,
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
        ctx.json({ digest: top.digest, mediaType: top.mediaType, manifests: entries, referrers });
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
        ctx.out(`referrer ${r.digest} ${r.artifactType ?? r.mediaType}`);
      }
    });
  });
}
