/**
 * @module sources/layers/layer-files
 * The files inside a layer, read as the blob streams past: decompress (gzip, zstd or none), walk
 * the tar headers, skip the contents. Nothing is buffered whole, so a multi-GiB layer costs the
 * same memory as a small one (`verifyFirst` spends disk instead: see {@link walkLayer}).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header as Headers } from 'tar-stream';
import { ImgdigestError } from '../../core/errors.js';
import { layerCompression } from '../../core/media-types.js';
import { escapeText } from '../../core/terminal-text.js';
import { decompressor, sniffCompression } from './compression.js';
import { DEFAULT_MAX_ZSTD_WINDOW, nativeZstdError } from './zstd.js';

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

/** What {@link walkLayer} may be told. */
export interface WalkLayerOptions {
  /** What to call the stream in messages (default "layer"). */
  what?: string;
  /**
   * Read the whole stream into a temporary file before listing anything, so that `onEntry` sees
   * only bytes the stream delivered to its end (a `BlobReader` stream ends only after its digest
   * and size verified). Costs disk space equal to the stream's size; the file is removed
   * whatever happens.
   */
  verifyFirst?: boolean;
  /** Where the temporary file of `verifyFirst` goes (default the system's temporary directory). */
  tempDir?: string;
  /** The largest zstd window accepted, in bytes (default {@link DEFAULT_MAX_ZSTD_WINDOW}). */
  maxZstdWindow?: number;
}

/**
 * Walk the tar entries of a layer stream and call `onEntry` for each, in archive order; resolves
 * with the number of entries.
 *
 * `mediaType` chooses the decompression; `'sniff'` detects gzip or zstd by their magic bytes (for a
 * blob named only by digest, or a docker-archive layer).
 *
 * Verification: entries are delivered as the bytes stream past, and the promise resolves only
 * once the stream has ended, which for a `BlobReader` means its digest verified. When it rejects,
 * the entries already delivered may come from bytes that did not verify; `verifyFirst` delivers
 * none until the whole stream verified.
 *
 * Every failure (the source stream, the HTTP body behind it, the digest check, gzip, zstd, the
 * tar parser, an `onEntry` that throws) rejects the promise once, as an `ImgdigestError`; the
 * streams are destroyed and none is left with an unhandled `'error'` event.
 */
export async function walkLayer(
  stream: Readable,
  mediaType: string,
  onEntry: (entry: LayerEntry) => void,
  options: WalkLayerOptions = {},
): Promise<number> {
  // An error between here and the pipeline (while sniffing, while spooling) is still reported
  // through the promise, never as an unhandled 'error' event of the caller's stream.
  const swallow = () => {};
  stream.on('error', swallow);
  try {
    if (options.verifyFirst) return await walkVerifiedCopy(stream, mediaType, onEntry, options);
    return await walkStream(stream, mediaType, onEntry, options);
  } catch (e) {
    stream.destroy();
    throw readError(e, options.what ?? 'layer', options.maxZstdWindow ?? DEFAULT_MAX_ZSTD_WINDOW);
  } finally {
    stream.off('error', swallow);
  }
}

