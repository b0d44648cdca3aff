/**
 * The zstd codec of the layers family: the Raw-block encoder against fzstd and the reference CLI,
 * and the decompressor layers are read through.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { encodeZstdRaw, ZSTD_MAX_BLOCK, zstdDecompressor } from './zstd.js';

const run = promisify(execFile);
afterAll(cleanupTempDirs);

describe('zstd raw-block encoder', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty input', new Uint8Array()],
    ['a few bytes', Buffer.from('hello zstd')],
    ['exactly one full block', randomBytes(ZSTD_MAX_BLOCK)],
    ['one byte past a block', randomBytes(ZSTD_MAX_BLOCK + 1)],
    ['several blocks', randomBytes(3 * ZSTD_MAX_BLOCK + 12345)],
  ];
  it.each(cases)('round-trips %s through fzstd', (_name, data) => {
    const frame = encodeZstdRaw(data);
    expect(Buffer.from(zstdDecompress(frame)).equals(Buffer.from(data))).toBe(true);
  });

  it('records the content size in the frame header, which a preallocating decoder relies on', () => {
    const data = randomBytes(1000);
    const frame = encodeZstdRaw(data);
    // 4-byte Frame_Content_Size right after magic, descriptor and window bytes.
    expect(Buffer.from(frame).readUInt32LE(6)).toBe(1000);
    expect(zstdDecompress(frame, new Uint8Array(1000)).byteLength).toBe(1000);
  });
});

describe.skipIf(!haveTools('zstd'))('zstd raw-block encoder against the zstd CLI', () => {
  it('produces frames the reference decoder accepts', async () => {
    const dir = await tempDir('zstd');
    const data = randomBytes(2 * ZSTD_MAX_BLOCK + 77);
    await writeFile(join(dir, 'x.zst'), encodeZstdRaw(data));
    const { stdout } = await run('zstd', ['-d', '-c', join(dir, 'x.zst')], { encoding: 'buffer' });
    expect(stdout.equals(data)).toBe(true);
  });
});

describe('zstdDecompressor', () => {
  const inflate = async (frame: Uint8Array): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    const out = zstdDecompressor();
    out.on('data', (c: Buffer) => chunks.push(c));
    await pipeline(Readable.from([Buffer.from(frame)]), out);
    return Buffer.concat(chunks);
  };

  it('gives back the bytes of a multi-block frame', async () => {
    const data = randomBytes(2 * ZSTD_MAX_BLOCK + 5);
    expect((await inflate(encodeZstdRaw(data))).equals(data)).toBe(true);
  });

  it('fails on bytes that are not zstd with one line naming the layer as corrupt', async () => {
    const failure = inflate(Buffer.from('not a zstd frame at all'));
    // Node 22.15+ decodes with zlib's own zstd (its own error); Node 20 with fzstd, wrapped here.
    if (typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function') {
      await expect(failure).rejects.toThrow();
    } else {
      await expect(failure).rejects.toMatchObject({
        code: 'SOURCE_ERROR',
        message: expect.stringMatching(/^zstd layer is corrupt: /),
      });
    }
  });
});
