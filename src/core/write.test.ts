/**
 * Atomic replacement: modes kept or forced, a failure that says it is the file system's, and sets
 * of files written all or none, refusing the files a rename would damage.
 */
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { ERROR_CODES, type ImgdigestError, isImgdigestError } from './errors.js';
import { identityOf, writeAtomic, writeFilesAtomically } from './write.js';

afterAll(cleanupTempDirs);

describe('writeAtomic', () => {
  it('replaces a file keeping its permission bits, unless told to force a mode', async () => {
    const dir = await tempDir('write');
    const file = join(dir, 'web.yaml');
    await writeFile(file, 'old\n');
    await chmod(file, 0o640);
    await writeAtomic(file, 'new\n', { mode: 0o600 });
    expect(await readFile(file, 'utf8')).toBe('new\n');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    await writeAtomic(file, 'key\n', { mode: 0o600, forceMode: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['web.yaml']);
  });

  it('fails with WRITE_FAILED (exit 3) and leaves nothing behind when the folder cannot hold the file', async () => {
    const dir = await tempDir('write');
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const e = await writeAtomic(join(file, 'images.lock'), 'y').catch((x: unknown) => x);
    expect(isImgdigestError(e) && e.code).toBe('WRITE_FAILED');
    expect(ERROR_CODES.WRITE_FAILED).toBe(3);
    expect((e as Error).message).toMatch(/^cannot write .*plain\/images\.lock: ENOTDIR/);
    expect(await readdir(dir)).toEqual(['plain']);
  });
});

/** A directory with files `name: content`, and a snapshot of each (content, inode, mode, owner). */
async function filesIn(dir: string, files: Record<string, string>): Promise<string[]> {
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return Object.keys(files).map((name) => join(dir, name));
}
async function snapshot(path: string): Promise<{ text: string; ino: number; mode: number; uid: number }> {
  const st = await stat(path);
  return { text: await readFile(path, 'utf8'), ino: st.ino, mode: st.mode, uid: st.uid };
}

describe('writeFilesAtomically', () => {
  it('replaces every file or none: a rename that fails mid-way puts back the files already replaced', async () => {
    const dir = await tempDir('write-tx');
    const [a, b, c] = await filesIn(dir, { 'a.yaml': 'a0\n', 'b.yaml': 'b0\n', 'c.yaml': 'c0\n' });
    const before = await Promise.all([a!, b!, c!].map(snapshot));
    // The documented hook: the third file's rename fails, as on a full or read-only file system.
    const fs = {
      rename: async (from: string, to: string) => {
        if (to === c && from.endsWith('.tmp'))
          throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
        return rename(from, to);
      },
    };
    const lock = join(dir, 'images.lock');
    const e = await writeFilesAtomically(
      [
        { path: a!, data: 'a1\n' },
        { path: b!, data: 'b1\n' },
        { path: lock, data: 'lock\n' },
        { path: c!, data: 'c1\n' },
      ],
      { fs },
    ).catch((x: unknown) => x);
    expect(isImgdigestError(e) && e.code).toBe('WRITE_FAILED');
    expect((e as Error).message).toBe(`cannot write ${c}: EROFS: read-only file system; nothing written`);
    // The same files (same inodes), as they were; the new lock file is gone; no temporary left.
    expect(await Promise.all([a!, b!, c!].map(snapshot))).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
  });

  it('writes through a symlink (the link stays a link) and refuses one that resolves out of `within`', async () => {
    const dir = await tempDir('write-tx');
    const outside = await tempDir('write-tx-outside');
    await mkdir(join(dir, 'releases'));
    const [target] = await filesIn(join(dir, 'releases'), { 'v1.yaml': 'old\n' });
    const [away] = await filesIn(outside, { 'shared.yaml': 'old\n' });
    await symlink('releases/v1.yaml', join(dir, 'current.yaml'));
    await symlink(away!, join(dir, 'shared.yaml'));
    await writeFilesAtomically([{ path: join(dir, 'current.yaml'), data: 'new\n', within: [dir] }]);
    expect((await lstat(join(dir, 'current.yaml'))).isSymbolicLink()).toBe(true);
    expect(await readFile(target!, 'utf8')).toBe('new\n');

    const e = await writeFilesAtomically([
      { path: target!, data: 'newer\n', within: [dir] },
      { path: join(dir, 'shared.yaml'), data: 'new\n', name: 'shared.yaml', within: [dir] },
    ]).catch((x: unknown) => x);
    expect(isImgdigestError(e) && e.code).toBe('INPUT_INVALID');
    expect((e as Error).message).toBe(
      `shared.yaml: resolves to ${await realpath(away!)}, outside ${dir}; nothing written`,
    );
    expect(await readFile(target!, 'utf8')).toBe('new\n');
    expect(await readFile(away!, 'utf8')).toBe('old\n');
  });

  it('keeps the mode and the owner of the file it replaces', async () => {
    const dir = await tempDir('write-tx');
    const [file] = await filesIn(dir, { 'web.yaml': 'old\n' });
    await chmod(file!, 0o640);
    const root = process.geteuid?.() === 0;
    if (root) await chown(file!, 4242, 4343); // another user's file, as root may write it
    await writeFilesAtomically([{ path: file!, data: 'new\n' }]);
    const st = await stat(file!);
    expect(await readFile(file!, 'utf8')).toBe('new\n');
    expect(st.mode & 0o7777).toBe(0o640);
    if (root) expect([st.uid, st.gid]).toEqual([4242, 4343]);
  });

  it('refuses, before writing anything, files with other hard links, read-only files, and files changed since read', async () => {
    const dir = await tempDir('write-tx');
    const [fine, linked, readOnly, changed] = await filesIn(dir, {
      'fine.yaml': 'old\n',
      'linked.yaml': 'old\n',
      'read-only.yaml': 'old\n',
      'changed.yaml': 'old\n',
    });
    await link(linked!, join(dir, 'other-name.yaml'));
    await chmod(readOnly!, 0o444);
    const read = identityOf(await stat(changed!));
    await writeFile(changed!, 'edited meanwhile\n');
    const e = await writeFilesAtomically([
      { path: fine!, data: 'new\n', name: 'fine.yaml' },
      { path: linked!, data: 'new\n', name: 'linked.yaml' },
      { path: readOnly!, data: 'new\n', name: 'read-only.yaml' },
      { path: changed!, data: 'new\n', name: 'changed.yaml', expect: read },
    ]).catch((x: unknown) => x);
    expect(isImgdigestError(e) && e.code).toBe('INPUT_INVALID');
    expect((e as Error).message).toMatch(
      /^linked\.yaml: has 2 hard links, .* \(and 2 more\); nothing written$/,
    );
    expect((e as ImgdigestError).details.refused).toEqual([
      expect.objectContaining({ name: 'linked.yaml', kind: 'hard-links' }),
      expect.objectContaining({
        name: 'read-only.yaml',
        kind: 'read-only',
        reason: expect.stringMatching(/mode 0444.*chmod u\+w/),
      }),
      expect.objectContaining({ name: 'changed.yaml', kind: 'changed' }),
    ]);
    for (const f of [fine!, linked!, readOnly!]) expect(await readFile(f, 'utf8')).toBe('old\n');
    expect((await stat(linked!)).nlink).toBe(2);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
