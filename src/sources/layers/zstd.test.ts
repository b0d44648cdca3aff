/**
 * The zstd codec of the layers family: the Raw-block encoder, the streaming decoder against the
 * reference `zstd` CLI (levels, long windows, several frames, skippable frames, tiny chunks), and
 * the refusals a hostile layer meets (a window above the limit, corrupt bytes).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { encodeZstdRaw, ZSTD_MAX_BLOCK, zstdDecompressor } from './zstd.js';
import { ZstdDataError, ZstdDecoder, ZstdWindowError } from './zstd-decoder.js';

const run = promisify(execFile);
afterAll(cleanupTempDirs);

const native = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';

/** Decode with {@link ZstdDecoder}, fed `chunk` bytes at a time. */
function decode(frame: Uint8Array, chunk = 64 * 1024, maxWindow = 1 << 30): Buffer {
  const decoder = new ZstdDecoder({ maxWindow });
  const out: Uint8Array[] = [];
  for (let i = 0; i < frame.length; i += chunk) {
    for (const block of decoder.push(frame.subarray(i, i + chunk))) out.push(block);
  }
  decoder.end();
  return Buffer.concat(out);
}

/** Bytes that compress well and not too well: words, then noise, then zeros. */
function sample(size: number): Buffer {
  const words = Array.from({ length: 200 }, (_, i) => `w${(i * 7919).toString(36)}`);
  let text = '';
  for (let i = 0; text.length < size / 2; i++) text += `${words[(i * 31) % words.length]} `;
  return Buffer.concat([Buffer.from(text), randomBytes(size / 4), Buffer.alloc(size / 4)]);
}

describe('zstd raw-block encoder', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty input', new Uint8Array()],
    ['a few bytes', Buffer.from('hello zstd')],
    ['exactly one full block', randomBytes(ZSTD_MAX_BLOCK)],
    ['one byte past a block', randomBytes(ZSTD_MAX_BLOCK + 1)],
    ['several blocks', randomBytes(3 * ZSTD_MAX_BLOCK + 12345)],
  ];
  it.each(cases)('round-trips %s through the decoder', (_name, data) => {
    expect(decode(encodeZstdRaw(data)).equals(Buffer.from(data))).toBe(true);
  });

  it('records the content size in the frame header, which a preallocating decoder relies on', () => {
    const frame = encodeZstdRaw(randomBytes(1000));
    // 4-byte Frame_Content_Size right after magic, descriptor and window bytes.
    expect(Buffer.from(frame).readUInt32LE(6)).toBe(1000);
  });
});

