/**
 * @module sources/layers/tar-open
 * Open a tar file for random access, whatever its compression: the one place that looks at a
 * file's first bytes and hands it to the reader that can serve it (`tar-index` for an uncompressed
 * tar, `tar-gzip` for a gzip-compressed one). Other compressions are refused with the format named.
 */
import { open } from 'node:fs/promises';
import { ImgdigestError } from '../../core/errors.js';
import { fileError } from '../file-error.js';
import { compressionOf } from './compression.js';
import type { TarArchive } from './tar-entries.js';
import { indexTarFile, readExactly } from './tar-index.js';

/**
 * Open a tar file for random access, uncompressed or gzip-compressed (detected by its magic bytes,
 * not its name).
 * @throws `NOT_FOUND`, `INPUT_INVALID` (not a tar, unsupported compression), `SOURCE_ERROR` (truncated)
 */
export async function openTar(path: string): Promise<TarArchive> {
  let magic: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      magic = await readExactly(fh, 8, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fileError(e, path);
  }
  const compression = magic.length >= 4 ? compressionOf(magic) : null;
  if (compression === 'gzip') {
    const { openGzipTar } = await import('./tar-gzip.js');
    return openGzipTar(path);
  }
  if (compression) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `${path} is ${compression}-compressed; only uncompressed and gzip tar archives are supported (decompress it first)`,
      { details: { path, compression } },
    );
  }
  return indexTarFile(path);
}
