/**
 * @module explorer/layer-routes
 * `/layer/REPOSITORY@LAYER`: the layer's entries (streamed as chunked HTML the first time, then a
 * sorted tree from the cache), and `?path=` for one file (view, JSON, or a checked download).
 */
import type { Context, Hono } from 'hono';
import { raw } from 'hono/html';
import { stream } from 'hono/streaming';
import { type Address, atDigest, formatAddress, parseAddress, pinnedDigest, urls } from './address.js';
import { cacheFor, errorAnswer, wantsJson } from './http.js';
import type { FileEntry, LayerListing } from './layer-cache.js';
import { infoOf, type LayerInfo, listLayer, readFile } from './layers.js';
import { ImgdigestError } from './library.js';
import { imageManifestAt } from './models.js';
import { type Env, page, rest } from './render.js';
import type { ExplorerState } from './state.js';
import { formatSize, Layout, TableHead } from './views/common.js';
import { EntryRow, FilePage, LayerHead, treeOrder } from './views/layer.js';

/** File bytes shown in the file view; larger files show their beginning. */
export const VIEW_LIMIT = 1024 * 1024;
/** File bytes a download may carry (read whole and checked before sending). */
export const DOWNLOAD_LIMIT = 256 * 1024 * 1024;

export function layerRoutes(app: Hono<Env>, state: ExplorerState): void {
  app.get('/layer/*', async (c) => {
    const address = parseAddress(rest(c, 'layer'));
    const digest = pinnedDigest(address);
    if (!digest)
      throw new ImgdigestError(
        'INPUT_INVALID',
        `a layer is named by its digest: ${formatAddress(address)}@sha256:…`,
      );
    const path = c.req.query('path');
    const image = c.req.query('image') ?? null;
    const etag =
      path === undefined ? digest : `${digest}/${path}${c.req.query('download') ? '?download' : ''}`;
    if (cacheFor(c, etag)) return c.body(null, 304);
    const info = await layerInfo(state, address, digest, image, c.get('signal'));
    if (path !== undefined) return fileAnswer(c, state, address, info, image, path.replace(/^\/+/, ''));
    const listing = listLayer(state, address, info);
    if (wantsJson(c)) {
      await listing.finished;
      if (listing.error) throw listing.error;
      return c.json(listingJson(listing, info));
    }
    if (listing.done) {
      if (listing.error) throw listing.error;
      return page(c, <LayerPage address={address} info={info} image={image} listing={listing} />);
    }
    return streamLayer(c, address, info, image, listing);
  });
}

/** The layer's descriptor from the image that lists it (media type, size, TOC annotations), when named. */
async function layerInfo(
  state: ExplorerState,
  address: Address,
  digest: string,
  image: string | null,
  signal: AbortSignal,
): Promise<LayerInfo> {
  if (!image) return infoOf(digest, null);
  const { manifest } = await imageManifestAt(state, atDigest(address, image), signal);
  const descriptor = manifest.value.layers.find((l) => l.digest === digest);
  if (!descriptor) throw new ImgdigestError('NOT_FOUND', `image ${image} has no layer ${digest}`);
  return infoOf(digest, descriptor);
}

function listingJson(listing: LayerListing, info: LayerInfo) {
  return {
    digest: info.digest,
    mediaType: info.mediaType,
    size: listing.total,
    format: listing.format,
    tocVerified: listing.tocVerified,
    bytesFetched: listing.bytesFetched,
    entries: listing.entries,
  };
}

const LayerPage = ({
  address,
  info,
  image,
  listing,
}: {
  address: Address;
  info: LayerInfo;
  image: string | null;
  listing: LayerListing;
}) => {
  const entries = treeOrder(listing.entries);
  return (
    <Layout title={`Layer ${info.digest}`} crumbs={layerCrumbs(address, image)}>
      <LayerHead address={address} info={info} image={image} listing={listing} />
      <p>
        {listing.entries.length} entries
        {listing.format === 'tar' ? '' : `, listed from ${formatSize(listing.bytesFetched)} fetched`}.
      </p>
      <table id="files" class="files">
        <TableHead cols={['Mode', 'Owner', 'Size', 'Path']} />
        <tbody>
          {entries.map((e) => (
            <EntryRow e={e} address={address} image={image} indent={true} />
          ))}
        </tbody>
      </table>
    </Layout>
  );
};

