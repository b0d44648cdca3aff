import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import type { TarArchive } from './tar-entries.js';
import { indexTarFile } from './tar-index.js';
import { openTar } from './tar-open.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function packWithTarStream(files: Array<{ name: string; body: Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files) pack.entry({ name: f.name, size: f.body.length }, f.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function expectCode(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(pattern) });
}

const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const LONG_NAME = `${LONG_DIR}/${'f'.repeat(110)}.txt`;

describe.skipIf(!haveTools('tar', 'gzip'))('tar index over archives written by GNU tar', () => {
  let dir: string;
  const files: Record<string, string> = {
    'short.txt': 'short\n',
    [LONG_NAME]: 'a name longer than 100 bytes\n',
    'empty.txt': '',
    'blocks.bin': 'x'.repeat(1500),
    // 131 bytes: ustar stores it as prefix + name.
    [`${LONG_DIR}/in-deep.txt`]: 'deep\n',
  };

  beforeAll(async () => {
    dir = await tempDir('tar-index');
    const root = join(dir, 'root');
    await mkdir(join(root, LONG_DIR), { recursive: true });
    for (const [name, body] of Object.entries(files)) await writeFile(join(root, name), body);
    await symlink('short.txt', join(root, 'link-to-short'));
    await mkdir(join(root, 'sub'));
    await symlink('../blocks.bin', join(root, 'sub', 'up-link'));
    for (const format of ['gnu', 'pax', 'ustar']) {
      const names = [
        'short.txt',
        'empty.txt',
        'blocks.bin',
        'link-to-short',
        'sub',
        `${LONG_DIR}/in-deep.txt`,
      ];
      // ustar cannot store the 110-byte file name; gnu (L records) and pax (path=) can.
      if (format !== 'ustar') names.push(LONG_NAME);
      execFileSync('tar', ['-C', root, `--format=${format}`, '-cf', join(dir, `${format}.tar`), ...names]);
    }
    execFileSync('sh', ['-c', `gzip -c ${join(dir, 'pax.tar')} > ${join(dir, 'pax.tar.gz')}`]);
  });
  afterAll(cleanupTempDirs);

  for (const format of ['gnu', 'pax', 'ustar', 'pax.tar.gz']) {
    it(`reads every entry of a ${format} archive at its offset`, async () => {
      const file = join(dir, format.endsWith('.gz') ? format : `${format}.tar`);
      const archive = await openTar(file);
      try {
        for (const [name, body] of Object.entries(files)) {
          if (format === 'ustar' && name === LONG_NAME) continue;
          expect(await text(await archive.stream(name))).toBe(body);
          expect((await archive.read(name, 1 << 20)).toString('utf8')).toBe(body);
          expect(archive.find(name)?.size).toBe(Buffer.byteLength(body));
        }
        expect(archive.find('./short.txt')?.name).toBe('short.txt');
        expect(archive.find('sub')?.type).toBe('directory');
      } finally {
        await archive.close();
      }
    });
  }

  it('follows symbolic links inside the archive, relative to their directory', async () => {
    const archive = await openTar(join(dir, 'gnu.tar'));
    try {
      expect(await text(await archive.stream('link-to-short'))).toBe('short\n');
      expect(archive.entries().find((e) => e.name === 'link-to-short')).toMatchObject({
        type: 'symlink',
        linkName: 'short.txt',
      });
    } finally {
      await archive.close();
    }
  });

  it('refuses to read an entry larger than the caller allows', async () => {
    const archive = await openTar(join(dir, 'gnu.tar'));
    try {
      await expectCode(archive.read('blocks.bin', 100), 'SOURCE_ERROR', /blocks\.bin.*1500 bytes/);
    } finally {
      await archive.close();
    }
  });

  it('names the missing entry', async () => {
    const archive = await openTar(join(dir, 'gnu.tar'));
    try {
      await expectCode(archive.stream('nope.txt'), 'NOT_FOUND', /gnu\.tar.*"nope\.txt"/);
    } finally {
      await archive.close();
    }
  });

  it('reports a truncated archive with the file name and where it ends', async () => {
    const cut = join(dir, 'cut.tar');
    await writeFile(cut, (await readFile(join(dir, 'gnu.tar'))).subarray(0, 512 + 700));
    await expectCode(openTar(cut), 'SOURCE_ERROR', /cut\.tar is truncated.*ends at 1212/);
  });

  it('reports an archive cut at an entry boundary (no end-of-archive marker)', async () => {
    const cut = join(dir, 'cut-boundary.tar');
    // The first entry (short.txt) is one header block and one data block.
    await writeFile(cut, (await readFile(join(dir, 'gnu.tar'))).subarray(0, 1024));
    await expectCode(
      openTar(cut),
      'SOURCE_ERROR',
      /cut-boundary\.tar is truncated: the end-of-archive marker is missing/,
    );
  });

  it('reports a truncated gzip archive', async () => {
    const cut = join(dir, 'cut.tar.gz');
    const gz = await readFile(join(dir, 'pax.tar.gz'));
    await writeFile(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    await expectCode(openTar(cut), 'SOURCE_ERROR', /cut\.tar\.gz/);
  });
});

describe('tar index on bad input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('tar-bad');
  });
  afterAll(cleanupTempDirs);

  it('says a file of random bytes is not a tar archive', async () => {
    const file = join(dir, 'random.bin');
    await writeFile(file, randomBytes(4096));
    await expectCode(openTar(file), 'INPUT_INVALID', /random\.bin is not a tar archive/);
  });

  it('says an empty file is empty', async () => {
    const file = join(dir, 'empty.tar');
    await writeFile(file, '');
    await expectCode(openTar(file), 'INPUT_INVALID', /empty\.tar is empty/);
  });

  it('says a missing file is missing', async () => {
    await expectCode(openTar(join(dir, 'absent.tar')), 'NOT_FOUND', /absent\.tar: no such file/);
  });

  it('says a gzip file that holds no tar does not hold one', async () => {
    const { gzipSync } = await import('node:zlib');
    for (const [name, body] of [
      ['text.gz', Buffer.from('hello world\n')],
      ['noise.gz', randomBytes(5000)],
    ] as const) {
      const file = join(dir, name);
      await writeFile(file, gzipSync(body));
      await expectCode(
        openTar(file),
        'INPUT_INVALID',
        new RegExp(`${name} is gzip-compressed but does not hold a tar`),
      );
    }
  });

  it('names the compression it cannot read', async () => {
    const file = join(dir, 'x.tar.zst');
    await writeFile(file, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    await expectCode(openTar(file), 'INPUT_INVALID', /zstd-compressed/);
  });

  it('reads a GNU base-256 size (entries over 8 GiB) and sees the data is missing', async () => {
    // A header for an 8 GiB + 1 byte entry, followed by no data: the size field uses the base-256
    // encoding GNU tar writes for sizes an 11-digit octal field cannot hold.
    const header = Buffer.alloc(512);
    header.write('huge.bin', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header[124] = 0x80;
    header.writeBigUInt64BE(2n ** 33n + 1n, 124 + 4);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar  \0', 257);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const file = join(dir, 'huge.tar');
    await writeFile(file, Buffer.concat([header, Buffer.alloc(1024)]));
    await expectCode(indexTarFile(file), 'SOURCE_ERROR', /"huge\.bin" needs 8589934593 bytes/);
  });
});

