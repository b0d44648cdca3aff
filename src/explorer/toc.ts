/**
 * @module explorer/toc
 * Layers that carry a table of contents, read by HTTP Range without downloading the layer:
 *
 * - eStargz (containerd/stargz-snapshotter `docs/estargz.md`): a gzip layer whose last 51 bytes are
 *   a gzip member with an extra field `%016x` + `STARGZ` giving the offset of the TOC, a gzip member
 *   holding a tar with one entry `stargz.index.json`. Each file's content starts a gzip member at
 *   the entry's `offset`; the TOC digest is the manifest annotation
 *   `containerd.io/snapshot/stargz/toc.digest` (sha256 of the JSON).
 * - zstd:chunked (containers/storage `pkg/chunked`): a zstd layer ending in a skippable frame
 *   (magic 0x184D2A50, 40 bytes: offset, length, uncompressed length, type, each u64 LE, then
 *   `GnUlInUx`) that locates the zstd-compressed TOC; the manifest annotation
 *   `io.github.containers.zstd-chunked.manifest-checksum` (or the older `io.containers.…`) is the
 *   sha256 of the compressed TOC. Each file is zstd frames at `offset`..`endOffset`.
 *
 * Files read this way are checked against the TOC's per-file `digest`.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FileEntry, LayerFormat } from './layer-cache.js';
import { ImgdigestError, zstdDecompressBuffer as zstdDecompress } from './library.js';

export const ESTARGZ_FOOTER = 51;
export const ZSTD_CHUNKED_FOOTER = 48;
export const ESTARGZ_TOC_DIGEST = 'containerd.io/snapshot/stargz/toc.digest';
export const ZSTD_CHUNKED_CHECKSUM = [
  'io.github.containers.zstd-chunked.manifest-checksum',
  'io.containers.zstd-chunked.manifest-checksum',
];
/** A TOC larger than this is refused (the registry client caps ranged reads at 64 MiB too). */
export const TOC_LIMIT = 64 * 1024 * 1024;

export interface TocLocation {
  format: Exclude<LayerFormat, 'tar'>;
  /** Byte range of the TOC in the blob (end exclusive). */
  start: number;
  end: number;
}

/** Read a blob range (end exclusive); null when the registry refuses ranges. */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array | null>;

/**
 * Where the TOC is, from the blob's last bytes (at least 51) and its size; null for a layer with
 * no TOC footer (a plain gzip or zstd layer).
 */
export function locateToc(tail: Uint8Array, size: number): TocLocation | null {
  const found = footer(tail, size);
  if (found && found.end - found.start > TOC_LIMIT) {
    throw new ImgdigestError(
      'SOURCE_ERROR',
      `the ${found.format} table of contents is ${found.end - found.start} bytes, over ${TOC_LIMIT}`,
    );
  }
  return found;
}

function footer(tail: Uint8Array, size: number): TocLocation | null {
  const buf = Buffer.from(tail);
  if (buf.length >= ZSTD_CHUNKED_FOOTER) {
    const f = buf.subarray(buf.length - ZSTD_CHUNKED_FOOTER);
    if (f.readUInt32LE(0) === 0x184d2a50 && f.toString('latin1', 40, 48) === 'GnUlInUx') {
      const offset = Number(f.readBigUInt64LE(8));
      const length = Number(f.readBigUInt64LE(16));
      if (offset + length <= size && length > 0)
        return { format: 'zstd:chunked', start: offset, end: offset + length };
    }
  }
  if (buf.length >= ESTARGZ_FOOTER) {
    const f = buf.subarray(buf.length - ESTARGZ_FOOTER);
    // gzip header with FEXTRA, XLEN 26, subfield 'S','G' of 22 bytes: 16 hex digits + "STARGZ".
    if (
      f[0] === 0x1f &&
      f[1] === 0x8b &&
      f[3]! & 0x04 &&
      f.readUInt16LE(10) === 26 &&
      f.toString('latin1', 12, 14) === 'SG'
    ) {
      const payload = f.toString('latin1', 16, 38);
      if (payload.endsWith('STARGZ') && /^[0-9a-f]{16}$/.test(payload.slice(0, 16))) {
        const offset = Number.parseInt(payload.slice(0, 16), 16);
        if (offset < size - ESTARGZ_FOOTER)
          return { format: 'estargz', start: offset, end: size - ESTARGZ_FOOTER };
      }
    }
  }
  return null;
}

/** One file's data inside the blob: compressed ranges and what to take from each. */
interface Chunk {
  start: number;
  end: number;
  /** Bytes of file content this chunk holds (eStargz: take this many from the decompressed member). */
  size: number;
}

export interface Toc {
  format: Exclude<LayerFormat, 'tar'>;
  entries: FileEntry[];
  /** sha256 of the TOC as the manifest annotation computes it. */
  digest: string;
  /** Where each regular file's bytes are. */
  chunks: Map<string, { chunks: Chunk[]; digest: string | null; size: number }>;
}

interface RawTocEntry {
  name?: string;
  type?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  modtime?: string;
  linkName?: string;
  digest?: string;
  offset?: number;
  endOffset?: number;
  chunkOffset?: number;
  chunkSize?: number;
}

