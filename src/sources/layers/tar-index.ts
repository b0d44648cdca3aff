/**
 * @module sources/layers/tar-index
 * Random access into an uncompressed tar file without loading it: the headers are read once (512
 * bytes each, the data skipped by offset), and each entry is then read or streamed straight from
 * its offset. This is what lets `docker-archive:` answer `digest` on a multi-GiB `docker save`
 * tarball by reading a few KiB.
 *
 * Formats: ustar (name + prefix), pax extended headers (`path`, `linkpath`, `size`), GNU long names
 * (`L`/`K`) and GNU base-256 sizes (entries over 8 GiB). Symbolic and hard links inside the archive
 * are followed (`docker save` links duplicate layers to one file).
 *
 * A gzip-compressed tar has no random access: `tar-open` hands it to `tar-gzip`, which explains
 * the trade-off it makes.
 * @see https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ImgdigestError } from '../../core/errors.js';
import { fileError } from '../file-error.js';
import {
  normalizeEntryName,
  type TarArchive,
  type TarEntry,
  TarEntryTable,
  type TarEntryType,
} from './tar-entries.js';

const BLOCK = 512;

/* ------------------------------------------------------------------ headers */

interface RawHeader {
  name: string;
  linkName: string;
  size: number;
  typeflag: string;
}

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString('utf8');
}

/** Octal number field, or GNU base-256 when the high bit of the first byte is set. */
function numberField(buf: Buffer, start: number, length: number): number {
  const first = buf[start] ?? 0;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f);
    for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(buf[start + i] ?? 0);
    return Number(value);
  }
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numberField(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function parseHeader(block: Buffer): RawHeader {
  let name = cString(block, 0, 100);
  // POSIX ustar ("ustar\0" + "00") splits long names into prefix + name; GNU ("ustar  ") uses
  // those bytes for other fields, so the prefix is read only for POSIX headers.
  if (block.toString('latin1', 257, 263) === 'ustar\0') {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    linkName: cString(block, 157, 100),
    size: numberField(block, 124, 12),
    typeflag: String.fromCharCode(block[156] ?? 0),
  };
}

/** `"30 path=some/long/name\n"` records. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const length = Number.parseInt(data.toString('latin1', pos, space), 10);
    if (!Number.isSafeInteger(length) || length <= 0 || pos + length > data.length) break;
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

/** Types whose size field says nothing about data blocks (POSIX: links, devices, fifos, dirs). */
function hasData(typeflag: string): boolean {
  return !['1', '2', '3', '4', '5', '6'].includes(typeflag);
}

/* ------------------------------------------------------------- file index */

interface IndexedEntry extends TarEntry {
  readonly offset: number;
}

export async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Scan the headers of an uncompressed tar file. */
async function scanHeaders(path: string, fh: FileHandle): Promise<IndexedEntry[]> {
  const fileSize = (await fh.stat()).size;
  if (fileSize === 0) {
    throw new ImgdigestError('INPUT_INVALID', `${path} is empty, not a tar archive`, { details: { path } });
  }
  const entries: IndexedEntry[] = [];
  let pos = 0;
  let pending: { path?: string; linkpath?: string; size?: string } = {};
  for (;;) {
    // Every tar writer ends the archive with zero blocks; a file that stops without them was cut
    // short (at an entry boundary, which nothing else would reveal).
    if (pos >= fileSize) throw truncated(path, 'the end-of-archive marker is missing', fileSize);
    const block = await readExactly(fh, BLOCK, pos);
    if (block.length < BLOCK) {
      throw truncated(path, `a header at offset ${pos} is cut short`, fileSize);
    }
    if (isZeroBlock(block)) break;
    if (!checksumOk(block)) {
      throw pos === 0
        ? new ImgdigestError(
            'INPUT_INVALID',
            `${path} is not a tar archive (no valid tar header at offset 0)`,
            {
              details: { path },
            },
          )
        : new ImgdigestError('SOURCE_ERROR', `${path}: corrupt tar header at offset ${pos}`, {
            details: { path, offset: pos },
          });
    }
    const header = parseHeader(block);
    const paxSize = pending.size === undefined ? undefined : Number(pending.size);
    const size = hasData(header.typeflag) ? (paxSize ?? header.size) : 0;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new ImgdigestError(
        'SOURCE_ERROR',
        `${path}: invalid entry size in the tar header at offset ${pos}`,
        {
          details: { path, offset: pos },
        },
      );
    }
    const dataOffset = pos + BLOCK;
    if (dataOffset + size > fileSize) {
      throw truncated(
        path,
        `entry "${pending.path ?? header.name}" needs ${size} bytes at offset ${dataOffset}`,
        fileSize,
      );
    }
    pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    switch (header.typeflag) {
      case 'x':
        pending = { ...pending, ...parsePax(await readExactly(fh, size, dataOffset)) };
        continue;
      case 'g':
        continue; // global pax headers carry defaults we do not need (times, charset)
      case 'L':
        pending.path = cString(await readExactly(fh, size, dataOffset), 0, size);
        continue;
      case 'K':
        pending.linkpath = cString(await readExactly(fh, size, dataOffset), 0, size);
        continue;
    }
    const type = entryType(header.typeflag);
    const linkName = pending.linkpath ?? header.linkName;
    entries.push({
      name: normalizeEntryName(pending.path ?? header.name),
      type,
      size,
      offset: dataOffset,
      ...(type === 'link' || type === 'symlink' ? { linkName } : {}),
    });
    pending = {};
  }
  return entries;
}

function truncated(path: string, what: string, fileSize: number): ImgdigestError {
  return new ImgdigestError(
    'SOURCE_ERROR',
    `${path} is truncated: ${what}, but the file ends at ${fileSize}`,
    {
      details: { path, size: fileSize },
    },
  );
}

/** A tar file indexed by offset: reads go straight to the entry's bytes. */
class FileTarIndex extends TarEntryTable<IndexedEntry> implements TarArchive {
  constructor(
    path: string,
    private readonly fh: FileHandle,
    list: IndexedEntry[],
    private readonly onClose: () => Promise<void>,
  ) {
    super(path, list);
  }

  entries(): TarEntry[] {
    return this.list.map(({ offset: _offset, ...entry }) => entry);
  }

  async read(name: string, maxBytes: number): Promise<Buffer> {
    const entry = this.require(name, maxBytes);
    return readExactly(this.fh, entry.size, entry.offset);
  }

  async head(name: string, count: number): Promise<Buffer> {
    const entry = this.require(name);
    return readExactly(this.fh, Math.min(count, entry.size), entry.offset);
  }

  async stream(name: string): Promise<Readable> {
    const entry = this.require(name);
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.path, { start: entry.offset, end: entry.offset + entry.size - 1 });
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await this.onClose();
  }
}

/**
 * Index an uncompressed tar file: read every header once, skip the data.
 * @throws `NOT_FOUND` (no file), `INPUT_INVALID` (empty, not a tar), `SOURCE_ERROR` (truncated, corrupt)
 */
export async function indexTarFile(
  path: string,
  onClose: () => Promise<void> = async () => {},
): Promise<TarArchive> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileError(e, path);
  }
  try {
    return new FileTarIndex(path, fh, await scanHeaders(path, fh), onClose);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw isEISDIR(e) ? fileError(e, path) : e;
  }
}

function isEISDIR(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EISDIR';
}