describe('tar index agrees with tar-stream on any file set', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('tar-prop');
  });
  afterAll(cleanupTempDirs);

  it('finds each entry with its exact bytes (long and unicode names included)', async () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9é_-]{8,40}$/);
    const name = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
    const files = fc.uniqueArray(
      fc.record({ name, body: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)) }),
      { selector: (f) => f.name, minLength: 1, maxLength: 8 },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(files, async (list) => {
        // A name that is also another entry's parent directory would be a file and a directory.
        const names = list.map((f) => f.name);
        fc.pre(!names.some((a) => names.some((b) => b.startsWith(`${a}/`))));
        const file = join(dir, `p${n++}.tar`);
        await writeFile(file, await packWithTarStream(list));
        let archive: TarArchive | undefined;
        try {
          archive = await indexTarFile(file);
          for (const f of list) {
            const got = await archive.read(f.name, 1 << 20);
            expect(createHash('sha256').update(got).digest('hex')).toBe(
              createHash('sha256').update(f.body).digest('hex'),
            );
          }
          expect(
            archive
              .entries()
              .map((e) => e.name)
              .sort(),
          ).toEqual([...names].sort());
        } finally {
          await archive?.close();
        }
      }),
      { numRuns: 40 },
    );
    expect((await readdir(dir)).length).toBeGreaterThan(0);
  });
});

describe('tar index streams without buffering the archive', () => {
  it('streams a slice of a file bigger than the read buffer', async () => {
    const dir = await tempDir('tar-big');
    try {
      const big = randomBytes(3 * 1024 * 1024 + 17);
      const file = join(dir, 'big.tar');
      await writeFile(
        file,
        await packWithTarStream([
          { name: 'a', body: Buffer.from('a') },
          { name: 'big', body: big },
        ]),
      );
      const archive = await openTar(file);
      const hash = createHash('sha256');
      for await (const c of await archive.stream('big')) hash.update(c as Buffer);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
      await archive.close();
    } finally {
      await cleanupTempDirs();
    }
  });
});
