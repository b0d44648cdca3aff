/**
 * @module k8s/inputs
 * Collect manifest files from `-f` arguments: files, directories (recursive, `*.yaml`, `*.yml`,
 * `*.json`, sorted), and `-` for stdin.
 *
 * The tree is what the arguments name: each directory given, and the directory of each file given.
 * A symlink met in a directory is followed when it leads into the tree; one that leads out of it
 * is skipped with a warning unless `followSymlinks` is set (a link to `/` would otherwise pull the
 * whole disk into a run, and `pin --write` into editing files nobody named). `roots` are returned
 * for a writer to hold to the same tree.
 *
 * Bad entries never crash the walk: a symlink loop, a binary or non-UTF-8 file, an unreadable file
 * or a missing path each become one {@link InputProblem} line, and the rest is still read. Text is
 * decoded without dropping a byte-order mark, so an edited file is written back byte-for-byte.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { constants, lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgdigestError } from '../core/errors.js';
import { type FileIdentity, identityOf, isWithin } from '../core/write.js';

/** How messages name standard input (`-f -`). */
export const STDIN_NAME = '<stdin>';

/** A manifest file's content. */
export interface InputFile {
  /** The path as given (or found under a given directory); `<stdin>` for stdin. */
  path: string;
  /**
   * The decoded text, byte-order mark included. For a file found by {@link readInputs}, read from
   * disk at each use (read it once per pass and keep it in a local).
   */
  readonly text: string;
  /** True for standard input (named {@link STDIN_NAME}): never written back. */
  stdin?: boolean;
  /** The file's permission bits, kept when it is rewritten; undefined for stdin. */
  mode?: number;
  /** The file as it was read (undefined for stdin): a writer refuses it if it changed since. */
  identity?: FileIdentity;
}

/** A path that could not be used, with why. `error` problems make the run fail; warnings do not. */
export interface InputProblem {
  path: string;
  reason: string;
  severity: 'error' | 'warning';
}

export interface ReadInputsOptions {
  stdin?: Readable;
  /** Base for relative paths (default `process.cwd()`). */
  cwd?: string;
  /** Follow symlinks in directories that lead out of the tree (default: skip them, with a warning). */
  followSymlinks?: boolean;
}

export interface Inputs {
  files: InputFile[];
  problems: InputProblem[];
  /** The tree: the real paths of the directories given and of the directories of the files given. */
  roots: string[];
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * Find every manifest named by `paths`. Files appear in argument order, directory entries sorted.
 * Each file is read once here to refuse what is not text (a problem), and its `text` is read again
 * from disk each time it is asked for: a run over 100,000 documents holds one file at a time, not
 * all of them. A file that changed since it was found (another identity) fails that read with
 * `SOURCE_ERROR` rather than giving text the earlier pass did not see.
 */
export async function readInputs(paths: readonly string[], options: ReadInputsOptions = {}): Promise<Inputs> {
  const files: InputFile[] = [];
  const problems: InputProblem[] = [];
  const seenFiles = new Set<string>();
  const cwd = options.cwd ?? process.cwd();
  const roots = await treeRoots(paths, cwd);
  let stdinUsed = false;

  const addFile = async (path: string, explicit: boolean): Promise<void> => {
    const abs = resolve(cwd, path);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (e) {
      problems.push({ path, reason: reasonOf(e, explicit), severity: 'error' });
      return;
    }
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    try {
      // One open: the bytes, mode and identity all come from the same file, even if the path is
      // swapped meanwhile (O_NOFOLLOW: the real path names no link).
      const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const info = await handle.stat();
        // Checked now, so every problem is known before any work; the text itself is read again
        // when it is used (see deferredFile), so a run holds one file's text at a time.
        const bad = textProblem(await handle.readFile());
        if (bad) problems.push({ path, reason: bad.reason, severity: 'error' });
        else files.push(deferredFile(path, real, info.mode & 0o7777, identityOf(info)));
      } finally {
        await handle.close();
      }
    } catch (e) {
      problems.push({ path, reason: reasonOf(e, explicit), severity: 'error' });
    }
  };

