/**
 * @module sources/local/local-file
 * Local bytes: the digest of a file or of standard input (`imgdigest digest --file PATH|-`), streamed
 * so a multi-GiB layer never sits in memory.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createDigester, type Digest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { fileError } from '../file-error.js';

/** The digest of some local bytes. */
export interface FileDigest {
  digest: Digest;
  size: number;
  algorithm: string;
  /** The path read, or `-` for standard input. */
  path: string;
}

export interface DigestFileOptions {
  signal?: AbortSignal;
}

/**
 * The digest of a file, or of standard input when `pathOrDash` is `-`, computed while streaming.
 *
 * @param algorithm `sha256` (default), `sha512` or `sha384`; others fail with `DIGEST_UNSUPPORTED`
 *   before anything is read.
 * @param stdin what `-` reads (the CLI passes its own stdin so tests can feed it)
 * @throws `NOT_FOUND` (no such file), `INPUT_INVALID` (a directory, or `-` on a terminal),
 *   `DIGEST_UNSUPPORTED`, `SOURCE_ERROR`
 * @example
 * const { digest } = await digestFile('layer.tar.gz'); // 'sha256:...'
 */
export async function digestFile(
  pathOrDash: string,
  algorithm = 'sha256',
  stdin: Readable & { isTTY?: boolean } = process.stdin,
  options: DigestFileOptions = {},
): Promise<FileDigest> {
  const digester = createDigester(algorithm);
  const fromStdin = pathOrDash === '-';
  if (fromStdin && stdin.isTTY) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      'standard input is a terminal; pipe the bytes in (e.g. `cat FILE | imgdigest digest --file -`)',
    );
  }
  const input = fromStdin ? stdin : createReadStream(pathOrDash);
  const where = fromStdin ? 'standard input' : pathOrDash;
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      options.signal?.throwIfAborted();
      digester.update(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
  } catch (e) {
    if (!fromStdin) input.destroy();
    if ((e as Error)?.name === 'AbortError') throw e;
    throw fileError(e, where);
  }
  return { digest: digester.digest(), size: digester.size, algorithm, path: pathOrDash };
}
