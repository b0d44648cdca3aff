/**
 * @module sources/layers/tar-gzip
 * A gzip-compressed tar file, which has no random access (`docker save | gzip`).
 *
 * One streaming pass at open keeps the table of entries and the bytes of small entries
 * (manifests, configs: all that `digest`, `manifest`, `config` and `inspect` need). The archive is
 * inflated into a temporary uncompressed copy, indexed by offset, only when a large entry (a layer)
 * is read, and the copy is removed by `close()`. Trade-off: disk space equal to the uncompressed
 * size and one more pass, paid only by `blob`/`files`; the alternative, inflating the archive from
 * the start again for every layer read, costs a full pass per layer and was rejected.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ImgdigestError } from '../../core/errors.js';
import {
  normalizeEntryName,
  type TarArchive,
  type TarEntry,
  TarEntryTable,
  type TarEntryType,
} from './tar-entries.js';
import { indexTarFile } from './tar-index.js';

/** Small entries kept from the streaming pass over a compressed archive. */
const KEEP_ENTRY_BYTES = 4 * 1024 * 1024;
const KEEP_TOTAL_BYTES = 64 * 1024 * 1024;
const HEAD_BYTES = 16;

interface ScannedEntry extends TarEntry {
  readonly head: Buffer;
  readonly data?: Buffer;
}

const TAR_STREAM_TYPES: Record<string, TarEntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
};

/** A gzip-compressed tar: small entries from memory, the rest from an inflated temporary copy. */
class CompressedTar extends TarEntryTable<ScannedEntry> implements TarArchive {
  private inflated: Promise<TarArchive> | undefined;

  entries(): TarEntry[] {
    return this.list.map(({ head: _h, data: _d, ...entry }) => entry);
  }

  async read(name: string, maxBytes: number): Promise<Buffer> {
    const entry = this.require(name, maxBytes);
    return entry.data ?? (await this.copy()).read(entry.name, maxBytes);
  }

  async head(name: string, count: number): Promise<Buffer> {
    const entry = this.require(name);
    if (count <= entry.head.length || entry.head.length === entry.size) return entry.head.subarray(0, count);
    return (await this.copy()).head(entry.name, count);
  }

  async stream(name: string): Promise<Readable> {
    const entry = this.require(name);
    return entry.data ? Readable.from([entry.data]) : (await this.copy()).stream(entry.name);
  }

  /** Inflate once into a temporary directory, the first time a large entry is read. */
  private copy(): Promise<TarArchive> {
    this.inflated ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgdigest-archive-'));
      const file = join(dir, 'archive.tar');
      const cleanup = () => rm(dir, { recursive: true, force: true });
      try {
        await pipeline(createReadStream(this.path), createGunzip(), createWriteStream(file));
        return await indexTarFile(file, cleanup);
      } catch (e) {
        await cleanup();
        throw gzipError(this.path, e);
      }
    })();
    return this.inflated;
  }

  async close(): Promise<void> {
    const inflated = this.inflated;
    this.inflated = undefined;
    if (inflated) await (await inflated.catch(() => undefined))?.close();
  }
}

function gzipError(path: string, e: unknown): ImgdigestError {
  if (e instanceof ImgdigestError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ImgdigestError(
    'SOURCE_ERROR',
    `${path}: the gzip-compressed tar is corrupt or truncated (${message})`,
    {
      cause: e,
      details: { path },
    },
  );
}

/** One streaming pass over a gzip-compressed tar: the entry table and the small entries' bytes. */
async function scanCompressed(path: string): Promise<ScannedEntry[]> {
  const entries: ScannedEntry[] = [];
  let kept = 0;
  const extract = tar.extract();
  const done = pipeline(createReadStream(path), createGunzip(), extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const type = TAR_STREAM_TYPES[header.type ?? 'file'] ?? 'other';
      const size = type === 'file' ? (header.size ?? 0) : 0;
      const keep = type === 'file' && size <= KEEP_ENTRY_BYTES && kept + size <= KEEP_TOTAL_BYTES;
      const chunks: Buffer[] = [];
      let got = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (keep || got < HEAD_BYTES) chunks.push(keep ? chunk : chunk.subarray(0, HEAD_BYTES - got));
        got += chunk.length;
      }
      const bytes = Buffer.concat(chunks);
      if (keep) kept += size;
      entries.push({
        name: normalizeEntryName(header.name),
        type,
        size,
        head: bytes.subarray(0, HEAD_BYTES),
        ...(keep ? { data: bytes } : {}),
        ...((type === 'link' || type === 'symlink') && header.linkname ? { linkName: header.linkname } : {}),
      });
    }
    await done;
  } catch (e) {
    await done.catch(() => undefined);
    // zlib errors (Z_DATA_ERROR, Z_BUF_ERROR) mean the gzip stream is bad; anything else came from
    // the tar parser: no entry read yet means the gzip never held a tar at all.
    const fromZlib = String((e as { code?: unknown })?.code ?? '').startsWith('Z_');
    if (!fromZlib && entries.length === 0) {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${path} is gzip-compressed but does not hold a tar archive`,
        {
          cause: e,
          details: { path },
        },
      );
    }
    throw gzipError(path, e);
  }
  return entries;
}

/**
 * Open a gzip-compressed tar (one streaming pass now; an inflated copy later, only if needed).
 * @throws `INPUT_INVALID` (no tar inside), `SOURCE_ERROR` (corrupt or truncated gzip)
 */
export async function openGzipTar(path: string): Promise<TarArchive> {
  return new CompressedTar(path, await scanCompressed(path));
}
