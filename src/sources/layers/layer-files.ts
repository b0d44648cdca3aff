/**
 * @module sources/layers/layer-files
 * The files inside a layer, read as the blob streams past: decompress (gzip, zstd or none), walk
 * the tar headers, skip the contents. Nothing is buffered whole, so a multi-GiB layer costs the
 * same memory as a small one.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { ImgdigestError } from '../../core/errors.js';
import { layerCompression } from '../../core/media-types.js';
import { decompressor, sniffCompression } from './compression.js';

export interface LayerEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: Date | null;
  linkname: string | null;
}

const TYPES: Record<string, LayerEntry['type']> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  'character-device': 'character-device',
  'block-device': 'block-device',
  fifo: 'fifo',
};

/**
 * Walk the tar entries of a layer stream and call `onEntry` for each, in archive order.
 * `mediaType` chooses the decompression; `'sniff'` detects gzip or zstd by their magic bytes (for a
 * blob named only by digest, or a docker-archive layer).
 */
export async function walkLayer(
  stream: Readable,
  mediaType: string,
  onEntry: (entry: LayerEntry) => void,
  options: { what?: string } = {},
): Promise<number> {
  let compression = mediaType === 'sniff' ? null : layerCompression(mediaType);
  if (mediaType === 'sniff') {
    const sniffed = await sniffCompression(stream);
    compression = sniffed.compression;
    stream = sniffed.stream;
  }
  if (compression === null) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `${options.what ?? 'blob'} is not a tar layer (media type ${mediaType})`,
    );
  }
  const tar = extract();
  let count = 0;
  tar.on('entry', (header, body, next) => {
    count++;
    onEntry({
      name: header.name,
      type: TYPES[header.type ?? 'file'] ?? 'other',
      size: header.size ?? 0,
      mode: header.mode ?? 0,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      uname: header.uname ?? '',
      gname: header.gname ?? '',
      mtime: header.mtime ?? null,
      linkname: header.linkname ?? null,
    });
    body.on('end', next);
    body.resume();
  });
  const d = decompressor(compression);
  try {
    if (d) await pipeline(stream, d, tar);
    else await pipeline(stream, tar);
  } catch (e) {
    if (e instanceof ImgdigestError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' ? 'is not valid gzip' : (e as Error).message;
    throw new ImgdigestError('SOURCE_ERROR', `${options.what ?? 'layer'} could not be read: ${why}`, {
      cause: e,
    });
  }
  return count;
}

const TYPE_CHAR: Record<LayerEntry['type'], string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  link: 'h',
  'character-device': 'c',
  'block-device': 'b',
  fifo: 'p',
  other: '?',
};

function modeString(entry: LayerEntry): string {
  const m = entry.mode;
  const bits = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'];
  let s = '';
  for (let i = 0; i < 9; i++) s += m & (1 << (8 - i)) ? bits[i] : '-';
  const chars = s.split('');
  if (m & 0o4000) chars[2] = chars[2] === 'x' ? 's' : 'S';
  if (m & 0o2000) chars[5] = chars[5] === 'x' ? 's' : 'S';
  if (m & 0o1000) chars[8] = chars[8] === 'x' ? 't' : 'T';
  return TYPE_CHAR[entry.type] + chars.join('');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** One line as `tar --list` prints it; with `long`, as `tar --list --verbose` (GNU tar) does. */
export function formatEntry(entry: LayerEntry, long = false): string {
  if (!long) return entry.name;
  const owner = `${entry.uname || entry.uid}/${entry.gname || entry.gid}`;
  const t = entry.mtime ?? new Date(0);
  const date = `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`;
  let line = `${modeString(entry)} ${owner} ${String(entry.size).padStart(8)} ${date} ${entry.name}`;
  if (entry.type === 'symlink') line += ` -> ${entry.linkname}`;
  if (entry.type === 'link') line += ` link to ${entry.linkname}`;
  return line;
}
/** One file read out of a layer by {@link readLayerFile}. */
export interface LayerFile {
  entry: LayerEntry;
  /** The first `limit` bytes of the file (all of it when `truncated` is false). */
  bytes: Buffer;
  truncated: boolean;
}

function normalizeName(name: string): string {
  return name
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
}

/**
 * The bytes of one file of a layer stream (the last entry of that name wins, as in the layer's
 * filesystem), at most `limit` bytes of it. The stream is read to its end, so a blob stream that
 * verifies its digest has verified the layer before this returns; null when no such file exists.
 */
export async function readLayerFile(
  stream: Readable,
  mediaType: string,
  name: string,
  options: { limit: number; what?: string },
): Promise<LayerFile | null> {
  const wanted = normalizeName(name);
  let compression = mediaType === 'sniff' ? null : layerCompression(mediaType);
  if (mediaType === 'sniff') {
    const sniffed = await sniffCompression(stream);
    compression = sniffed.compression;
    stream = sniffed.stream;
  }
  if (compression === null) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `${options.what ?? 'blob'} is not a tar layer (media type ${mediaType})`,
    );
  }
  let found: LayerFile | null = null;
  const tar = extract();
  tar.on('entry', (header, body, next) => {
    if (normalizeName(header.name) !== wanted) {
      body.on('end', next);
      body.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    body.on('data', (data: unknown) => {
      const chunk = data as Buffer;
      if (kept >= options.limit) {
        truncated = true;
        return;
      }
      const part = chunk.subarray(0, options.limit - kept);
      if (part.length < chunk.length) truncated = true;
      chunks.push(part);
      kept += part.length;
    });
    body.on('end', () => {
      found = {
        entry: {
          name: header.name,
          type: TYPES[header.type ?? 'file'] ?? 'other',
          size: header.size ?? 0,
          mode: header.mode ?? 0,
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          uname: header.uname ?? '',
          gname: header.gname ?? '',
          mtime: header.mtime ?? null,
          linkname: header.linkname ?? null,
        },
        bytes: Buffer.concat(chunks),
        truncated,
      };
      next();
    });
  });
  const d = decompressor(compression);
  try {
    if (d) await pipeline(stream, d, tar);
    else await pipeline(stream, tar);
  } catch (e) {
    if (e instanceof ImgdigestError) throw e;
    throw new ImgdigestError(
      'SOURCE_ERROR',
      `${options.what ?? 'layer'} could not be read: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  return found;
}
