/**
 * @module explorer/views/layer
 * The layer page (a directory tree of the layer's entries) and the file view.
 */
import type { FC } from 'hono/jsx';
import { type Address, atDigest, urls } from '../address.js';
import type { FileEntry, LayerListing } from '../layer-cache.js';
import type { FileRead, LayerInfo } from '../layers.js';
import { modeString } from '../library.js';
import { crumbsFor, DigestLink, Facts, formatSize, Layout, TableHead } from './common.js';

export interface LayerPageProps {
  address: Address;
  info: LayerInfo;
  image: string | null;
  listing: LayerListing;
}

export const LayerHead: FC<LayerPageProps> = ({ address, info, image, listing }) => (
  <>
    <Facts
      rows={[
        ['Digest', <DigestLink href={urls.layer(address, image)} digest={info.digest} />],
        ['Image', image ? <DigestLink href={urls.image(atDigest(address, image))} digest={image} /> : null],
        [
          'Media type',
          info.mediaType ? <code>{info.mediaType}</code> : 'unknown (compression found from the bytes)',
        ],
        ['Size', info.size !== null ? `${formatSize(info.size)} (${info.size} bytes)` : null],
        [
          'Read as',
          listing.format === 'tar'
            ? 'a stream, verified against the layer digest'
            : `${listing.format}: files listed from its table of contents by HTTP Range (${listing.tocVerified ? 'table of contents verified against the manifest annotation' : 'table of contents not verified: no manifest annotation'})`,
        ],
      ]}
    />
    <search class="filter">
      <label for="filter">Filter paths</label> <input id="filter" type="search" data-filter="#files" />
    </search>
  </>
);

/** The table header; rows follow, streamed or all at once. */
export const tableStart = (
  <>
    <table id="files" class="files">
      <TableHead cols={['Mode', 'Owner', 'Size', 'Path']} />
    </table>
  </>
);

export const EntryRow: FC<{ e: FileEntry; address: Address; image: string | null; indent: boolean }> = ({
  e,
  address,
  image,
  indent,
}) => {
  const depth = indent ? e.path.split('/').length - 1 : 0;
  const name = indent ? e.path.slice(e.path.lastIndexOf('/') + 1) : e.path;
  return (
    <tr class={e.whiteout ? 'whiteout' : e.type === 'directory' ? 'dir' : undefined} data-path={e.path}>
      <td>
        <code>{modeString(e)}</code>
      </td>
      <td>{`${e.uname || e.uid}/${e.gname || e.gid}`}</td>
      <td class="num">{e.type === 'file' ? formatSize(e.size) : ''}</td>
      <td class={`path d${Math.min(depth, 12)}`}>
        {e.type === 'file' && !e.whiteout ? (
          <a href={urls.file(address, e.path, image)}>{name}</a>
        ) : (
          <span>{name}</span>
        )}
        {e.type === 'directory' ? '/' : ''}
        {e.type === 'symlink' ? <span class="muted"> → {e.linkname}</span> : null}
        {e.type === 'link' ? <span class="muted"> hard link to {e.linkname}</span> : null}
        {e.whiteout === 'file' ? <span class="badge">whiteout: deletes {e.target}</span> : null}
        {e.whiteout === 'opaque' ? (
          <span class="badge">opaque: hides lower contents of {e.target || '/'}</span>
        ) : null}
      </td>
    </tr>
  );
};

/** Entries sorted as a tree: each directory followed by what it holds. */
export function treeOrder(entries: readonly FileEntry[]): FileEntry[] {
  const last = new Map<string, FileEntry>();
  for (const e of entries) last.set(e.path, e);
  return [...last.values()].sort((a, b) => {
    const pa = a.path.split('/');
    const pb = b.path.split('/');
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
    }
    return pa.length - pb.length;
  });
}

export const FilePage: FC<{
  address: Address;
  info: LayerInfo;
  image: string | null;
  path: string;
  read: FileRead;
  limit: number;
}> = ({ address, info, image, path, read, limit }) => {
  const e = read.entry;
  const isText = !read.bytes.includes(0) && isUtf8(read.bytes);
  return (
    <Layout
      title={`/${path}`}
      crumbs={crumbsFor(address, { label: 'layer', href: urls.layer(address, image) })}
    >
      <Facts
        rows={[
          ['Layer', <DigestLink href={urls.layer(address, image)} digest={info.digest} />],
          ['Type', e?.type],
          ['Mode', e ? <code>{modeString(e)}</code> : null],
          ['Owner', e ? `${e.uname || e.uid}/${e.gname || e.gid}` : null],
          ['Size', e ? `${formatSize(e.size)} (${e.size} bytes)` : null],
          ['Modified', e?.mtime],
          ['Link target', e?.linkname],
          [
            'Read',
            `${read.via === 'range' ? 'by HTTP Range from the table of contents' : 'by streaming the layer'}: ${formatSize(read.bytesFetched)} fetched${info.size ? ` of a ${formatSize(info.size)} layer` : ''}`,
          ],
          [
            'Verified',
            read.verifiedBy
              ? `against the ${read.verifiedBy}`
              : read.truncated
                ? 'no (only the first part was read)'
                : 'no',
          ],
        ]}
      />
      {e?.type === 'file' ? (
        <p>
          <a href={urls.download(address, path, image)} download={path.slice(path.lastIndexOf('/') + 1)}>
            Download
          </a>{' '}
          (the bytes are sent only after they were checked)
        </p>
      ) : null}
      {read.truncated ? (
        <p>
          Showing the first {formatSize(limit)} of {formatSize(e?.size ?? 0)}.
        </p>
      ) : null}
      {e?.type !== 'file' ? null : isText ? (
        <pre class="file" tabindex={0}>
          {read.bytes.toString('utf8')}
        </pre>
      ) : (
        <pre class="file hex" tabindex={0}>
          {hexDump(read.bytes.subarray(0, 64 * 1024))}
        </pre>
      )}
    </Layout>
  );
};

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export function hexDump(bytes: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
