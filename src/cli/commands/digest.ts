/**
 * @module cli/commands/digest
 * `imgdigest digest REF`: the digest behind a tag, without pulling the image. Several references,
 * `-` or `--from-file` make it a batch (digest-batch.ts).
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { platformJson } from '../json.js';
import { addRegistryOptions, type RegistryFlags, refuseStdinConflict } from '../options.js';
import { withSource } from '../source.js';

interface DigestFlags extends RegistryFlags {
  platform?: string;
  fullRef?: boolean;
  json?: boolean;
  file?: string;
  algorithm: string;
  imageId?: boolean;
  fromFile?: string;
  concurrency: string;
}

export function registerDigest(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('digest')
    .description('print the digest a reference names (the index for a multi-platform tag), without pulling')
    .argument(
      '[reference...]',
      'registry reference, oci:DIR[:TAG], docker-archive:FILE[:REF] or docker-daemon:NAME[:TAG]; several registry references, or - for one per line on stdin, make a batch',
    )
    .option(
      '-p, --platform <os/arch[/variant]>',
      "print the digest of this platform's manifest instead of the index",
    )
    .option('--full-ref', 'print REPOSITORY@DIGEST instead of the digest alone')
    .option('--json', 'print {reference, digest, kind, mediaType, size, platform, index} as JSON')
    .option('--file <path>', 'digest the bytes of a local file instead (- for stdin)')
    .option('--algorithm <name>', 'with --file: sha256 or sha512', 'sha256')
    .option('--image-id', 'for docker-daemon: and docker-archive: print the image ID (config digest)')
    .option('--from-file <file>', 'resolve the registry references in FILE, one per line (- for stdin)')
    .option('--concurrency <n>', 'several references: lookups in flight at once, per registry', '8');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
One HEAD request resolves a tag (a GET only when the registry sends no Docker-Content-Digest).
With --platform, one GET of the index: the best match is chosen (containerd rules; attestations are
never chosen) and its digest, media type and size are taken from the index entry, so the platform
manifest is not fetched (an index whose children a mirror never copied still answers; only a nested
index on the way is fetched). The exit code is 3 when no child matches, and the message lists what
the index offers.

Several references (arguments, - for one per line on stdin, --from-file FILE; blank lines and
# comments are skipped) are resolved in one process over shared connections, --concurrency at a
time per registry. One line per reference in input order, "REF DIGEST" (with --full-ref "REF
REPOSITORY@DIGEST"), to a pipe or a file in blocks (at most 50 ms late); --json prints one array. A reference that fails is one line on stderr, the
others still resolve, and the exit code is 3. A list with an unreadable reference resolves
nothing (exit 2).

Examples:
  $ imgdigest digest localhost:5000/sample/app:1.0
  sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16
  $ imgdigest digest --platform linux/arm64 --full-ref localhost:5000/sample/app:1.0
  localhost:5000/sample/app@sha256:904d9d968f2b5c9fa524d14936ebb8fd7a74345d3cc627829a47ef736fbf7dfa
  $ imgdigest digest --file manifest.json
  $ imgdigest digest --from-file images.txt`,
  );
  cmd.action(async (inputs: string[], flags: DigestFlags) => {
    // Several references, `-` or --from-file: a batch (loaded only then, to keep one lookup fast).
    if (inputs.length > 1 || inputs.includes('-') || flags.fromFile !== undefined) {
      if (flags.file !== undefined || flags.imageId) {
        throw new ImgdigestError('USAGE', '--file and --image-id take one source, not several references');
      }
      const { runDigestBatch } = await import('./digest-batch.js');
      await runDigestBatch(inputs, flags, ctx);
      return;
    }
    const input = inputs[0];
    if (flags.file !== undefined) {
      if (input !== undefined)
        throw new ImgdigestError('USAGE', 'give either a reference or --file, not both');
      if (flags.file === '-') refuseStdinConflict(flags, '--file -');
      const { digestFile } = await import('../../sources/local/local-file.js');
      const { digest, size } = await digestFile(flags.file, flags.algorithm, ctx.io.stdin);
      if (flags.json) ctx.json({ digest, size, file: flags.file });
      else ctx.out(digest);
      return;
    }
    if (input === undefined) throw new ImgdigestError('USAGE', 'missing reference (or --file PATH)');
    await withSource(input, flags, ctx, async (source, spec) => {
      if (flags.imageId) {
        const imageId = source.facts ? (await source.facts()).imageId : undefined;
        if (!imageId)
          throw new ImgdigestError(
            'USAGE',
            `--image-id: ${source.name} has no image ID (only local engines and archives do)`,
          );
        ctx.out(imageId);
        return;
      }
      if (source.facts && !ctx.globals().quiet) {
        for (const note of (await source.facts()).notes ?? []) ctx.err(`note: ${note}`);
      }
      const { resolveDigest } = await import('../../sources/image.js');
      const answer = await resolveDigest(
        source,
        flags.platform === undefined ? {} : { platform: flags.platform },
      );
      if (flags.json) {
        ctx.json({
          reference: input,
          digest: answer.digest,
          kind: answer.kind,
          mediaType: answer.mediaType,
          size: answer.size,
          platform: platformJson(answer.platform),
          index: answer.index ?? null,
        });
        return;
      }
      if (flags.fullRef) {
        if (spec.transport !== 'registry') {
          throw new ImgdigestError('USAGE', '--full-ref needs a registry reference');
        }
        ctx.out(`${spec.reference.repository}@${answer.digest}`);
      } else ctx.out(answer.digest);
    });
  });
}
