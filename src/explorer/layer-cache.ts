/**
 * @module explorer/layer-cache
 * Layer listings by layer digest, in memory with a byte bound (a digest names the bytes forever,
 * so a listing never goes stale). A listing being read is shared: a second page asking for the same
 * layer follows the first one's progress instead of downloading the layer again.
 */
import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import type { LayerEntry } from './library.js';

/** One entry of a layer, as the explorer shows it. */
export interface FileEntry {
  /** Path without a leading `./` or `/`; directories without a trailing `/`. */
  path: string;
  type: LayerEntry['type'];
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: string | null;
  linkname: string | null;
  /** `file`: a whiteout deleting `target`; `opaque`: the directory's lower contents are hidden. */
  whiteout: 'file' | 'opaque' | null;
  /** The path a whiteout deletes. */
  target: string | null;
}

export type LayerFormat = 'tar' | 'estargz' | 'zstd:chunked';

/** A listing, complete or still being read. */
export class LayerListing extends EventEmitter {
  readonly digest: string;
  readonly entries: FileEntry[] = [];
  format: LayerFormat = 'tar';
  compression: 'gzip' | 'zstd' | 'none' | null = null;
  /** Compressed bytes read so far, and the layer size when known. */
  bytesRead = 0;
  total: number | null = null;
  /** Bytes fetched from the registry for this listing (a TOC read fetches far fewer than `total`). */
  bytesFetched = 0;
  done = false;
  error: Error | null = null;
  /** Whether the table of contents was checked against the digest the manifest gives. */
  tocVerified: boolean | null = null;
  readonly finished: Promise<void>;
  #resolve!: () => void;

  constructor(digest: string) {
    super();
    this.setMaxListeners(0);
    this.digest = digest;
    this.finished = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  add(entry: FileEntry): void {
    this.entries.push(entry);
    this.emit('entry', entry);
  }

  progress(bytesRead: number): void {
    this.bytesRead = bytesRead;
    this.emit('progress', bytesRead);
  }

  finish(error: Error | null = null): void {
    this.done = true;
    this.error = error;
    this.emit('done', error);
    this.#resolve();
  }

  /** Rough memory held, for the cache bound. */
  weight(): number {
    let n = 256;
    for (const e of this.entries) n += 160 + e.path.length * 2 + (e.linkname?.length ?? 0) * 2;
    return n;
  }
}

export class LayerCache {
  readonly #cache: LRUCache<string, LayerListing>;
  readonly #reading = new Map<string, LayerListing>();

  constructor(maxBytes: number) {
    this.#cache = new LRUCache({ maxSize: Math.max(1024, maxBytes), sizeCalculation: (l) => l.weight() });
  }

  /** A finished listing, or the one being read, or null. */
  get(digest: string): LayerListing | null {
    return this.#cache.get(digest) ?? this.#reading.get(digest) ?? null;
  }

  /** Start a listing with `read` unless one exists; failed listings are not kept. */
  obtain(digest: string, read: (listing: LayerListing) => Promise<void>): LayerListing {
    const existing = this.get(digest);
    if (existing) return existing;
    const listing = new LayerListing(digest);
    this.#reading.set(digest, listing);
    read(listing).then(
      () => {
        listing.finish();
        this.#reading.delete(digest);
        // A listing larger than the whole cache is served to its readers but not kept.
        this.#cache.set(digest, listing);
      },
      (error: unknown) => {
        this.#reading.delete(digest);
        listing.finish(error instanceof Error ? error : new Error(String(error)));
      },
    );
    return listing;
  }
}
