/**
 * @module explorer/layers
 * A layer's files for the explorer: from its table of contents by HTTP Range when it has one
 * (eStargz, zstd:chunked), else by streaming the layer once (verified against its digest) into a
 * listing that pages can follow while it fills. Files are read the same two ways.
 */
import { Transform } from 'node:stream';
import type { Address } from './address.js';
import type { FileEntry, LayerListing } from './layer-cache.js';
import {
  type Descriptor,
  type ImageSource,
  ImgdigestError,
  type LayerEntry,
  RegistrySource,
  readLayerFile,
  walkLayer,
} from './library.js';
import type { ExplorerState } from './state.js';
import {
  ESTARGZ_FOOTER,
  ESTARGZ_TOC_DIGEST,
  locateToc,
  parseToc,
  readTocFile,
  type Toc,
  ZSTD_CHUNKED_CHECKSUM,
} from './toc.js';

/** Most entries one listing holds (a hostile layer of tiny files cannot exhaust memory). */
export const MAX_ENTRIES = 2_000_000;

/** What is known about a layer before reading it. */
export interface LayerInfo {
  digest: string;
  size: number | null;
  mediaType: string | null;
  annotations: Record<string, string>;
}

export function infoOf(digest: string, descriptor: Descriptor | null): LayerInfo {
  return {
    digest,
    size: descriptor?.size ?? null,
    mediaType: descriptor?.mediaType ?? null,
    annotations: descriptor?.annotations ?? {},
  };
}

export function toFileEntry(e: LayerEntry): FileEntry {
  const path = e.name
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const opaque = base === '.wh..wh..opq';
  const whiteout = opaque ? 'opaque' : base.startsWith('.wh.') ? 'file' : null;
  return {
    path,
    type: e.type,
    size: e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.uname,
    gname: e.gname,
    mtime: e.mtime ? e.mtime.toISOString() : null,
    linkname: e.linkname || null,
    whiteout,
    target:
      whiteout === 'file' ? `${dir}${base.slice(4)}` : whiteout === 'opaque' ? dir.replace(/\/$/, '') : null,
  };
}

/** TOCs read, by layer digest (a digest's TOC never changes); the oldest go past this many. */
const MAX_TOCS = 256;
const tocs = new Map<string, Promise<Toc | null>>();

function tocDigestAnnotation(info: LayerInfo): string | null {
  for (const key of [ESTARGZ_TOC_DIGEST, ...ZSTD_CHUNKED_CHECKSUM]) {
    if (info.annotations[key]) return info.annotations[key];
  }
  return null;
}

/**
 * The layer's TOC through ranged reads, or null (not a registry, no TOC footer, ranges refused).
 * `onFetch` counts the bytes fetched.
 */
export async function layerToc(
  source: ImageSource,
  info: LayerInfo,
  onFetch: (n: number) => void,
  signal?: AbortSignal,
): Promise<{ toc: Toc; verified: boolean | null; total: number } | null> {
  if (!(source instanceof RegistrySource)) return null;
  if (info.mediaType && !/gzip|zstd/.test(info.mediaType)) return null;
  let pending = tocs.get(info.digest);
  let total = info.size;
  if (!pending) {
    pending = (async () => {
      const digest = info.digest as `${string}:${string}`;
      const tail = await source.blobRange(digest, { start: -ESTARGZ_FOOTER }, signal ? { signal } : {});
      if (!tail) return null;
      onFetch(tail.bytes.length);
      total = tail.total ?? total;
      if (total === null) return null;
      const location = locateToc(tail.bytes, total);
      if (!location) return null;
      const stored = await source.blobRange(
        digest,
        { start: location.start, end: location.end - 1 },
        signal ? { signal } : {},
      );
      if (!stored) return null;
      onFetch(stored.bytes.length);
      return parseToc(location, stored.bytes, total);
    })();
    tocs.set(info.digest, pending);
    if (tocs.size > MAX_TOCS) tocs.delete(tocs.keys().next().value!);
    pending.then(
      (t) => {
        if (!t) tocs.delete(info.digest);
      },
      () => tocs.delete(info.digest),
    );
  }
  const toc = await pending;
  if (!toc) return null;
  const expected = tocDigestAnnotation(info);
  if (expected && expected !== toc.digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `layer ${info.digest}: its ${toc.format} table of contents has digest ${toc.digest}, the manifest says ${expected}`,
    );
  }
  return { toc, verified: expected ? true : null, total: total ?? 0 };
}

/** Count bytes flowing through, reporting every `step` bytes. */
function counter(onBytes: (total: number) => void): Transform {
  let total = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total - last >= 256 * 1024) {
        last = total;
        onBytes(total);
      }
      cb(null, chunk);
    },
    flush(cb) {
      onBytes(total);
      cb();
    },
  });
}