describe.skipIf(!haveTools('zstd'))('zstd against the reference CLI', () => {
  let dir: string;
  let data: Buffer;
  const zstd = async (args: string[], input: Buffer): Promise<Buffer> => {
    await writeFile(join(dir, 'in'), input);
    await run('zstd', ['-q', '-f', ...args, join(dir, 'in'), '-o', join(dir, 'out.zst')]);
    return readFile(join(dir, 'out.zst'));
  };
  beforeAll(async () => {
    dir = await tempDir('zstd');
    data = sample(3 * 1024 * 1024);
  });

  it('the reference decoder accepts the raw-block encoder', async () => {
    const raw = randomBytes(2 * ZSTD_MAX_BLOCK + 77);
    await writeFile(join(dir, 'x.zst'), encodeZstdRaw(raw));
    const { stdout } = await run('zstd', ['-d', '-c', join(dir, 'x.zst')], { encoding: 'buffer' });
    expect(stdout.equals(raw)).toBe(true);
  });

  for (const args of [
    ['-1'],
    ['-3'],
    ['-19'],
    ['--ultra', '-22'],
    ['-3', '--long=27'],
    ['--fast=5'],
    ['--no-check'],
  ]) {
    it(`decodes what zstd ${args.join(' ')} writes, whole and in 7-byte chunks`, async () => {
      const frame = await zstd(args, data);
      expect(decode(frame).equals(data)).toBe(true);
      expect(decode(frame, 7).equals(data)).toBe(true);
    });
  }

  it('decodes several frames, skippable frames between them, and a frame without a content size', async () => {
    const a = await zstd(['-9'], data);
    const b = execFileSync('zstd', ['-q', '-3', '-c'], { input: data.subarray(0, 100_000) });
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const joined = Buffer.concat([skippable, a, skippable, b, skippable]);
    const expected = Buffer.concat([data, data.subarray(0, 100_000)]);
    expect(decode(joined).equals(expected)).toBe(true);
    expect(decode(joined, 5).equals(expected)).toBe(true);
  });

  it('refuses a frame that declares a 1 GiB window before allocating it', async () => {
    // Piped input has no known size, so zstd keeps the whole --long=30 window in the header.
    const bomb = execFileSync('zstd', ['-q', '--long=30', '-c'], { input: Buffer.alloc(4 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(8192);
    const refusal = (() => {
      try {
        decode(bomb, 64 * 1024, 128 * 1024 * 1024);
      } catch (e) {
        return e;
      }
    })();
    expect(refusal).toBeInstanceOf(ZstdWindowError);
    expect(refusal).toMatchObject({ windowSize: 1024 * 1024 * 1024, limit: 128 * 1024 * 1024 });
    // The same frame is fine for a decoder allowed that window (what the limit protects against is
    // its memory, not its validity).
    expect(decode(bomb, 64 * 1024, 1 << 30).equals(Buffer.alloc(4 * 1024 * 1024))).toBe(true);
  });

  it('turns any damage into ZstdDataError (or a window refusal), never another exception or a hang', async () => {
    const frame = await zstd(['-19'], data.subarray(0, 200_000));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frame.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 1, max: frame.length }),
        (at, xor, keep) => {
          const damaged = Buffer.from(frame.subarray(0, keep));
          if (at < damaged.length) damaged[at]! ^= xor;
          try {
            decode(damaged, 4096);
          } catch (e) {
            expect(e instanceof ZstdDataError || e instanceof ZstdWindowError).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('zstdDecompressor', () => {
  const inflate = async (frame: Uint8Array, options: Parameters<typeof zstdDecompressor>[0] = {}) => {
    const chunks: Buffer[] = [];
    const out = zstdDecompressor(options);
    out.on('data', (c: Buffer) => chunks.push(c));
    await pipeline(Readable.from([Buffer.from(frame)]), out);
    return Buffer.concat(chunks);
  };

  it('gives back the bytes of a multi-block frame', async () => {
    const data = randomBytes(2 * ZSTD_MAX_BLOCK + 5);
    expect((await inflate(encodeZstdRaw(data))).equals(data)).toBe(true);
  });

  it.skipIf(native)('fails on bytes that are not zstd with one line naming the layer', async () => {
    await expect(
      inflate(Buffer.from('not a zstd frame at all'), { what: 'layer sha256:abc' }),
    ).rejects.toMatchObject({
      code: 'SOURCE_ERROR',
      message: 'layer sha256:abc is not valid zstd: not a zstd frame (bad magic number)',
    });
  });

  it.skipIf(native)(
    'refuses a window above the limit, naming the layer, the window and the limit',
    async () => {
      // Single_Segment frame whose content size (and so window) is 1 GiB: RFC 8878 §3.1.1.1.
      const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0]);
      await expect(inflate(header, { what: 'layer sha256:abc' })).rejects.toMatchObject({
        code: 'SOURCE_ERROR',
        message: expect.stringMatching(
          /^layer sha256:abc declares a zstd window of 1 GiB, more than the 128 MiB limit/,
        ),
      });
      // A lower limit refuses smaller windows.
      const small = encodeZstdRaw(randomBytes(1000));
      await expect(inflate(small, { maxWindow: 64 * 1024 })).rejects.toMatchObject({
        message: expect.stringMatching(/window of 128 KiB|window of 131072 bytes/),
      });
    },
  );
});
