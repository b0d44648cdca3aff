/**
 * @module sources/local/local-file
 * Local bytes: the digest of a file or of standard input (`imgdigest digest --file PATH|-`), streamed
 * so a multi-GiB layer never sits in memory, and the one mapping from file-system errors to
 * imgdigest errors that every local source uses (so "no such file" reads the same everywhere).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createDigester, type Digest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';

/**
 * Turn a file-system error into a one-line {@link ImgdigestError} naming `path`: missing paths are
 * `NOT_FOUND`, a directory where a file was expected is `INPUT_INVALID`, anything else
 * `SOURCE_ERROR`. Errors that already are imgdigest errors pass through.
 */
export function fileError(error: unknown, path: string): ImgdigestError {
  if (error instanceof ImgdigestError) return error;
  const e = error as NodeJS.ErrnoException;
  const details = { path, errno: e?.code ?? null };
  switch (e?.code) {
    case 'ENOENT':
      return new ImgdigestError('NOT_FOUND', `${path}: no such file or directory`, { cause: error, details });
    case 'ENOTDIR':
      return new ImgdigestError('NOT_FOUND', `${path}: a parent of this path is not a directory`, {
        cause: error,
        details,
      });
    case 'EISDIR':
      return new ImgdigestError('INPUT_INVALID', `${path} is a directory, not a file`, {
        cause: error,
        details,
      });
    case 'EACCES':
    case 'EPERM':
      return new ImgdigestError('SOURCE_ERROR', `${path}: permission denied`, { cause: error, details });
    default:
      return new ImgdigestError('SOURCE_ERROR', `${path}: ${e?.message ?? String(error)}`, {
        cause: error,
        details,
      });
  }
}

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