/** Copy the stream to a temporary file (the stream verifies as it ends), then walk the copy. */
async function walkVerifiedCopy(
  stream: Readable,
  mediaType: string,
  onEntry: (entry: LayerEntry) => void,
  options: WalkLayerOptions,
): Promise<number> {
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'imgdigest-layer-'));
  try {
    const file = join(dir, 'layer');
    await pipeline(stream, createWriteStream(file, { flags: 'wx' }));
    return await walkStream(createReadStream(file), mediaType, onEntry, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function walkStream(
  stream: Readable,
  mediaType: string,
  onEntry: (entry: LayerEntry) => void,
  options: WalkLayerOptions,
): Promise<number> {
  let count = 0;
  await readTar(stream, mediaType, options, (header, body, next, tar) => {
    count++;
    try {
      onEntry(entryOf(header));
    } catch (e) {
      tar.destroy(e as Error);
      return;
    }
    body.on('end', next);
    body.resume();
  });
  return count;
}

type TarEntryHandler = (
  header: Headers,
  body: Readable,
  next: () => void,
  tar: ReturnType<typeof extract>,
) => void;

/**
 * The one way a layer stream is read here: choose or sniff the compression, refuse what is not a
 * tar layer, decompress (with the zstd window limit) and hand each tar entry to `onTarEntry`, which
 * must consume or skip its body and call `next`.
 */
async function readTar(
  stream: Readable,
  mediaType: string,
  options: { what?: string; maxZstdWindow?: number },
  onTarEntry: TarEntryHandler,
): Promise<void> {
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
  tar.on('entry', (header, body, next) => {
    // tar-stream destroys the entry being read with the pipeline's error: without a listener
    // that error would be thrown again as an unhandled 'error' event and end the process.
    body.on('error', () => {});
    onTarEntry(header, body as unknown as Readable, next, tar);
  });
  const d = decompressor(compression, {
    what: options.what ?? 'layer',
    ...(options.maxZstdWindow !== undefined ? { maxZstdWindow: options.maxZstdWindow } : {}),
  });
  if (d) await pipeline(stream, d, tar);
  else await pipeline(stream, tar);
}

function entryOf(header: Headers): LayerEntry {
  return {
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
  };
}

/** Any failure of the walk as one `ImgdigestError` that names the layer. */
function readError(e: unknown, what: string, maxZstdWindow: number): ImgdigestError {
  if (e instanceof ImgdigestError) return e;
  const zstd = nativeZstdError(e, what, maxZstdWindow);
  if (zstd) return zstd;
  const code = String((e as NodeJS.ErrnoException | null)?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  let why = message;
  if (code === 'Z_BUF_ERROR') why = 'the gzip stream is truncated (unexpected end of file)';
  else if (code.startsWith('Z_')) why = `not valid gzip (${message})`;
  else if (/tar header|unexpected end of data/i.test(message)) why = `not a valid tar archive (${message})`;
  return new ImgdigestError('SOURCE_ERROR', `${what} could not be read: ${why}`, { cause: e });
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

/** The mode column of `ls -l` and `tar -tv` (`drwxr-xr-x`, setuid/setgid/sticky as s/S, t/T). */
export function modeString(entry: Pick<LayerEntry, 'mode' | 'type'>): string {
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

/**
 * One line as `tar --list` prints it; with `long`, as `tar --list --verbose` (GNU tar) does. Names
 * and link targets are quoted as GNU tar quotes them (control characters as `\n`, `\033`, ...), so a
 * name cannot act on the terminal it is printed to.
 */
export function formatEntry(entry: LayerEntry, long = false): string {
  const name = escapeText(entry.name);
  if (!long) return name;
  const owner = `${entry.uname || entry.uid}/${entry.gname || entry.gid}`;
  const t = entry.mtime ?? new Date(0);
  const date = `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`;
  let line = `${modeString(entry)} ${escapeText(owner)} ${String(entry.size).padStart(8)} ${date} ${name}`;
  if (entry.type === 'symlink') line += ` -> ${escapeText(entry.linkname ?? '')}`;
  if (entry.type === 'link') line += ` link to ${escapeText(entry.linkname ?? '')}`;
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
  options: { limit: number; what?: string; maxZstdWindow?: number },
): Promise<LayerFile | null> {
  const wanted = normalizeName(name);
  let found: LayerFile | null = null;
  const swallow = () => {};
  stream.on('error', swallow);
  try {
    await readTar(stream, mediaType, options, (header, body, next) => {
      if (normalizeName(header.name) !== wanted) {
        body.on('end', next);
        body.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      body.on('data', (chunk: Buffer) => {
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
        found = { entry: entryOf(header), bytes: Buffer.concat(chunks), truncated };
        next();
      });
    });
  } catch (e) {
    stream.destroy();
    throw readError(e, options.what ?? 'layer', options.maxZstdWindow ?? DEFAULT_MAX_ZSTD_WINDOW);
  } finally {
    stream.off('error', swallow);
  }
  return found;
}