/** Start (or join) the listing of a layer. */
export function listLayer(state: ExplorerState, address: Address, info: LayerInfo): LayerListing {
  return state.layers.obtain(info.digest, async (listing) => {
    const signal = AbortSignal.timeout(state.options.layerTimeoutMs ?? 600_000);
    const source = await state.source(address);
    listing.total = info.size;
    const viaToc = await layerToc(
      source,
      info,
      (n) => {
        listing.bytesFetched += n;
      },
      signal,
    ).catch((e: unknown) => {
      if (e instanceof ImgdigestError && e.code === 'DIGEST_MISMATCH') throw e;
      return null; // a TOC that cannot be read: stream the layer instead
    });
    if (viaToc) {
      listing.format = viaToc.toc.format;
      listing.compression = viaToc.toc.format === 'estargz' ? 'gzip' : 'zstd';
      listing.total = viaToc.total;
      listing.tocVerified = viaToc.verified;
      for (const e of viaToc.toc.entries) listing.add(e);
      listing.progress(listing.bytesFetched);
      return;
    }
    const reader = await source.blob(
      { digest: info.digest as `${string}:${string}`, ...(info.size !== null ? { size: info.size } : {}) },
      { signal },
    );
    listing.total = reader.size;
    const counted = reader.stream.pipe(
      counter((n) => {
        listing.bytesFetched = n;
        listing.progress(n);
      }),
    );
    reader.stream.on('error', (e) => counted.destroy(e));
    await walkLayer(
      counted,
      info.mediaType ?? 'sniff',
      (entry) => {
        if (listing.entries.length >= MAX_ENTRIES) {
          counted.destroy(
            new ImgdigestError(
              'SOURCE_ERROR',
              `layer ${info.digest} has more than ${MAX_ENTRIES} entries; listing stopped`,
            ),
          );
          return;
        }
        listing.add(toFileEntry(entry));
      },
      { what: `layer ${info.digest}` },
    );
  });
}

/** One file of a layer, as the file view and the download need it. */
export interface FileRead {
  entry: FileEntry | null;
  bytes: Buffer;
  truncated: boolean;
  /** How the bytes were read, and what that cost. */
  via: 'range' | 'stream';
  bytesFetched: number;
  /** What the bytes were checked against. */
  verifiedBy: 'layer digest' | 'table of contents digest' | null;
}

/** Read one file (at most `limit` bytes), by range when the layer has a TOC, else by streaming. */
export async function readFile(
  state: ExplorerState,
  address: Address,
  info: LayerInfo,
  path: string,
  limit: number,
): Promise<FileRead | null> {
  const signal = AbortSignal.timeout(state.options.layerTimeoutMs ?? 600_000);
  const source = await state.source(address);
  let fetched = 0;
  const viaToc = await layerToc(
    source,
    info,
    (n) => {
      fetched += n;
    },
    signal,
  ).catch((e: unknown) => {
    if (e instanceof ImgdigestError && e.code === 'DIGEST_MISMATCH') throw e;
    return null;
  });
  if (viaToc && source instanceof RegistrySource) {
    const entry = viaToc.toc.entries.find((e) => e.path === path) ?? null;
    if (!entry) return null;
    if (entry.type !== 'file')
      return {
        entry,
        bytes: Buffer.alloc(0),
        truncated: false,
        via: 'range',
        bytesFetched: fetched,
        verifiedBy: null,
      };
    const got = await readTocFile(
      viaToc.toc,
      path,
      async (start, end) => {
        const r = await source.blobRange(
          info.digest as `${string}:${string}`,
          { start, end: end - 1 },
          { signal },
        );
        return r ? r.bytes : null;
      },
      limit,
    );
    if (got) {
      return {
        entry,
        bytes: got.bytes,
        truncated: got.truncated,
        via: 'range',
        bytesFetched: fetched + got.fetched,
        verifiedBy: got.verified ? 'table of contents digest' : null,
      };
    }
  }
  const reader = await source.blob(
    { digest: info.digest as `${string}:${string}`, ...(info.size !== null ? { size: info.size } : {}) },
    { signal },
  );
  let streamed = 0;
  const counted = reader.stream.pipe(
    counter((n) => {
      streamed = n;
    }),
  );
  reader.stream.on('error', (e) => counted.destroy(e));
  const found = await readLayerFile(counted, info.mediaType ?? 'sniff', path, {
    limit,
    what: `layer ${info.digest}`,
  });
  if (!found) return null;
  return {
    entry: toFileEntry(found.entry),
    bytes: found.bytes,
    truncated: found.truncated,
    via: 'stream',
    bytesFetched: fetched + streamed,
    verifiedBy: 'layer digest',
  };
}
