/** Reading -f inputs: directories, stdin, and every kind of bad entry reported without a crash. */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDirSync } from '../../test/support/tmp.js';
import { decodeText, readInputs } from './inputs.js';

const dir = tempDirSync('inputs');
afterAll(() => removeTempDir(dir));

describe('readInputs', () => {
  mkdirSync(join(dir, 'tree/sub'), { recursive: true });
  writeFileSync(join(dir, 'tree/b.yaml'), 'b: 1\n');
  writeFileSync(join(dir, 'tree/a.yml'), 'a: 1\n');
  writeFileSync(join(dir, 'tree/sub/c.json'), '{}');
  writeFileSync(join(dir, 'tree/notes.txt'), 'ignored');
  writeFileSync(join(dir, 'tree/bin.yaml'), Buffer.from([0x61, 0x00, 0x62]));
  writeFileSync(join(dir, 'tree/latin1.yaml'), Buffer.from([0x61, 0xe9, 0x0a]));
  writeFileSync(join(dir, 'tree/locked.yaml'), 'x: 1\n');
  chmodSync(join(dir, 'tree/locked.yaml'), 0o000);
  symlinkSync('..', join(dir, 'tree/sub/loop'));
  symlinkSync('missing.yaml', join(dir, 'tree/dangling.yaml'));

  it('reads a file again at each use, and refuses one that changed or went away since it was found', async () => {
    const sub = join(dir, 'again');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.yaml'), 'a: 1\n');
    writeFileSync(join(sub, 'b.yaml'), 'b: 1\n');
    const { files } = await readInputs([sub]);
    expect(files.map((f) => f.text)).toEqual(['a: 1\n', 'b: 1\n']);
    expect(files[0]!.text).toBe('a: 1\n'); // the same again: nothing changed
    writeFileSync(join(sub, 'a.yaml'), 'a: 2 # edited meanwhile\n');
    expect(() => files[0]!.text).toThrow(
      expect.objectContaining({
        code: 'SOURCE_ERROR',
        message: `${join(sub, 'a.yaml')}: changed while imgdigest was working on it; run again`,
      }),
    );
    rmSync(join(sub, 'b.yaml'));
    expect(() => files[1]!.text).toThrow(
      expect.objectContaining({
        code: 'SOURCE_ERROR',
        message: expect.stringContaining(`${join(sub, 'b.yaml')}: cannot be read again`),
      }),
    );
  });

  it('walks directories sorted, reports binary, non-UTF-8, unreadable files and symlink loops, one line each', async () => {
    const { files, problems } = await readInputs([join(dir, 'tree')]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual(
      process.getuid?.() === 0
        ? ['tree/a.yml', 'tree/b.yaml', 'tree/locked.yaml', 'tree/sub/c.json']
        : ['tree/a.yml', 'tree/b.yaml', 'tree/sub/c.json'],
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path.slice(dir.length + 1), p]));
    expect(byPath['tree/bin.yaml']).toMatchObject({
      severity: 'error',
      reason: expect.stringMatching(/binary/),
    });
    expect(byPath['tree/latin1.yaml']).toMatchObject({
      severity: 'error',
      reason: expect.stringMatching(/not UTF-8/),
    });
    expect(byPath['tree/sub/loop']).toMatchObject({
      severity: 'warning',
      reason: expect.stringMatching(/symlink loop/),
    });
    expect(byPath['tree/dangling.yaml']).toMatchObject({ reason: expect.stringMatching(/symlink/) });
    if (process.getuid?.() !== 0)
      expect(byPath['tree/locked.yaml']).toMatchObject({ reason: 'permission denied' });
  });

  it('reads stdin for -, keeps a BOM, and reports missing paths', async () => {
    const { files, problems } = await readInputs(['-', join(dir, 'nope.yaml')], {
      stdin: Readable.from([Buffer.from('\uFEFFa: 1\r\n')]),
    });
    expect(files).toEqual([{ path: '<stdin>', text: '\uFEFFa: 1\r\n', stdin: true }]);
    expect(problems).toEqual([
      { path: join(dir, 'nope.yaml'), reason: 'no such file or directory', severity: 'error' },
    ]);
  });

  it('refuses UTF-16', () => {
    expect(decodeText(Buffer.from([0xff, 0xfe, 0x61, 0x00]))).toEqual({
      reason: expect.stringMatching(/UTF-16/),
    });
  });
});
