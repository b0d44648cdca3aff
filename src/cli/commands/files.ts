/**
 * @module cli/commands/files
 * `imgdigest files REF`: the files in an image's layers (in order), or in one layer
 * (`REF@LAYERDIGEST`), listed as `tar --list` prints them while the blobs stream past.
 */
import type { Command } from 'commander';
import type { Digest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import { jsonText } from '../../core/terminal-text.js';
import type { BlobReader, ImageSource } from '../../sources/source.js';
import type { CliContext } from '../context.js';
import { wholeNumber } from '../flags.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';

interface FilesFlags extends RegistryFlags {
  platform?: string;
  long?: boolean;
  json?: boolean;
  verifyFirst?: boolean;
  zstdWindowLimit: string;
}

export function registerFiles(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('files')
    .description('list the files in the layers of an image (or in one layer: REF@LAYERDIGEST)')
    .argument('<reference>', 'an image reference, or REPOSITORY@LAYERDIGEST for one layer')
    .option('-p, --platform <os/arch[/variant]>', 'for an index: the platform whose layers to list')
    .option('-l, --long', 'print mode, owner, size and time as tar --list --verbose does')
    .option('--json', 'print one JSON object per entry (JSON lines), with its layer digest')
    .option(
      '--verify-first',
      'download each layer to a temporary file and check its digest before listing it (disk space: the layer)',
    )
    .option(
      '--zstd-window-limit <MiB>',
      'refuse zstd layers declaring a larger window (memory the decoder would need)',
      '128',
    );
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Layers are listed in order, each introduced by a "# layer N DIGEST" line on stderr.
gzip, zstd and uncompressed layers are read as they stream; nothing is written to disk
(except with --verify-first: a temporary copy of one layer at a time, removed at once).
Entries are printed as the bytes arrive, before the layer's digest is checked at its end: when the
check (or the download, or the archive) fails, the last line on stderr says how many printed
entries were not verified, and the exit code is 3. --verify-first prints only verified layers.
Names are quoted as tar --list quotes them (control characters as \\n, \\033, ...).
zstd layers declaring a window above --zstd-window-limit (128 MiB, as zstd -d without --long) are
refused before any memory is spent on them.

Examples:
  $ imgdigest files --platform linux/amd64 localhost:5000/sample/app:1.0
  $ imgdigest files -l localhost:5000/sample/app@sha256:430b094dfaaf59e777a6bf23298f9a222937256c94ebc53237fd857f158bcf21`,
  );
  cmd.action(async (input: string, flags: FilesFlags) => {
    const maxZstdWindow = wholeNumber(flags.zstdWindowLimit, '--zstd-window-limit', 1, 2048) * 1024 * 1024;
    await withSource(
      input,
      flags,
      ctx,
      async (source, spec) => {
        const { walkLayer, formatEntry } = await import('../../sources/layers/layer-files.js');
        const { imageManifest } = await import('../../sources/image.js');
        const digest = spec.transport === 'registry' ? spec.reference.digest : null;
        // REPO@DIGEST may name a manifest or a layer. Ask for the blob: a layer streams as gzip, zstd
        // or tar; JSON means a manifest (registries serve those from the blob store too), and a
        // registry that does not answers 404, so the manifest path is tried next.
        const single = digest ? await layerByDigest(source, digest) : null;
        let layers: Array<{ digest: Digest; mediaType: string; size?: number; reader?: BlobReader }>;
        if (digest && single) {
          layers = [{ digest, mediaType: 'sniff', reader: single }];
        } else {
          const chosen = await imageManifest(
            source,
            flags.platform === undefined ? {} : { platform: flags.platform },
          );
          layers = chosen.manifest.value.layers;
        }
        if (layers.length === 0) throw new ImgdigestError('INPUT_INVALID', `${input} has no layers`);
        let n = 0;
        for (const layer of layers) {
          n++;
          if (!flags.json && layers.length > 1) ctx.err(`# layer ${n} ${layer.digest}`);
          const reader =
            layer.reader ?? (await source.blob(layer.size === undefined ? { digest: layer.digest } : layer));
          // A BlobReader's stream ends only after its digest verified: 'end' is the verification.
          let verified = false;
          reader.stream.once('end', () => {
            verified = true;
          });
          let printed = 0;
          try {
            await walkLayer(
              reader.stream,
              layer.mediaType,
              (entry) => {
                printed++;
                if (flags.json) ctx.io.stdout.write(`${jsonText({ layer: layer.digest, ...entry })}\n`);
                else ctx.io.stdout.write(`${formatEntry(entry, flags.long)}\n`);
              },
              {
                what: `layer ${layer.digest}`,
                maxZstdWindow,
                ...(flags.verifyFirst ? { verifyFirst: true } : {}),
              },
            );
          } catch (e) {
            throw unverifiedListing(e, printed > 0 && !verified ? printed : 0);
          }
        }
        // Layers may be large: undici reads them in large pieces (dispatcher.ts).
      },
      'undici',
    );
  });
}

/**
 * The walk's error, saying in the same one line that the `printed` entries listed before the
 * failure came from bytes that never verified (0: nothing to say).
 */
function unverifiedListing(e: unknown, printed: number): unknown {
  if (isImgdigestError(e) && typeof e.details.windowSize !== 'undefined' && printed === 0) {
    return new ImgdigestError(e.code, `${e.message}; --zstd-window-limit raises the limit`, {
      cause: e,
      details: e.details,
    });
  }
  if (printed === 0 || !isImgdigestError(e)) return e;
  const what = printed === 1 ? 'the 1 entry' : `the ${printed} entries`;
  return new ImgdigestError(
    e.code,
    `${e.message}; ${what} listed above from this layer did not verify (--verify-first lists only verified layers)`,
    { cause: e, details: { ...e.details, unverifiedEntries: printed } },
  );
}

/** The blob `digest` as a layer stream, or null when it is a manifest (JSON) or not a blob at all. */
async function layerByDigest(source: ImageSource, digest: Digest): Promise<BlobReader | null> {
  let reader: BlobReader;
  try {
    reader = await source.blob({ digest });
  } catch (e) {
    if (isImgdigestError(e) && e.code === 'NOT_FOUND') return null;
    throw e;
  }
  const { peek } = await import('../../sources/layers/compression.js');
  const first = await peek(reader.stream, 1);
  if (first.length === 0 || first[0] === 0x7b /* { */) {
    reader.stream.destroy();
    return null;
  }
  return reader;
}
