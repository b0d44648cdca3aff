/**
 * @module core/write
 * Atomic file replacement, for every file imgdigest writes over (`pin --write`, lock files, the
 * webhook's certificates): the new content goes to a temporary file in the same directory (same
 * filesystem), is flushed, takes its mode, and is renamed over the original, so a reader never
 * sees half a file and a crash leaves the original intact. A failure is `WRITE_FAILED` (exit 3:
 * the file system failed, the input was fine).
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgdigestError } from './errors.js';

export interface WriteOptions {
  /** Permission bits of a new file (default 0o644 less the umask). */
  mode?: number;
  /**
   * Give the file `mode` even when it exists with other bits (a private key is 0600 whatever was
   * there). By default an existing file keeps its bits.
   */
  forceMode?: boolean;
}

/**
 * Replace `path` with `data` atomically.
 *
 * @example
 * await writeAtomic('deploy/web.yaml', pinnedText); // keeps the file's permission bits
 * await writeAtomic('certs/tls.key', pem, { mode: 0o600, forceMode: true });
 */
export async function writeAtomic(path: string, data: string, options: WriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = options.mode;
  if (!options.forceMode) {
    try {
      mode = (await stat(path)).mode & 0o7777;
    } catch {
      // a new file: use the given mode or the default
    }
  }
  try {
    const handle = await open(tmp, 'wx', mode ?? 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (mode !== undefined) await chmod(tmp, mode); // the umask may have taken bits away
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new ImgdigestError('WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
}
