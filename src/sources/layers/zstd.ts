/**
 * @module sources/layers/zstd
 * zstd for layers, both ways:
 * - {@link zstdDecompressor}: Node 22.15+ has zstd in zlib and it is used there; Node 20 has not,
 *   so the decoder of `zstd-decoder` (ours, streaming, linear in the output) decodes instead.
 *   Either way a frame declaring a window above `maxWindow` (default 128 MiB, the largest the
 *   `zstd` CLI accepts without `--long`) is refused before its window is allocated.
 * - {@link encodeZstdRaw}: a minimal *encoder* that stores data in Raw (uncompressed) blocks. Node
 *   20 has no zstd compressor and the project ships only a decoder, yet the image builder (tests,
 *   the offline quick start) needs `+zstd` layers that every decoder accepts. A frame made of Raw
 *   blocks is a fully valid zstd stream (RFC 8878 §3.1.1): it just does not shrink the data. Output
 *   depends on the input alone, so layer digests are stable.
 * @see https://www.rfc-editor.org/rfc/rfc8878#section-3.1.1
 */
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { ImgdigestError } from '../../core/errors.js';
import { ZstdDecoder, ZstdWindowError } from './zstd-decoder.js';

/** The largest zstd window accepted by default: 128 MiB (`zstd -d` refuses more without `--long`). */
export const DEFAULT_MAX_ZSTD_WINDOW = 128 * 1024 * 1024;

export interface ZstdDecompressorOptions {
  /** What to call the data in messages (default "zstd layer"). */
  what?: string;
  /** The largest window a frame may declare, in bytes (default {@link DEFAULT_MAX_ZSTD_WINDOW}). */
  maxWindow?: number;
}

type NativeZstd = (options: { params: Record<number, number> }) => Duplex;

/** 1073741824 -> "1 GiB"; sizes that are not whole MiB stay in bytes. */
function sizeText(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (Number.isInteger(mib / 1024)) return `${mib / 1024} GiB`;
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

/** The refusal of a frame whose window is above `limit` (`size` null when the decoder did not say). */
export function zstdWindowError(what: string, size: number | null, limit: number): ImgdigestError {
  const declared =
    size === null ? 'a zstd window larger than' : `a zstd window of ${sizeText(size)}, more than`;
  return new ImgdigestError(
    'SOURCE_ERROR',
    `${what} declares ${declared} the ${sizeText(limit)} limit: refused (a window that large makes decompression cost that much memory)`,
    { details: { windowSize: size, limit } },
  );
}

/**
 * An error of zlib's own zstd decoder (Node 22.15+) in our words, or null when it is not one:
 * libzstd refuses a window above `ZSTD_d_windowLogMax` with "Frame requires too much memory".
 */
export function nativeZstdError(e: unknown, what: string, maxWindow: number): ImgdigestError | null {
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  if (!code.startsWith('ZSTD_') && !/zstd/i.test(code)) return null;
  if (/too much memory|window/i.test(message)) return zstdWindowError(what, null, maxWindow);
  return new ImgdigestError('SOURCE_ERROR', `${what} is not valid zstd: ${message}`, { cause: e });
}

/**
 * A stream that decompresses zstd: zlib's own where Node has one, else {@link ZstdDecoder}.
 * Fails with one `SOURCE_ERROR` naming `what` for corrupt data or a window above `maxWindow`.
 */
export function zstdDecompressor(options: ZstdDecompressorOptions = {}): Duplex {
  const what = options.what ?? 'zstd layer';
  const maxWindow = options.maxWindow ?? DEFAULT_MAX_ZSTD_WINDOW;
  const native = (zlib as unknown as { createZstdDecompress?: NativeZstd }).createZstdDecompress;
  const windowLogMax = (zlib.constants as Record<string, number>).ZSTD_d_windowLogMax;
  if (typeof native === 'function' && windowLogMax !== undefined) {
    // zlib's errors are mapped by the caller's pipeline (see `nativeZstdError`).
    return native({ params: { [windowLogMax]: Math.floor(Math.log2(maxWindow)) } });
  }
  const decoder = new ZstdDecoder({ maxWindow });
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    try {
      for await (const chunk of source) {
        for (const block of decoder.push(chunk))
          yield Buffer.from(block.buffer, block.byteOffset, block.byteLength);
      }
      decoder.end();
    } catch (e) {
      if (e instanceof ZstdWindowError) throw zstdWindowError(what, e.windowSize, e.limit);
      if (e instanceof ImgdigestError || !(e instanceof Error) || e.name !== 'ZstdDataError') throw e;
      throw new ImgdigestError('SOURCE_ERROR', `${what} is not valid zstd: ${e.message}`, { cause: e });
    }
  });
}

/**
 * Decompress one zstd buffer held in memory (a table of contents, a skippable frame's payload),
 * with the same window limit and errors as {@link zstdDecompressor}.
 */
export function zstdDecompressBuffer(data: Uint8Array, options: ZstdDecompressorOptions = {}): Uint8Array {
  const what = options.what ?? 'zstd data';
  const maxWindow = options.maxWindow ?? DEFAULT_MAX_ZSTD_WINDOW;
  const decoder = new ZstdDecoder({ maxWindow });
  try {
    const blocks = [...decoder.push(data)];
    decoder.end();
    return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
  } catch (e) {
    if (e instanceof ZstdWindowError) throw zstdWindowError(what, e.windowSize, e.limit);
    if (e instanceof ImgdigestError || !(e instanceof Error) || e.name !== 'ZstdDataError') throw e;
    throw new ImgdigestError('SOURCE_ERROR', `${what} is not valid zstd: ${e.message}`, { cause: e });
  }
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
 * for (const block of new ZstdDecoder({ maxWindow: 1 << 27 }).push(frame)) ...; // the same five bytes
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