  const walk = async (dir: string, ancestors: Set<string>): Promise<void> => {
    let entries: string[];
    try {
      entries = (await readdir(resolve(cwd, dir))).sort();
    } catch (e) {
      problems.push({ path: dir, reason: reasonOf(e, false), severity: 'error' });
      return;
    }
    for (const name of entries) {
      const path = join(dir, name);
      const abs = resolve(cwd, path);
      if (!options.followSymlinks && (await lstat(abs).catch(() => undefined))?.isSymbolicLink()) {
        const real = await realpath(abs).catch(() => undefined);
        if (real !== undefined && !isWithin(real, roots)) {
          problems.push({
            path,
            reason: `symlink to ${real}, outside the tree: not followed (see --follow-symlinks)`,
            severity: 'warning',
          });
          continue;
        }
      }
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(abs);
      } catch (e) {
        const link = await lstat(abs).catch(() => undefined);
        const reason = link?.isSymbolicLink()
          ? `broken or looping symlink (${codeOf(e)})`
          : reasonOf(e, false);
        problems.push({ path, reason, severity: link?.isSymbolicLink() ? 'warning' : 'error' });
        continue;
      }
      if (info.isDirectory()) {
        const real = await realpath(abs).catch(() => abs);
        if (ancestors.has(real)) {
          problems.push({
            path,
            reason: 'symlink loop (a directory that contains itself), skipped',
            severity: 'warning',
          });
          continue;
        }
        await walk(path, new Set([...ancestors, real]));
      } else if (info.isFile() && MANIFEST_EXT.test(name)) {
        await addFile(path, false);
      }
    }
  };

  for (const path of paths) {
    if (path === '-') {
      if (stdinUsed) continue;
      stdinUsed = true;
      const stdin = options.stdin ?? process.stdin;
      const text = decodeText(await readAll(stdin));
      if (typeof text !== 'string')
        problems.push({ path: STDIN_NAME, reason: text.reason, severity: 'error' });
      else files.push({ path: STDIN_NAME, text, stdin: true });
      continue;
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(resolve(cwd, path));
    } catch (e) {
      problems.push({ path, reason: reasonOf(e, true), severity: 'error' });
      continue;
    }
    if (info.isDirectory()) await walk(path, new Set([await realpath(resolve(cwd, path))]));
    else await addFile(path, true);
  }
  return { files, problems, roots };
}

/**
 * The tree `paths` name, as real paths: each directory, and the directory of each file (stdin
 * and paths that do not exist add nothing).
 */
export async function treeRoots(paths: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const roots = new Set<string>();
  for (const path of paths) {
    if (path === '-') continue;
    const abs = resolve(cwd, path);
    const info = await stat(abs).catch(() => undefined);
    if (!info) continue;
    const root = await realpath(info.isDirectory() ? abs : dirname(abs)).catch(() => undefined);
    if (root !== undefined) roots.add(root);
  }
  return [...roots];
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * Decode UTF-8 text, keeping a BOM. Refuses binary data (a NUL byte), UTF-16 and invalid UTF-8,
 * since a YAML file is text and rewriting anything else would corrupt it.
 */
export function decodeText(bytes: Uint8Array): string | { reason: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { reason: 'UTF-16 text is not supported, convert it to UTF-8' };
  }
  if (bytes.indexOf(0) !== -1) return { reason: 'binary file (contains NUL bytes), skipped' };
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { reason: 'not UTF-8 text, skipped' };
  }
}

/** Why bytes are not a manifest's text ({@link decodeText}'s refusals), without decoding them. */
function textProblem(bytes: Uint8Array): { reason: string } | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { reason: 'UTF-16 text is not supported, convert it to UTF-8' };
  }
  if (bytes.indexOf(0) !== -1) return { reason: 'binary file (contains NUL bytes), skipped' };
  return isUtf8(bytes) ? undefined : { reason: 'not UTF-8 text, skipped' };
}

/**
 * A file whose `text` is read from disk at each use (no copy is kept), checked to be the file
 * found: same device, inode, size and modification time.
 */
function deferredFile(path: string, real: string, mode: number, identity: FileIdentity): InputFile {
  return {
    path,
    mode,
    identity,
    get text(): string {
      let fd: number;
      try {
        fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (e) {
        throw new ImgdigestError('SOURCE_ERROR', `${path}: cannot be read again: ${reasonOf(e, false)}`, {
          cause: e,
        });
      }
      try {
        const now = identityOf(fstatSync(fd));
        if (
          now.dev !== identity.dev ||
          now.ino !== identity.ino ||
          now.size !== identity.size ||
          now.mtimeMs !== identity.mtimeMs
        ) {
          throw new ImgdigestError(
            'SOURCE_ERROR',
            `${path}: changed while imgdigest was working on it; run again`,
          );
        }
        const text = decodeText(readFileSync(fd));
        if (typeof text !== 'string') throw new ImgdigestError('SOURCE_ERROR', `${path}: ${text.reason}`);
        return text;
      } finally {
        closeSync(fd);
      }
    },
  };
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'error';
}

function reasonOf(e: unknown, explicit: boolean): string {
  switch (codeOf(e)) {
    case 'ENOENT':
      return explicit ? 'no such file or directory' : 'disappeared while reading';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symlink loop';
    case 'EISDIR':
      return 'is a directory';
    default:
      return (e as Error).message;
  }
}
