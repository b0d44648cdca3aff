/**
 * @module k8s/write
 * Atomic file replacement for `pin --write` and lock files: the new content goes to a temporary
 * file in the same directory (same filesystem), takes the old file's mode, and is renamed over the
 * original, so a reader never sees half a file and a crash leaves the original intact.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgdigestError } from '../core/errors.js';

/** Replace `path` with `text` atomically, keeping its permission bits (or `mode` for a new file). */
export async function writeAtomic(path: string, text: string, mode?: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let keepMode = mode;
  try {
    keepMode = (await stat(path)).mode & 0o7777;
  } catch {
    // a new file: use the given mode or the default
  }
  try {
    const handle = await open(tmp, 'wx', keepMode ?? 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (keepMode !== undefined) await chmod(tmp, keepMode);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new ImgdigestError('INPUT_INVALID', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
