/**
 * @module cli/commands/blob
 * `imgdigest blob REPO@DIGEST`: one blob, streamed and verified. With `-o FILE` the blob is written
 * to a temporary file beside FILE and renamed only after it verified, so a mismatch leaves nothing.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';

/** Bytes of a blob that may wait for the output file's writes. */
const WRITE_BUFFER = 8 * 1024 * 1024;

interface BlobFlags extends RegistryFlags {
  output?: string;
  force?: boolean;
}

export function registerBlob(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('blob')
    .description('write one blob (layer, config) to stdout or a file, verified against its digest')
    .argument('<reference>', 'REPOSITORY@DIGEST (or oci:DIR@DIGEST-style sources with --digest)')
    .option('-o, --output <file>', 'write to FILE (atomically: nothing is left behind on a mismatch)')
    .option('--force', 'write to stdout even when it is a terminal');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
A blob is bytes (a compressed layer, mostly): written to a terminal it would garble the screen, so
blob refuses to write to one without -o or --force (exit 2); a pipe or a file gets the bytes.

Examples:
  $ imgdigest blob localhost:5000/sample/app@sha256:430b094dfaaf59e777a6bf23298f9a222937256c94ebc53237fd857f158bcf21 -o layer.tgz
  $ imgdigest blob localhost:5000/sample/app@sha256:ed0e6b3128404976d64a1a64e17db79d7465606ec4aefb595e3c5b6a7ef200d0 | tar -tz`,
  );
  cmd.action(async (input: string, flags: BlobFlags) => {
    const at = input.lastIndexOf('@');
    if (at <= 0) throw new ImgdigestError('USAGE', `"${input}": blob needs REPOSITORY@DIGEST`);
    const { parseDigest } = await import('../../core/digest.js');
    const digest = parseDigest(input.slice(at + 1)).digest;
    if (!flags.output && !flags.force && ctx.io.stdout.isTTY) {
      throw new ImgdigestError(
        'USAGE',
        'blob will not write a blob to the terminal: give -o FILE, pipe it (| tar -tz), or --force',
      );
    }
    const { pipeline } = await import('node:stream/promises');
    await withSource(
      input.slice(0, at),
      flags,
      ctx,
      async (source) => {
        const reader = await source.blob({ digest });
        const { progressStream } = await import('../progress.js');
        const progress = progressStream(ctx, digest.slice(0, 19), reader.size);
        if (!flags.output) {
          await pipeline(reader.stream, progress, ctx.io.stdout, { end: false });
          return;
        }
        const { createWriteStream } = await import('node:fs');
        const { rename, rm } = await import('node:fs/promises');
        const { basename, dirname, join } = await import('node:path');
        const target = flags.output;
        const temp = join(dirname(target), `.${basename(target)}.${process.pid}.part`);
        try {
          // A few MiB may wait for the disk while the download goes on (the default 16 KiB paused the
          // download at every chunk until its write came back).
          await pipeline(
            reader.stream,
            progress,
            createWriteStream(temp, { flags: 'wx', highWaterMark: WRITE_BUFFER }),
          );
          await rename(temp, target);
        } catch (e) {
          await rm(temp, { force: true });
          throw e;
        }
        // A blob may be large: undici reads it in large pieces (dispatcher.ts).
      },
      'undici',
    );
  });
}