const TYPES: Record<string, FileEntry['type']> = {
  reg: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

/** The eStargz TOC tar holds one entry; take its data (a ustar header, then the JSON). */
function tarSingleEntry(tar: Buffer): Buffer {
  const size = Number.parseInt(tar.toString('latin1', 124, 136).replace(/\0.*$/, '').trim(), 8);
  if (!Number.isSafeInteger(size) || 512 + size > tar.length) {
    throw new ImgdigestError('SOURCE_ERROR', 'the eStargz table of contents is not a valid tar');
  }
  return tar.subarray(512, 512 + size);
}

/** Parse the TOC bytes (as stored in the blob) into entries and file chunks. */
export function parseToc(location: TocLocation, stored: Uint8Array, size: number): Toc {
  let json: Buffer;
  let digest: string;
  try {
    if (location.format === 'estargz') {
      json = tarSingleEntry(gunzipSync(stored));
      digest = `sha256:${createHash('sha256').update(json).digest('hex')}`;
    } else {
      json = Buffer.from(zstdDecompress(stored));
      digest = `sha256:${createHash('sha256').update(stored).digest('hex')}`;
    }
  } catch (e) {
    if (e instanceof ImgdigestError) throw e;
    throw new ImgdigestError(
      'SOURCE_ERROR',
      `the ${location.format} table of contents cannot be decompressed: ${(e as Error).message}`,
    );
  }
  let parsed: { entries?: RawTocEntry[] };
  try {
    parsed = JSON.parse(json.toString('utf8')) as { entries?: RawTocEntry[] };
  } catch {
    throw new ImgdigestError('SOURCE_ERROR', `the ${location.format} table of contents is not JSON`);
  }
  const raw = Array.isArray(parsed.entries) ? parsed.entries : [];
  // eStargz chunks run to the next member: the next larger offset, or the TOC itself.
  const offsets = [
    ...new Set(raw.map((e) => e.offset).filter((o): o is number => typeof o === 'number' && o > 0)),
  ].sort((a, b) => a - b);
  const nextOffset = (o: number) => offsets.find((x) => x > o) ?? location.start;
  const entries: FileEntry[] = [];
  const chunks: Toc['chunks'] = new Map();
  let current: { chunks: Chunk[]; digest: string | null; size: number } | null = null;
  for (const e of raw) {
    const name = String(e.name ?? '')
      .replace(/^(\.\/)+/, '')
      .replace(/^\/+/, '')
      .replace(/\/+$/, '');
    if (e.type === 'chunk') {
      if (current && typeof e.offset === 'number') current.chunks.push(chunkOf(location, e, nextOffset));
      continue;
    }
    if (
      location.format === 'estargz' &&
      (name === '.prefetch.landmark' || name === '.no.prefetch.landmark' || name === 'stargz.index.json')
    )
      continue;
    const type = TYPES[e.type ?? ''] ?? 'other';
    entries.push(toEntry(name, type, e));
    if (type === 'file') {
      current = { chunks: [], digest: typeof e.digest === 'string' ? e.digest : null, size: e.size ?? 0 };
      if (typeof e.offset === 'number' && (e.size ?? 0) > 0)
        current.chunks.push(chunkOf(location, e, nextOffset));
      chunks.set(name, current);
    } else {
      current = null;
    }
  }
  void size;
  return { format: location.format, entries, digest, chunks };
}

function chunkOf(location: TocLocation, e: RawTocEntry, nextOffset: (o: number) => number): Chunk {
  const start = e.offset!;
  const end =
    location.format === 'zstd:chunked' && typeof e.endOffset === 'number' ? e.endOffset : nextOffset(start);
  return { start, end, size: e.chunkSize ?? e.size ?? 0 };
}

function toEntry(path: string, type: FileEntry['type'], e: RawTocEntry): FileEntry {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const opaque = base === '.wh..wh..opq';
  const whiteout = opaque ? 'opaque' : base.startsWith('.wh.') ? 'file' : null;
  return {
    path,
    type,
    size: type === 'file' ? (e.size ?? 0) : 0,
    mode: e.mode ?? 0,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    uname: e.userName ?? '',
    gname: e.groupName ?? '',
    mtime: e.modtime && !e.modtime.startsWith('0001-') ? new Date(e.modtime).toISOString() : null,
    linkname: e.linkName ?? null,
    whiteout,
    target:
      whiteout === 'file' ? `${dir}${base.slice(4)}` : whiteout === 'opaque' ? dir.replace(/\/$/, '') : null,
  };
}

/**
 * A file's bytes through ranged reads, checked against the TOC's digest; null when the registry
 * refused a range (the caller then streams the layer).
 */
export async function readTocFile(
  toc: Toc,
  path: string,
  read: RangeReader,
  limit: number,
): Promise<{ bytes: Buffer; truncated: boolean; fetched: number; verified: boolean } | null> {
  const file = toc.chunks.get(path);
  if (!file) return null;
  const parts: Buffer[] = [];
  let fetched = 0;
  let have = 0;
  for (const chunk of file.chunks) {
    if (have >= limit) break;
    const stored = await read(chunk.start, chunk.end);
    if (!stored) return null;
    fetched += stored.length;
    let plain: Buffer;
    try {
      plain = toc.format === 'estargz' ? gunzipSync(stored) : Buffer.from(zstdDecompress(stored));
    } catch (e) {
      throw new ImgdigestError(
        'SOURCE_ERROR',
        `${path}: its ${toc.format} chunk cannot be decompressed: ${(e as Error).message}`,
      );
    }
    const part = plain.subarray(0, chunk.size);
    parts.push(part);
    have += part.length;
  }
  const all = Buffer.concat(parts);
  const whole = have >= file.size;
  if (whole && file.digest) {
    const actual = `sha256:${createHash('sha256').update(all.subarray(0, file.size)).digest('hex')}`;
    if (actual !== file.digest) {
      throw new ImgdigestError(
        'DIGEST_MISMATCH',
        `${path}: content digest mismatch: the table of contents says ${file.digest}, the bytes are ${actual}`,
      );
    }
  }
  return {
    bytes: all.subarray(0, Math.min(limit, file.size)),
    truncated: file.size > limit,
    fetched,
    verified: whole && file.digest !== null,
  };
}
