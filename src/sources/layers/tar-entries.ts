/**
 * @module sources/layers/tar-entries
 * What every tar reader of imgdigest shares: the entry model ({@link TarEntry}), the read interface
 * ({@link TarArchive}), entry-name normalisation, link following (a loop or an escape is refused),
 * and {@link TarEntryTable}, the by-name table with the checks a read makes before it touches any
 * bytes. The uncompressed reader (`tar-index`) and the gzip reader (`tar-gzip`) both build on it;
 * `tar-open` chooses between them.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgdigestError } from '../../core/errors.js';

/** Links are followed at most this many times (a loop of links is refused, not followed forever). */
const MAX_LINK_HOPS = 16;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

/** One entry of a tar file. */
export interface TarEntry {
  /** Normalised path: no leading `./` or `/`, no trailing `/`. */
  readonly name: string;
  readonly type: TarEntryType;
  /** Size of the data in bytes (0 for links and directories). */
  readonly size: number;
  /** Link target as written in the archive, for links. */
  readonly linkName?: string;
}

/** Read access to the entries of a tar file, however it is stored. */
export interface TarArchive {
  /** The file, for messages. */
  readonly path: string;
  /** Every entry, in archive order (a later entry with the same name replaces an earlier one). */
  entries(): TarEntry[];
  /** The entry `name` names, links followed; undefined when there is none. */
  find(name: string): TarEntry | undefined;
  /** The bytes of a (small) entry; refuses entries larger than `maxBytes`. */
  read(name: string, maxBytes: number): Promise<Buffer>;
  /** The first `count` bytes of an entry (to sniff compression). */
  head(name: string, count: number): Promise<Buffer>;
  /** The data of an entry as a stream. */
  stream(name: string): Promise<Readable>;
  /** Release file handles and remove temporary copies. */
  close(): Promise<void>;
}

/** `./a/b/` -> `a/b`. */
export function normalizeEntryName(name: string): string {
  let n = posix.normalize(name.replace(/\\/g, '/'));
  while (n.startsWith('./')) n = n.slice(2);
  n = n.replace(/^\/+/, '').replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/** Follow links from `name` through `lookup`; undefined when a link dangles, escapes or loops. */
function resolveLinks(name: string, lookup: (n: string) => TarEntry | undefined): TarEntry | undefined {
  let entry = lookup(normalizeEntryName(name));
  for (let hops = 0; entry && (entry.type === 'symlink' || entry.type === 'link'); hops++) {
    if (hops >= MAX_LINK_HOPS || entry.linkName === undefined) return undefined;
    // A symlink is relative to its directory; a hard link names a path from the archive root.
    const target =
      entry.type === 'symlink' && !entry.linkName.startsWith('/')
        ? posix.join(posix.dirname(entry.name), entry.linkName)
        : entry.linkName;
    const normalized = normalizeEntryName(target);
    if (normalized.startsWith('../') || normalized === '..') return undefined;
    entry = lookup(normalized);
  }
  return entry;
}

function missing(path: string, name: string): ImgdigestError {
  return new ImgdigestError('NOT_FOUND', `${path}: the archive has no entry "${name}"`, {
    details: { path, entry: name },
  });
}

function tooLarge(path: string, entry: TarEntry, maxBytes: number): ImgdigestError {
  return new ImgdigestError(
    'SOURCE_ERROR',
    `${path}: entry "${entry.name}" is ${entry.size} bytes, more than the ${maxBytes} expected`,
    { details: { path, entry: entry.name, size: entry.size, limit: maxBytes } },
  );
}

/**
 * The entry table both tar readers share: entries by name, links followed, and the checks a read
 * makes before it touches any bytes.
 */
export abstract class TarEntryTable<E extends TarEntry> {
  readonly #byName = new Map<string, E>();

  constructor(
    readonly path: string,
    protected readonly list: E[],
  ) {
    for (const entry of list) this.#byName.set(entry.name, entry);
  }

  find(name: string): E | undefined {
    return resolveLinks(name, (n) => this.#byName.get(n)) as E | undefined;
  }

  /** The regular file `name` (links followed), or the error that names the archive and entry. */
  protected require(name: string, maxBytes = Number.POSITIVE_INFINITY): E {
    const entry = this.find(name);
    if (entry?.type !== 'file') throw missing(this.path, name);
    if (entry.size > maxBytes) throw tooLarge(this.path, entry, maxBytes);
    return entry;
  }
}
