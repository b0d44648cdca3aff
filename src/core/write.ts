/**
 * @module core/write
 * Atomic file replacement: the new content goes to a temporary file in the same directory (same
 * file system), is flushed, takes its mode, and is renamed over the original, so a reader never
 * sees half a file and a crash leaves the original intact. A failure is `WRITE_FAILED` (exit 3:
 * the file system failed, the input was fine).
 *
 * {@link writeFilesAtomically} does that for a set of files as one transaction (`pin --write` with
 * its lock file): every file is checked and staged before the first rename, a failed rename puts
 * back the files already replaced, and a file that cannot be replaced without loss (a symlink out
 * of the tree, hard links, read-only, another owner) is refused before anything is written.
 * {@link writeAtomic} replaces one file with fewer questions (the webhook's certificates).
 */
import type { Stats } from 'node:fs';
import {
  chmod,
  constants,
  copyFile,
  type FileHandle,
  link,
  lstat,
  open,
  readlink,
  realpath,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ImgdigestError } from './errors.js';

/** `bytes` random bytes in hex; node:crypto loads on first use, not with every command. */
function randomHex(bytes: number): string {
  return process.getBuiltinModule('node:crypto').randomBytes(bytes).toString('hex');
}

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
  const tmp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
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

/** What a file was when it was read; a writer refuses to replace it when any of this changed. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** The identity of a file from its `stat`. */
export function identityOf(st: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

/** One file of a transaction. */
export interface FileChange {
  /**
   * The file to replace or create. A symlink is written through (its target gets the new content,
   * the link stays a link), never replaced by a regular file.
   */
  path: string;
  /** The new content, or a function that makes it when the file is staged (one at a time). */
  data: string | Uint8Array | (() => string | Uint8Array);
  /** Permission bits of a new file (default 0o644 less the umask); an existing file keeps its own. */
  mode?: number;
  /** The file as it was read: refused if it is no longer that file (edited or swapped since). */
  expect?: FileIdentity;
  /**
   * Directories the file must lie in once symlinks are resolved (real paths); a file that
   * resolves elsewhere is refused. Unset: anywhere.
   */
  within?: readonly string[];
  /** The file as messages name it (default `path`). */
  name?: string;
}

/** Why a file was refused, as a word a caller can add advice to. */
export type RefusalKind = 'outside' | 'not-a-file' | 'changed' | 'hard-links' | 'read-only' | 'owner';

/** A file that cannot be replaced without loss, and why (`reason` reads after the file's name). */
export interface Refusal {
  name: string;
  kind: RefusalKind;
  reason: string;
}

/** The file-system calls that create, link, rename and remove files during a transaction. */
export interface WriterFs {
  open: (path: string, flags: string, mode: number) => Promise<FileHandle>;
  link: (existing: string, created: string) => Promise<void>;
  rename: (from: string, to: string) => Promise<void>;
  unlink: (path: string) => Promise<void>;
}

export interface WriteFilesOptions {
  /**
   * Replacements for some file-system calls: how a test makes, say, the third rename fail and
   * checks that the first two files are put back. Defaults to `node:fs/promises`.
   */
  fs?: Partial<WriterFs>;
}

/** One file on its way: where it really is, what it was, and the temporary files beside it. */
interface Staged {
  change: FileChange;
  name: string;
  /** The real path written (symlinks resolved). */
  target: string;
  /** The file being replaced; undefined for a new file. */
  existing?: Stats;
  /** The new content, until it is renamed into place. */
  tmp?: string;
  /** A hard link to the original (or a copy), until every rename has succeeded. */
  backup?: string;
}

/**
 * Write several files as one transaction: after it, either every file holds its new content, or
 * (it throws) every file is as it was.
 *
 * 1. Check every file: symlinks are resolved (and must stay `within` the given directories), and
 *    a file is refused when replacing it would lose something: it is not a regular file, it
 *    changed since it was read (`expect`), it has other hard links (a rename would cut them off),
 *    it is read-only for its owner (mode bits, checked even for root), or it belongs to another
 *    user and this process cannot give the new file that owner. All refusals are listed in one
 *    `INPUT_INVALID` (exit 2), `details.refused`, before anything is written.
 * 2. Stage: each new content goes to a temporary file beside its target, is flushed to disk and
 *    given the original's owner and mode; each original gets a hard link beside it (a backup).
 * 3. Rename every temporary over its target. If one rename fails, the files already replaced get
 *    their originals back (the backup is renamed into place: same inode, owner and mode), and
 *    `WRITE_FAILED` is thrown. Temporary files and backups are removed in every case.
 *
 * @example
 * await writeFilesAtomically([
 *   { path: 'deploy/web.yaml', data: pinnedWeb, within: ['/work/deploy'] },
 *   { path: 'images.lock', data: lockText },
 * ]);
 */
export async function writeFilesAtomically(
  changes: readonly FileChange[],
  options: WriteFilesOptions = {},
): Promise<void> {
  const fs: WriterFs = { open, link, rename, unlink, ...options.fs };
  const staged: Staged[] = [];
  const refused: Refusal[] = [];
  const seen = new Map<string, string>();
  for (const change of changes) {
    const checked = await check(change);
    if ('kind' in checked) refused.push(checked);
    else if (seen.has(checked.target)) {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${checked.name} and ${seen.get(checked.target)} are the same file ${checked.target}: it can be written once`,
      );
    } else {
      seen.set(checked.target, checked.name);
      staged.push(checked);
    }
  }
  if (refused.length > 0) {
    const first = refused[0]!;
    const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : '';
    throw new ImgdigestError('INPUT_INVALID', `${first.name}: ${first.reason}${more}; nothing written`, {
      details: { refused },
    });
  }

  try {
    for (const s of staged) await stage(s, fs);
  } catch (e) {
    await removeLeftovers(staged, fs);
    throw e;
  }

  const replaced: Staged[] = [];
  for (const s of staged) {
    try {
      await fs.rename(s.tmp!, s.target);
    } catch (e) {
      const lost = await rollBack(replaced, fs);
      await removeLeftovers(staged, fs);
      const restored = lost.length === 0 ? '' : `; could not put back ${lost.join(', ')}`;
      throw new ImgdigestError(
        'WRITE_FAILED',
        `cannot write ${s.name}: ${(e as Error).message}; nothing written${restored}`,
        { cause: e, details: { path: s.target, lost } },
      );
    }
    s.tmp = undefined;
    replaced.push(s);
  }
  await syncDirectories(staged);
  await removeLeftovers(staged, fs);
}

const writeFailed = (name: string, e: unknown): ImgdigestError =>
  new ImgdigestError('WRITE_FAILED', `cannot write ${name}: ${(e as Error).message}`, {
    cause: e,
    details: { path: name },
  });

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** Whether a real path lies in (or is) one of the real directories. */
export function isWithin(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
}

/** Step 1 for one file: where it really is, and whether it may be replaced. */
async function check(change: FileChange): Promise<Staged | Refusal> {
  const name = change.name ?? change.path;
  const refuse = (kind: RefusalKind, reason: string): Refusal => ({ name, kind, reason });
  let target: string;
  try {
    target = await realpath(change.path);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw writeFailed(name, e);
    const dangling = await readlink(change.path).catch(() => undefined);
    if (dangling !== undefined)
      return refuse('not-a-file', `is a symlink to ${dangling}, which does not exist`);
    try {
      target = join(await realpath(dirname(change.path)), basename(change.path));
    } catch (e2) {
      throw writeFailed(name, e2);
    }
  }
  if (change.within && !isWithin(target, change.within)) {
    return refuse('outside', `resolves to ${target}, outside ${change.within.join(', ')}`);
  }
  let existing: Stats | undefined;
  try {
    existing = await lstat(target);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw writeFailed(name, e);
    if (change.expect) return refuse('changed', 'was removed since it was read; run again');
    return { change, name, target };
  }
  if (!existing.isFile()) return refuse('not-a-file', 'is not a regular file');
  const expect = change.expect;
  if (
    expect &&
    (expect.dev !== existing.dev ||
      expect.ino !== existing.ino ||
      expect.size !== existing.size ||
      expect.mtimeMs !== existing.mtimeMs)
  ) {
    return refuse('changed', 'changed since it was read; run again');
  }
  if (existing.nlink > 1) {
    return refuse(
      'hard-links',
      `has ${existing.nlink} hard links, which replacing it would break: make it a file of its own first (cp ${name} ${name}.new && mv ${name}.new ${name})`,
    );
  }
  if ((existing.mode & 0o200) === 0) {
    return refuse(
      'read-only',
      `is read-only (mode ${(existing.mode & 0o7777).toString(8).padStart(4, '0')}): make it writable first (chmod u+w ${name})`,
    );
  }
  const euid = process.geteuid?.();
  if (euid !== undefined && euid !== 0 && existing.uid !== euid) {
    return refuse(
      'owner',
      `belongs to user ${existing.uid}: a replacement written by user ${euid} would change its owner`,
    );
  }
  return { change, name, target, existing };
}

/** Step 2 for one file: the new content flushed beside it, with its owner and mode; a backup link. */
async function stage(s: Staged, fs: WriterFs): Promise<void> {
  const suffix = randomHex(6);
  const dir = dirname(s.target);
  const base = basename(s.target);
  const tmp = join(dir, `.${base}.${suffix}.tmp`);
  const { existing, change } = s;
  try {
    // Private until complete; an existing file's bits are given once its owner is.
    const handle = await fs.open(tmp, 'wx', existing ? 0o600 : (change.mode ?? 0o644));
    s.tmp = tmp;
    try {
      await writeAll(handle, typeof change.data === 'function' ? change.data() : change.data);
      if (existing) {
        const now = await handle.stat();
        if (now.uid !== existing.uid || now.gid !== existing.gid)
          await handle.chown(existing.uid, existing.gid);
        await handle.chmod(existing.mode & 0o7777); // after chown, which may clear set-id bits
      } else if (change.mode !== undefined) {
        await handle.chmod(change.mode); // the umask may have taken bits away
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (existing) {
      const backup = join(dir, `.${base}.${suffix}.orig`);
      try {
        await fs.link(s.target, backup);
      } catch {
        // No hard links on this file system: a copy restores the content and mode, if not the inode.
        await copyFile(s.target, backup, constants.COPYFILE_EXCL);
      }
      s.backup = backup;
    }
  } catch (e) {
    throw writeFailed(s.name, e);
  }
}

/** Write a text in slices of 1 MiB, so its UTF-8 bytes are never all in memory at once. */
async function writeAll(handle: FileHandle, data: string | Uint8Array): Promise<void> {
  const SLICE = 1 << 20;
  if (typeof data !== 'string') {
    await handle.writeFile(data);
    return;
  }
  for (let at = 0; at < data.length; ) {
    let end = Math.min(at + SLICE, data.length);
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end--; // keep a surrogate pair whole
    const bytes = Buffer.from(data.slice(at, end), 'utf8');
    for (let off = 0; off < bytes.length; ) off += (await handle.write(bytes, off)).bytesWritten;
    at = end;
  }
}

/** Put back the originals of files already replaced, last first; the names that could not be. */
async function rollBack(replaced: readonly Staged[], fs: WriterFs): Promise<string[]> {
  const lost: string[] = [];
  for (const s of [...replaced].reverse()) {
    try {
      if (s.backup) {
        await fs.rename(s.backup, s.target);
        s.backup = undefined;
      } else {
        await fs.unlink(s.target);
      }
    } catch {
      lost.push(s.backup ? `${s.name} (the original is kept at ${s.backup})` : s.name);
      s.backup = undefined; // keep it: it is the only copy left
    }
  }
  return lost;
}

/** Remove what is left of temporary files and backups. */
async function removeLeftovers(staged: readonly Staged[], fs: WriterFs): Promise<void> {
  for (const s of staged) {
    for (const path of [s.tmp, s.backup]) if (path) await fs.unlink(path).catch(() => undefined);
    s.tmp = undefined;
    s.backup = undefined;
  }
}

/** Flush the directories that got new entries, so the renames survive a power cut. */
async function syncDirectories(staged: readonly Staged[]): Promise<void> {
  for (const dir of new Set(staged.map((s) => dirname(s.target)))) {
    const handle = await open(dir, 'r').catch(() => undefined);
    if (!handle) continue;
    await handle.sync().catch(() => undefined); // not every file system syncs a directory
    await handle.close();
  }
}