function layerCrumbs(address: Address, image: string | null) {
  const crumbs = [];
  if (address.kind === 'registry') {
    crumbs.push({ label: address.ref.domain, href: urls.registry(address.ref.domain) });
    crumbs.push({ label: address.ref.path, href: urls.repo(address.ref.repository) });
  } else {
    crumbs.push({ label: address.open, href: urls.repo(address.open) });
  }
  if (image) crumbs.push({ label: image.slice(0, 19), href: urls.image(atDigest(address, image)) });
  crumbs.push({ label: 'layer' });
  return crumbs;
}

const MARK = '<!--imgdigest:rows-->';

/** A listing still being read: chunked HTML whose rows render as they arrive, with progress. */
async function streamLayer(
  c: Context,
  address: Address,
  info: LayerInfo,
  image: string | null,
  listing: LayerListing,
) {
  const shell = `<!DOCTYPE html>${await (
    <Layout title={`Layer ${info.digest}`} crumbs={layerCrumbs(address, image)}>
      <LayerHead address={address} info={info} image={image} listing={listing} />
      {raw(MARK)}
    </Layout>
  ).toString()}`;
  const [head, tail] = shell.split(MARK) as [string, string];
  c.header('Content-Type', 'text/html; charset=utf-8');
  c.header('Cache-Control', 'no-store');
  return stream(c, async (s) => {
    let closed = false;
    s.onAbort(() => {
      closed = true;
    });
    await s.write(
      `${head}<p>Reading the layer; entries appear in archive order as they stream (the sorted tree is shown once the layer is read).</p><table id="files" class="files"><thead><tr><th scope="col">Mode</th><th scope="col">Owner</th><th scope="col">Size</th><th scope="col">Path</th></tr></thead><tbody>`,
    );
    let sent = 0;
    const flush = async () => {
      const batch: FileEntry[] = listing.entries.slice(sent);
      sent += batch.length;
      let html = '';
      for (const e of batch)
        html += await (<EntryRow e={e} address={address} image={image} indent={false} />).toString();
      const total = listing.total ? ` of ${formatSize(listing.total)}` : '';
      html += `<tr class="progress"><td colspan="4">${listing.done ? 'Done' : 'Reading'}: ${formatSize(listing.bytesFetched)}${total} read, ${listing.entries.length} entries</td></tr>`;
      await s.write(html);
    };
    while (!listing.done && !closed) {
      await Promise.race([listing.finished, new Promise((r) => setTimeout(r, 150))]);
      await flush();
    }
    if (closed) return;
    await flush();
    const end = listing.error
      ? `<p class="error" role="alert"><code>imgdigest: ${escapeHtml(errorAnswer(listing.error).message)}</code></p>`
      : `<p>${listing.entries.length} entries. <a href="${escapeHtml(urls.layer(address, image))}">Show as a tree</a></p>`;
    await s.write(`</tbody></table>${end}${tail}`);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

async function fileAnswer(
  c: Context,
  state: ExplorerState,
  address: Address,
  info: LayerInfo,
  image: string | null,
  path: string,
) {
  const download = c.req.query('download') !== undefined;
  const limit = download ? DOWNLOAD_LIMIT : VIEW_LIMIT;
  const read = await readFile(state, address, info, path, limit);
  if (!read) throw new ImgdigestError('NOT_FOUND', `layer ${info.digest} has no file "${path}"`);
  if (download) {
    if (read.truncated)
      throw new ImgdigestError(
        'SOURCE_ERROR',
        `"${path}" is larger than ${DOWNLOAD_LIMIT} bytes; use imgdigest blob and tar`,
      );
    const name = path.slice(path.lastIndexOf('/') + 1).replace(/[^\w.-]/g, '_') || 'file';
    c.header('Content-Type', 'application/octet-stream');
    c.header('Content-Disposition', `attachment; filename="${name}"`);
    c.header('Content-Security-Policy', "default-src 'none'; sandbox");
    return c.body(new Uint8Array(read.bytes));
  }
  if (wantsJson(c)) {
    return c.json({
      layer: info.digest,
      path,
      entry: read.entry,
      via: read.via,
      bytesFetched: read.bytesFetched,
      verifiedBy: read.verifiedBy,
      truncated: read.truncated,
      base64: read.bytes.toString('base64'),
    });
  }
  return page(
    c,
    <FilePage address={address} info={info} image={image} path={path} read={read} limit={limit} />,
  );
}
