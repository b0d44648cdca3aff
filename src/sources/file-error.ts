/**
 * @module sources/file-error
 * The one mapping from file-system errors to imgdigest errors, shared by everything in `sources/`
 * that reads files (layouts, archives, tar files, `digest --file`), so "no such file" reads the
 * same everywhere.
 */
import { ImgdigestError } from '../core/errors.js';

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
