/**
 * @module sources/layers/compression
 * Which compression a blob or a file uses, told by its first bytes (never by a name or a media type
 * that may lie), and the decompressor for the formats a layer may use. `tar-open` asks about files,
 * `layer-files` about streams; both ask {@link compressionOf}.
 * @see https://www.rfc-editor.org/rfc/rfc1952#section-2.3.1 (gzip ID1 ID2)
 * @see https://www.rfc-editor.org/rfc/rfc8878#section-3.1.1 (zstd magic number)
 */
import type { Duplex, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { LayerCompression } from '../../core/media-types.js';
import { zstdDecompressor } from './zstd.js';

/** Compression formats recognised by their magic bytes. */
export type MagicCompression = 'gzip' | 'bzip2' | 'xz' | 'zstd';

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** The compression `head` (the first bytes of a file or stream) starts with, or null for none known. */
export function compressionOf(head: Uint8Array): MagicCompression | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (startsWith(head, [0x42, 0x5a, 0x68])) return 'bzip2'; // "BZh"
  if (startsWith(head, XZ_MAGIC)) return 'xz';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  return null;
}

/**
 * Detect gzip (1f 8b) or zstd (28 b5 2f fd) from the first bytes, without consuming them. Anything
 * else is `none`: a layer is a tar, gzip or zstd (OCI image-spec layer media types).
 */
export async function sniffCompression(
  stream: Readable,
): Promise<{ compression: LayerCompression; stream: Readable }> {
  const found = compressionOf(await peek(stream, 4));
  return { compression: found === 'gzip' || found === 'zstd' ? found : 'none', stream };
}

/**
 * Bytes of tar the gunzip stream produces per step. zlib's default (16 KiB) makes every 16 KiB of
 * output a trip to the thread pool and back plus a fresh 16 KiB buffer: `getBlob` + `walkLayer`
 * over a 64 MiB gzip layer of small files spent 13.6-17.3 ms of CPU per MiB of gzip with it,
 * 9.2-11.1 ms with 256 KiB (bench/profile/files.ts, interleaved runs).
 */
const GUNZIP_CHUNK = 256 * 1024;

/** A stream that decompresses a layer, or null when it is not compressed. */
export function decompressor(
  compression: LayerCompression,
  options: { what?: string; maxZstdWindow?: number } = {},
): Duplex | null {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: GUNZIP_CHUNK });
    case 'zstd':
      return zstdDecompressor({
        ...(options.what !== undefined ? { what: options.what } : {}),
        ...(options.maxZstdWindow !== undefined ? { maxWindow: options.maxZstdWindow } : {}),
      });
    case 'none':
      return null;
  }
}

/** The first `n` bytes of a stream (fewer if it ends first), put back so the stream is unchanged. */
export async function peek(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      have += chunk.length;
      continue;
    }
    if (stream.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const done = (value: boolean) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('error', onError);
        resolve(value);
      };
      const onReadable = () => done(false);
      const onEnd = () => done(true);
      const onError = (e: Error) => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        reject(e);
      };
      stream.once('readable', onReadable);
      stream.once('end', onEnd);
      stream.once('error', onError);
    });
    if (ended) break;
  }
  const all = Buffer.concat(chunks);
  if (all.length > 0) stream.unshift(all);
  return all.subarray(0, n);
}
