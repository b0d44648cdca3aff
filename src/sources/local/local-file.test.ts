import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { digestFile } from './local-file.js';

describe.skipIf(!haveTools('sha256sum', 'sha512sum'))('digestFile', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await tempDir('local-file');
    file = join(dir, 'blob.bin');
    // Bigger than one stream chunk (64 KiB), so several chunks are hashed.
    await writeFile(file, randomBytes(300_000));
  });
  afterAll(cleanupTempDirs);

  const coreutils = (tool: string, path: string) =>
    execFileSync(tool, [path], { encoding: 'utf8' }).split(' ')[0];

  it('computes the sha256 that sha256sum computes, and the size', async () => {
    const got = await digestFile(file);
    expect(got.digest).toBe(`sha256:${coreutils('sha256sum', file)}`);
    expect(got.size).toBe(300_000);
  });

  it('computes sha512 when asked', async () => {
    const got = await digestFile(file, 'sha512');
    expect(got.digest).toBe(`sha512:${coreutils('sha512sum', file)}`);
  });

  it('reads standard input for "-"', async () => {
    const stdin = new PassThrough();
    const done = digestFile('-', 'sha256', stdin);
    stdin.end('hello\n');
    expect((await done).digest).toBe(
      `sha256:${execFileSync('sha256sum', { input: 'hello\n', encoding: 'utf8' }).split(' ')[0]}`,
    );
  });

  it('refuses to wait on a terminal for "-"', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    await expect(digestFile('-', 'sha256', tty)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('names a missing file', async () => {
    const missing = join(dir, 'nope.bin');
    await expect(digestFile(missing)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `${missing}: no such file or directory`,
    });
  });

  it('says a directory is not a file', async () => {
    await expect(digestFile(dir)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: `${dir} is a directory, not a file`,
    });
  });

  it('refuses an algorithm it cannot compute before reading anything', async () => {
    await expect(digestFile(join(dir, 'nope.bin'), 'md5')).rejects.toMatchObject({
      code: 'DIGEST_UNSUPPORTED',
    });
  });
});
