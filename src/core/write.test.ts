/** Atomic replacement: modes kept or forced, and a failure that says it is the file system's. */
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { ERROR_CODES, isImgdigestError } from './errors.js';
import { writeAtomic } from './write.js';

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
