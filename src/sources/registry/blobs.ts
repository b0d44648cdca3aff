/**
 * @module registry/blobs
 * Blob downloads: streamed, verified while they flow, never buffered whole.
 *
 * Registries commonly answer a blob GET with a redirect to object storage; the transport follows
 * it and leaves `Authorization` behind when the origin changes. The stream fails with
 * `DIGEST_MISMATCH` or `SIZE_MISMATCH` before it ends when the bytes are wrong, so a consumer that
 * reads to the end has read verified content.
 */

import { pipeline } from 'node:stream';
import type { Digest } from '../../core/digest.js';
import { parseDigest, verifyingStream } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { keepFreedBuffersForReuse, LONG_STREAM_BYTES } from '../../core/heap.js';
import type { Reference } from '../../core/reference.js';
import type { BlobReader } from '../source.js';
import { repositoryScope } from './auth.js';
import { networkError, redactUrl } from './errors.js';
import { type CallOptions, throwResponseError } from './manifests.js';
import type { RegistrySession } from './session.js';

/**
 * Bytes of a blob download undici buffers before it pauses the socket. With its default (64 KiB)
 * every socket read filled the body's buffer and paused the parser, and undici's resume reads
 * (and concatenates) whatever the socket buffered meanwhile.
 */
const STREAM_BUFFER = 4 * 1024 * 1024;

/**
 * Start downloading a blob; the returned stream verifies digest and size.
 *
 * The size checked is the descriptor's when the caller has one (a layer reached through its
 * manifest), else the GET's Content-Length, else the Content-Length of a HEAD of the blob: a body
 * that runs past it fails with `SIZE_MISMATCH` as soon as it does. When no size can be learned
 * at all (a chunked body and a HEAD without Content-Length), the download is refused rather than
 * read without bound.
 */
export async function getBlob(
  session: RegistrySession,
  repo: Reference,
  descriptor: { digest: Digest; size?: number | null },
  options: CallOptions = {},
): Promise<BlobReader> {
  const digest = parseDigest(descriptor.digest).digest;
  const what = `blob ${digest} from ${repo.repository}`;
  // Fails for digests this process cannot compute, before any request is made.
  verifyingStream(digest).destroy();
  const request = (method: 'GET' | 'HEAD') =>
    session.request({
      method,
      highWaterMark: STREAM_BUFFER,
      url: `/v2/${repo.path}/blobs/${digest}`,
      scopes: [repositoryScope(repo.path)],
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const response = await request('GET');
  if (response.status !== 200) await throwResponseError(response, `${repo.repository}@${digest}`, 'blob');
  const length = contentLength(response);
  let expectedSize = descriptor.size ?? length ?? undefined;
  if (expectedSize !== undefined && length !== null && length !== expectedSize) {
    response.body.destroy();
    throw new ImgdigestError(
      'SIZE_MISMATCH',
      `${what} size mismatch: expected ${expectedSize} bytes, server sends ${length}`,
      {
        details: { expected: expectedSize, actual: length, url: redactUrl(response.url) },
      },
    );
  }
  if (expectedSize === undefined) {
    const head = await request('HEAD').catch(() => null);
    const headLength = head?.status === 200 ? contentLength(head) : null;
    await head?.dump();
    if (headLength === null) {
      response.body.destroy();
      throw new ImgdigestError(
        'REGISTRY_ERROR',
        `${what}: the registry tells no size (no Content-Length on GET or HEAD), so the download has no bound; refused`,
        { details: { url: redactUrl(response.url) } },
      );
    }
    expectedSize = headLength;
  }
  if (expectedSize >= LONG_STREAM_BYTES) keepFreedBuffersForReuse();
  // The verifier keeps Node's small default buffer: it ends (and fails, for wrong bytes) only when
  // the consumer has read nearly everything, so `files` lists a layer's entries as they stream
  // before saying they did not verify, instead of failing after the first few.
  const verifier = verifyingStream(digest, { size: expectedSize, what });
  const body = response.body;
  body.on('error', (error) => verifier.destroy(networkError(error, 'GET', response.url)));
  // A consumer that stops early frees the connection (and the host's permit) at once.
  verifier.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  // pipeline(), not pipe(): with pipe() a verification failure is emitted a second time once the
  // consumer's own pipeline has detached, and the process dies of an unhandled 'error' event.
  pipeline(body, verifier, () => {});
  return { digest, size: expectedSize, stream: verifier };
}

function contentLength(response: { header(name: string): string | undefined }): number | null {
  const declared = response.header('content-length');
  return declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
}

/** The answer to a ranged blob read. */
export interface BlobRange {
  /** The bytes `start..end` (inclusive) of the blob. */
  bytes: Uint8Array;
  /** The whole blob's size, from `Content-Range`, when the registry said. */
  total: number | null;
}

/** Ranged reads are for tables of contents and single files; refuse absurd ones. */
export const MAX_RANGE_BYTES = 64 * 1024 * 1024;

/**
 * Bytes `start..end` (inclusive) of a blob with an HTTP Range request, or null when the registry
 * answers with the whole blob instead (it may: RFC 9110 lets a server ignore Range), in which case
 * nothing more than the headers was read. A negative `start` asks for the last `-start` bytes.
 */
export async function getBlobRange(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  range: { start: number; end?: number },
  options: CallOptions = {},
): Promise<BlobRange | null> {
  const checked = parseDigest(digest).digest;
  const spec = range.start < 0 ? `-${-range.start}` : `${range.start}-${range.end ?? ''}`;
  const response = await session.request({
    method: 'GET',
    url: `/v2/${repo.path}/blobs/${checked}`,
    headers: { range: `bytes=${spec}` },
    scopes: [repositoryScope(repo.path)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 200) {
    response.body.destroy();
    return null;
  }
  if (response.status !== 206) await throwResponseError(response, `${repo.repository}@${checked}`, 'blob');
  const total = /\/(\d+)\s*$/.exec(response.header('content-range') ?? '')?.[1];
  const bytes = await response.bytes(MAX_RANGE_BYTES);
  return { bytes, total: total === undefined ? null : Number(total) };
}
