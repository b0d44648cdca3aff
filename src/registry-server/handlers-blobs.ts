/**
 * @module registry-server/handlers-blobs
 * The blob endpoints of the distribution-spec: end-2 (GET/HEAD blob, with Range), end-4 (POST
 * upload, monolithic with `?digest=`), end-5/6 (PATCH, PUT), end-10 (DELETE), end-11 (mount),
 * end-13 (upload status) and end-14 (cancel).
 */
import type { Digest } from '../core/digest.js';
import { keepFreedBuffersForReuse, LONG_STREAM_BYTES } from '../core/heap.js';
import { clientKey } from './connections.js';
import { registryError } from './errors.js';
import { intHeader, parseContentRange, resolveRange, sendEmpty } from './http.js';
import { checkDigest, checkName, isUploadId } from './names.js';
import type { RouteContext } from './route-context.js';
import { rangeHeaders, type UploadSession } from './uploads.js';

/** GET/HEAD `/v2/<name>/blobs/<digest>`. */
export async function getBlob(ctx: RouteContext, reference: string): Promise<void> {
  const { registry, req, res, name, head } = ctx;
  const digest = checkDigest(reference);
  const size = await registry.blobSize(name, digest);
  if (size === null) throw registryError('BLOB_UNKNOWN', { detail: digest });
  const headers: Record<string, string | number> = {
    'Docker-Content-Digest': digest,
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    // Content-addressed: the bytes behind a digest never change.
    'Cache-Control': 'max-age=31536000',
  };
  if (head) {
    res.writeHead(200, { ...headers, 'Content-Length': size });
    res.end();
    return;
  }
  const range = resolveRange(req.headers.range, size);
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
    res.writeHead(206, { ...headers, 'Content-Length': range.end - range.start + 1 });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': size });
  }
  if (size === 0) {
    res.end();
    return;
  }
  if (size >= LONG_STREAM_BYTES) keepFreedBuffersForReuse();
  const stream = registry.readBlob(digest, range ?? undefined);
  stream.on('error', (error) => {
    ctx.log.error(`reading blob ${digest} failed: ${error.message}`);
    res.destroy(error);
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** DELETE `/v2/<name>/blobs/<digest>`: unlinks the blob from the repository (202). */
export async function deleteBlob(ctx: RouteContext, reference: string): Promise<void> {
  await ctx.registry.deleteBlob(ctx.name, checkDigest(reference));
  sendEmpty(ctx.res, 202);
}

/** POST `/v2/<name>/blobs/uploads/`: mount, monolithic upload, or a new session. */
export async function startUpload(ctx: RouteContext): Promise<void> {
  const { registry, uploads, query, name, res } = ctx;
  const mount = query.get('mount');
  const from = query.get('from');
  if (mount !== null && from !== null) {
    const digest = checkDigest(mount);
    if (await registry.mountBlob(name, checkName(from), digest)) {
      sendCreated(ctx, digest);
      return;
    }
    // Not mountable: the spec says to answer 202 with a new session instead.
  }
  const digestParam = query.get('digest');
  const session = await uploads.create(name, query.get('digest-algorithm') ?? undefined, clientKey(ctx.req));
  if (digestParam !== null) {
    // Monolithic upload (end-4b): the body is the whole blob.
    try {
      const digest = checkDigest(digestParam);
      await appendChunk(ctx, session);
      await uploads.finish(session, digest);
      sendCreated(ctx, digest);
    } catch (error) {
      // A failed monolithic upload leaves no session behind: the client never learnt its id.
      await uploads.cancel(session).catch(() => undefined);
      throw error;
    }
    return;
  }
  sendEmpty(res, 202, rangeHeaders(session));
}

/** PATCH, PUT, GET and DELETE on `/v2/<name>/blobs/uploads/<uuid>`. */
export async function uploadSession(ctx: RouteContext, id: string): Promise<void> {
  const { uploads, name, req, res, query } = ctx;
  if (!isUploadId(id)) throw registryError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id.slice(0, 100) } });
  const session = uploads.get(name, id);
  switch (ctx.head ? 'GET' : req.method) {
    case 'GET':
      sendEmpty(res, 204, rangeHeaders(session));
      return;
    case 'DELETE':
      await uploads.cancel(session);
      sendEmpty(res, 204);
      return;
    case 'PATCH':
      await appendChunk(ctx, session);
      sendEmpty(res, 202, rangeHeaders(session));
      return;
    case 'PUT': {
      const digestParam = query.get('digest');
      if (digestParam === null) {
        throw registryError('DIGEST_INVALID', { message: 'PUT to close an upload needs ?digest=' });
      }
      const digest = checkDigest(digestParam);
      if (hasBody(ctx)) await appendChunk(ctx, session);
      await uploads.finish(session, digest);
      sendCreated(ctx, digest);
      return;
    }
  }
}

async function appendChunk(ctx: RouteContext, session: UploadSession): Promise<void> {
  const range = parseContentRange(headerValue(ctx.req.headers['content-range']));
  const length = intHeader(ctx.req, 'content-length');
  // A chunked body's length is unknown: it may be a whole layer.
  if (length === undefined || length >= LONG_STREAM_BYTES) keepFreedBuffersForReuse();
  await ctx.uploads.append(session, ctx.req, { range, length });
}

function hasBody(ctx: RouteContext): boolean {
  const length = intHeader(ctx.req, 'content-length');
  return (length !== undefined && length > 0) || ctx.req.headers['transfer-encoding'] !== undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sendCreated(ctx: RouteContext, digest: Digest): void {
  sendEmpty(ctx.res, 201, {
    Location: `/v2/${ctx.name}/blobs/${digest}`,
    'Docker-Content-Digest': digest,
  });
}
