/**
 * @module sources/layers/zstd
 * zstd for layers, both ways:
 * - {@link zstdDecompressor}: Node 22.15+ has zstd in zlib; Node 20 does not, so it falls back to
 *   the pure-JS fzstd decoder.
 * - {@link encodeZstdRaw}: a minimal *encoder* that stores data in Raw (uncompressed) blocks. Node
 *   20 has no zstd compressor and the project ships only a decoder, yet the image builder (tests,
 *   the offline quick start) needs `+zstd` layers that every decoder accepts. A frame made of Raw
 *   blocks is a fully valid zstd stream (RFC 8878 §3.1.1): it just does not shrink the data. Output
 *   depends on the input alone, so layer digests are stable.
 * @see https://www.rfc-editor.org/rfc/rfc8878#section-3.1.1
 */
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress, decompress } from 'fzstd';
import { ImgdigestError } from '../../core/errors.js';

type ZstdFactory = () => Transform;

/** Decompress one small zstd buffer held in memory (a table of contents, a skippable frame's payload). */
export function zstdDecompressBuffer(data: Uint8Array): Uint8Array {
  try {
    return decompress(data);
  } catch (e) {
    throw new ImgdigestError('SOURCE_ERROR', `zstd data is corrupt: ${(e as Error).message}`, { cause: e });
  }
}

/** A stream that decompresses zstd: zlib's own where Node has one, else fzstd. */
export function zstdDecompressor(): Transform {
  const native = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  if (typeof native === 'function') return native();
  const corrupt = (e: unknown) =>
    new ImgdigestError('SOURCE_ERROR', `zstd layer is corrupt: ${(e as Error).message}`);
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        decoder.push(chunk);
        cb();
      } catch (e) {
        cb(corrupt(e));
      }
    },
    flush(cb) {
      try {
        decoder.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(corrupt(e));
      }
    },
  });
  const decoder = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return out;
}

/** Frame magic number 0xFD2FB528, little-endian (RFC 8878 §3.1.1). */
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;
/** Block_Maximum_Size is min(Window_Size, 128 KiB) (RFC 8878 §3.1.1.2.3). */
export const ZSTD_MAX_BLOCK = 128 * 1024;
/**
 * Window_Descriptor for exactly 128 KiB: Exponent 7 (windowLog 10 + 7 = 17), Mantissa 0
 * (RFC 8878 §3.1.1.1.2). A window this size lets every Raw block be full-size while staying far
 * below any decoder's default memory limit, whatever the content size.
 */
const WINDOW_DESCRIPTOR_128K = 7 << 3;
/** Block_Type 0 (RFC 8878 §3.1.1.2.2). */
const RAW_BLOCK = 0;

/**
 * Encode `data` as one zstd frame of Raw blocks, with Frame_Content_Size and no checksum.
 *
 * @example
 * const frame = encodeZstdRaw(new TextEncoder().encode('hello'));
 * fzstd.decompress(frame); // the same five bytes
 */
export function encodeZstdRaw(data: Uint8Array): Uint8Array {
  const blockCount = Math.max(1, Math.ceil(data.byteLength / ZSTD_MAX_BLOCK));
  // Frame_Content_Size_flag: 2 -> 4-byte field, 3 -> 8-byte field (Single_Segment_flag is 0, so
  // flag 0 would mean "absent"; we always record the size so decoders can preallocate).
  const wide = data.byteLength > 0xffffffff;
  const fcsBytes = wide ? 8 : 4;
  const headerSize = MAGIC.length + 2 + fcsBytes;
  const out = new Uint8Array(headerSize + blockCount * 3 + data.byteLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  // Frame_Header_Descriptor: FCS flag in bits 7-6; Single_Segment 0; no checksum; no dictionary.
  out[4] = (wide ? 3 : 2) << 6;
  out[5] = WINDOW_DESCRIPTOR_128K;
  if (wide) view.setBigUint64(6, BigInt(data.byteLength), true);
  else view.setUint32(6, data.byteLength, true);

  let at = headerSize;
  for (let i = 0; i < blockCount; i++) {
    const start = i * ZSTD_MAX_BLOCK;
    const chunk = data.subarray(start, Math.min(start + ZSTD_MAX_BLOCK, data.byteLength));
    const last = i === blockCount - 1 ? 1 : 0;
    // Block_Header (3 bytes LE): Last_Block bit 0, Block_Type bits 1-2 (0 = Raw), Block_Size bits 3-23.
    const header = last | (RAW_BLOCK << 1) | (chunk.byteLength << 3);
    out[at] = header & 0xff;
    out[at + 1] = (header >>> 8) & 0xff;
    out[at + 2] = (header >>> 16) & 0xff;
    out.set(chunk, at + 3);
    at += 3 + chunk.byteLength;
  }
  return out;
}
