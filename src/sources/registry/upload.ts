/**
 * @module registry/upload
 * Blob uploads as a copy needs them (distribution-spec "Pushing blobs"): a HEAD first, so a blob
 * the repository has is never sent; a cross-repository mount within one registry
 * (`POST ?mount=<digest>&from=<repository>`); a streamed upload (POST, then one PUT with the
 * bytes), or for a blob above the chunk size a chunked one (PATCH with `Content-Range` per chunk,
 * then a PUT with `?digest=`), which can resume.
 *
 * Resuming: after every chunk the registry confirmed (its `Range` header), the session's newest
 * `Location` and offset go to an {@link UploadStateStore}. A later upload of the same blob to the
 * same repository asks the registry where that session stands (`GET` on the location: `204` with
 * `Range: 0-<last>`) and sends only the rest. The source is read from its start anyway, so every
 * byte is hashed and the blob still verifies; the skipped prefix is just not sent. A session the
 * registry no longer knows (expired, or cut in the middle of a chunk, which the CNCF registry then
 * refuses to continue) is forgotten and the blob starts over.
 *
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 */
import { join } from 'node:path';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { type Digest, parseDigest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { Descriptor } from '../../core/manifest.js';
import type { Reference } from '../../core/reference.js';
import { repositoryScope } from './auth.js';
import { type CallOptions, throwResponseError } from './manifests.js';
import type { RegistrySession } from './session.js';
import type { HttpResponse } from './transport.js';

const PUSH = ['pull', 'push'];

/** The bytes to upload: digest and size known beforehand, and a way to read them from the start. */
export interface UploadBody {
  digest: Digest;
  size: number;
  /**
   * Open the blob from its first byte (again for a retry). A stream that verifies what it yields
   * (every source's `blob()` does) keeps wrong bytes from ever completing an upload.
   */
  open(): Readable | AsyncIterable<Uint8Array> | Promise<Readable | AsyncIterable<Uint8Array>>;
}

/** Where an interrupted chunked upload stands, as the registry last confirmed it. */
export interface UploadState {
  /** The session's newest `Location` (some registries sign the offset into it). */
  location: string;
  /** Bytes the registry has. */
  offset: number;
  digest: string;
  size: number;
}

/** Keeps {@link UploadState}s between runs, by a key naming the registry, repository and blob. */
export interface UploadStateStore {
  get(key: string): Promise<UploadState | null>;
  set(key: string, state: UploadState): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface UploadBlobOptions extends CallOptions {
  /** The media type for the returned descriptor (default `application/octet-stream`). */
  mediaType?: string;
  /** A repository path of the same registry that may hold the blob: mounted, not sent. */
  mountFrom?: string;
  /** Bytes per PATCH of a chunked upload (default 16 MiB). */
  chunkSize?: number;
  /**
   * Blobs larger than this are uploaded in chunks (resumable); others in one streamed PUT (fewer
   * requests, less memory). Unset: never, except to resume an upload `state` recorded.
   */
  chunkedAbove?: number;
  /** Where chunked uploads keep their place, so an interrupted one resumes. */
  state?: UploadStateStore;
  /** The blob is known to be missing (the caller's HEAD said so): skip the HEAD. */
  missing?: boolean;
  /** Bytes of this blob the registry has so far (sent, or found there by a resumed upload). */
  onProgress?: (done: number) => void;
}

/** What happened to a blob. */
export type UploadAction = 'exists' | 'mounted' | 'uploaded';

export interface UploadResult {
  descriptor: Descriptor;
  action: UploadAction;
  /** Bytes sent in this call. */
  sent: number;
  /** Bytes a resumed upload found at the registry already (0 when it started afresh). */
  resumedFrom: number;
}

/** The size of a blob the repository has (one HEAD), or null when it has not. */
export async function headBlob(
  session: RegistrySession,
  repo: Reference,
  digest: Digest,
  options: CallOptions = {},
): Promise<number | null> {
  const response = await session.request({
    method: 'HEAD',
    url: `/v2/${repo.path}/blobs/${parseDigest(digest).digest}`,
    scopes: [repositoryScope(repo.path)],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 404) return null;
  if (response.status !== 200) await throwResponseError(response, `${repo.repository}@${digest}`, 'blob');
  const length = Number(response.header('content-length'));
  return Number.isSafeInteger(length) ? length : 0;
}

/** The key an upload's state is kept under. */
export function uploadKey(session: RegistrySession, repo: Reference, digest: Digest): string {
  return `${session.host}/${repo.path}@${digest}`;
}

/**
 * Upload a blob unless the repository has it: mounted from `mountFrom` when the registry allows,
 * else streamed, in chunks above `chunkedAbove`, resuming a session `state` recorded.
 */
export async function uploadBlob(
  session: RegistrySession,
  repo: Reference,
  body: UploadBody,
  options: UploadBlobOptions = {},
): Promise<UploadResult> {
  const digest = parseDigest(body.digest).digest;
  const descriptor: Descriptor = {
    mediaType: options.mediaType ?? 'application/octet-stream',
    digest,
    size: body.size,
  };
  const result = (action: UploadAction, sent = 0, resumedFrom = 0): UploadResult => ({
    descriptor,
    action,
    sent,
    resumedFrom,
  });
  const signal = options.signal;
  if (
    !options.missing &&
    (await headBlob(session, repo, digest, { ...(signal ? { signal } : {}) })) !== null
  ) {
    return result('exists');
  }
  const ctx: UploadContext = {
    session,
    repo,
    body: { ...body, digest },
    scopes: [repositoryScope(repo.path, PUSH)],
    signal,
    subject: `${repo.repository}@${digest}`,
    key: uploadKey(session, repo, digest),
    state: options.state,
    progress: options.onProgress ?? (() => {}),
  };
  let location: URL | null = null;
  let offset = 0;
  const saved = await ctx.state?.get(ctx.key).catch(() => null);
  if (saved && saved.size === body.size && saved.digest === digest) {
    const status = await uploadStatus(ctx, new URL(saved.location)).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      return null;
    });
    if (status && status.offset <= body.size) ({ location, offset } = status);
    else await ctx.state?.delete(ctx.key).catch(() => undefined);
  }
  if (!location) {
    const started = await startUpload(ctx, options.mountFrom);
    if (started === 'mounted') return result('mounted');
    if (started === 'done') return result('uploaded', body.size);
    location = started;
  }
  if (offset > 0 || (options.chunkedAbove !== undefined && body.size > options.chunkedAbove)) {
    const sent = await sendChunks(ctx, location, offset, options.chunkSize || DEFAULT_CHUNK);
    return result('uploaded', sent, offset);
  }
  await sendWhole(ctx, location);
  return result('uploaded', body.size);
}

/** Bytes per PATCH when the caller sets none: a few chunks per transfer in memory stay small. */
export const DEFAULT_CHUNK = 16 * 1024 * 1024;
/** Times one chunk is sent again after the registry took part of it. */
const MAX_CHUNK_RESYNCS = 3;

interface UploadContext {
  session: RegistrySession;
  repo: Reference;
  body: UploadBody;
  scopes: string[];
  signal: AbortSignal | undefined;
  subject: string;
  key: string;
  state: UploadStateStore | undefined;
  progress: (done: number) => void;
}

function signalOf(ctx: UploadContext): { signal?: AbortSignal } {
  return ctx.signal ? { signal: ctx.signal } : {};
}

/**
 * POST to start an upload, with `?mount=` when a repository to mount from is given: `mounted`
 * (201 to a mount), `done` (201 otherwise: a registry that already had it), or the session URL.
 */
async function startUpload(
  ctx: UploadContext,
  mountFrom: string | undefined,
): Promise<URL | 'mounted' | 'done'> {
  const query = mountFrom
    ? `?mount=${encodeURIComponent(ctx.body.digest)}&from=${encodeURIComponent(mountFrom)}`
    : '';
  const response = await ctx.session.request({
    method: 'POST',
    url: `/v2/${ctx.repo.path}/blobs/uploads/${query}`,
    headers: { 'content-length': '0' },
    // A mount reads the other repository: its pull scope goes into the token.
    scopes: mountFrom ? [...ctx.scopes, repositoryScope(mountFrom)] : ctx.scopes,
    ...signalOf(ctx),
  });
  if (response.status === 201) {
    await response.dump();
    return mountFrom ? 'mounted' : 'done';
  }
  if (response.status !== 202) await throwResponseError(response, ctx.subject, 'upload');
  await response.dump();
  return locationOf(ctx, response);
}

function locationOf(ctx: UploadContext, response: HttpResponse): URL {
  const location = response.header('location');
  if (!location) {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `registry ${ctx.session.name} answered ${response.method} for ${ctx.subject} without a Location`,
      { details: { method: response.method, registry: ctx.session.name } },
    );
  }
  return new URL(location, response.url);
}

/** The bytes the registry confirmed, from `Range: 0-<last>` (null when it sent none). */
function confirmedBytes(response: HttpResponse): number | null {
  const m = /^(?:bytes=)?0-(\d+)$/.exec((response.header('range') ?? '').trim());
  return m ? Number(m[1]) + 1 : null;
}

/** Where an upload session stands (GET on its location), or null when the registry does not know it. */
async function uploadStatus(
  ctx: UploadContext,
  location: URL,
): Promise<{ location: URL; offset: number } | null> {
  const response = await ctx.session.request({
    method: 'GET',
    url: location,
    scopes: ctx.scopes,
    ...signalOf(ctx),
  });
  if (response.status !== 204 && response.status !== 200) {
    await response.dump();
    return null;
  }
  await response.dump();
  const next = response.header('location') ? locationOf(ctx, response) : location;
  // An empty session reports `0-0` (distribution does), so a `Range` alone cannot tell 0 from 1
  // byte; the offset we recorded can, and the registry's may only be ahead of it by whole chunks.
  const confirmed = confirmedBytes(response);
  return confirmed === null ? null : { location: next, offset: confirmed === 1 ? 0 : confirmed };
}

/** One streamed PUT to the session with `?digest=`: the whole blob in one request. */
async function sendWhole(ctx: UploadContext, location: URL): Promise<void> {
  const target = withDigest(location, ctx.body.digest);
  const body = await bodyOpener(ctx);
  let done = 0;
  try {
    const response = await ctx.session
      .request({
        method: 'PUT',
        url: target,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(ctx.body.size) },
        body: () => {
          done = 0;
          return body.open();
        },
        onBodyChunk: (bytes) => {
          done += bytes;
          ctx.progress(done);
        },
        scopes: ctx.scopes,
        ...signalOf(ctx),
      })
      .catch((error: unknown) => {
        // The source's own failure (a digest mismatch) says more than the aborted request.
        throw body.failure() ?? error;
      });
    if (body.failure()) {
      await response.dump();
      throw body.failure();
    }
    if (response.status !== 201 && response.status !== 204)
      await throwResponseError(response, ctx.subject, 'upload');
    await response.dump();
  } finally {
    body.discard();
  }
}

function withDigest(location: URL, digest: Digest): URL {
  const target = new URL(location);
  target.searchParams.set('digest', digest);
  return target;
}

function toReadable(opened: Readable | AsyncIterable<Uint8Array>): Readable {
  return opened instanceof Readable ? opened : Readable.from(opened, { objectMode: false });
}

/**
 * The blob's bytes for the transport, which asks once per attempt: the first attempt gets the
 * stream opened here beforehand (no extra stream between source and socket), a retry a fresh one.
 * A failure of the source itself (a coded error: digest or size mismatch, a failed read) is kept:
 * it explains an aborted upload better than the upload's own error.
 */
async function bodyOpener(
  ctx: UploadContext,
): Promise<{ open: () => Readable; failure: () => unknown; discard: () => void }> {
  let failure: unknown;
  const watch = (stream: Readable): Readable => {
    stream.once('error', (error) => {
      if (isImgdigestError(error)) failure ??= error;
    });
    return stream;
  };
  let first: Readable | null = watch(toReadable(await ctx.body.open()));
  return {
    failure: () => failure,
    discard: () => {
      first?.destroy();
      first = null;
    },
    open: () => {
      if (first) {
        const stream = first;
        first = null;
        return stream;
      }
      const out = new PassThrough();
      Promise.resolve()
        .then(() => ctx.body.open())
        .then(
          (opened) => pipeline(watch(toReadable(opened)), out, () => {}),
          (error: unknown) => {
            failure ??= error;
            out.destroy(error as Error);
          },
        );
      return out;
    },
  };
}

/**
 * PATCH the blob in chunks from `offset` (the bytes before it are read and hashed, not sent), then
 * close the session with a PUT. Returns the bytes sent.
 */
async function sendChunks(
  ctx: UploadContext,
  start: URL,
  offset: number,
  chunkSize: number,
): Promise<number> {
  let location = start;
  let confirmed = offset;
  ctx.progress(confirmed);
  const stream = await ctx.body.open();
  const chunks = chunksOf(stream, chunkSize, offset, ctx.subject)[Symbol.asyncIterator]();
  // One chunk is read ahead while the previous one is on its way.
  let next = chunks.next();
  next.catch(() => undefined);
  try {
    for (;;) {
      const item = await next;
      if (item.done) break;
      next = chunks.next();
      next.catch(() => undefined);
      ({ location, confirmed } = await sendChunk(ctx, location, confirmed, item.value));
      // Recorded before progress is told, so whoever stops the upload on progress can resume it.
      await ctx.state
        ?.set(ctx.key, {
          location: location.href,
          offset: confirmed,
          digest: ctx.body.digest,
          size: ctx.body.size,
        })
        .catch(() => undefined);
      ctx.progress(confirmed);
    }
  } finally {
    await chunks.return?.(undefined).catch(() => undefined);
  }
  if (confirmed !== ctx.body.size) {
    throw new ImgdigestError(
      'SIZE_MISMATCH',
      `${ctx.subject}: the source gave ${confirmed} bytes, expected ${ctx.body.size}`,
      { details: { expected: ctx.body.size, actual: confirmed } },
    );
  }
  const response = await ctx.session.request({
    method: 'PUT',
    url: withDigest(location, ctx.body.digest),
    headers: { 'content-length': '0' },
    scopes: ctx.scopes,
    ...signalOf(ctx),
  });
  if (response.status !== 201 && response.status !== 204)
    await throwResponseError(response, ctx.subject, 'upload');
  await response.dump();
  await ctx.state?.delete(ctx.key).catch(() => undefined);
  return confirmed - offset;
}

/**
 * PATCH one chunk starting at `at`. When the request fails after the registry took part of it
 * (a connection cut mid-body, a 416 for a retried chunk), ask where the session stands and send
 * the rest of the chunk from there.
 */
async function sendChunk(
  ctx: UploadContext,
  location: URL,
  at: number,
  chunk: Chunk,
): Promise<{ location: URL; confirmed: number }> {
  let sent = 0;
  for (let resyncs = 0; ; resyncs++) {
    const parts = chunk.from(sent);
    const length = chunk.length - sent;
    const from = at + sent;
    let response: HttpResponse | null = null;
    let failure: unknown = null;
    try {
      response = await ctx.session.request({
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${from}-${from + length - 1}`,
          'content-length': String(length),
        },
        body: () => Readable.from(parts, { objectMode: false }),
        scopes: ctx.scopes,
        ...signalOf(ctx),
      });
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      failure = error;
    }
    if (response && response.status === 202) {
      await response.dump();
      const next = response.header('location') ? locationOf(ctx, response) : location;
      const confirmed = confirmedBytes(response) ?? from + length;
      if (confirmed !== from + length) {
        throw new ImgdigestError(
          'REGISTRY_ERROR',
          `registry ${ctx.session.name} confirmed ${confirmed} bytes of ${ctx.subject} after a chunk ending at ${from + length}`,
          { details: { registry: ctx.session.name, confirmed, expected: from + length } },
        );
      }
      return { location: next, confirmed };
    }
    if (response && response.status !== 416 && response.status < 500) {
      await throwResponseError(response, ctx.subject, 'upload');
    }
    if (response) await response.dump();
    const status = resyncs < MAX_CHUNK_RESYNCS ? await uploadStatus(ctx, location).catch(() => null) : null;
    if (!status || status.offset < at || status.offset > at + chunk.length) {
      if (failure) throw failure;
      await throwResponseError(response!, ctx.subject, 'upload');
    }
    location = status!.location;
    sent = status!.offset - at;
    if (sent === chunk.length) return { location, confirmed: status!.offset };
  }
}

/**
 * The stream's bytes after the first `skip`, in chunks of `size` (the last one shorter). The skipped
 * bytes are still read, so a verifying stream hashes them.
 */
async function* chunksOf(
  stream: Readable | AsyncIterable<Uint8Array>,
  size: number,
  skip: number,
  subject: string,
): AsyncGenerator<Chunk> {
  let skipped = 0;
  let parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const piece of stream as AsyncIterable<Uint8Array>) {
      let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
      if (skipped < skip) {
        const drop = Math.min(skip - skipped, buf.length);
        skipped += drop;
        buf = buf.subarray(drop);
      }
      while (buf.length > 0) {
        const take = Math.min(size - have, buf.length);
        parts.push(buf.subarray(0, take));
        have += take;
        buf = buf.subarray(take);
        if (have === size) {
          yield new Chunk(parts, have);
          parts = [];
          have = 0;
        }
      }
    }
  } finally {
    if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
  }
  if (skipped < skip) {
    throw new ImgdigestError(
      'SIZE_MISMATCH',
      `${subject}: the source ended after ${skipped} bytes, but the registry already has ${skip}`,
      { details: { expected: skip, actual: skipped } },
    );
  }
  if (have > 0) yield new Chunk(parts, have);
}

/**
 * One chunk as the pieces the source gave: sent piece by piece (never copied into one buffer), and
 * kept until the registry confirmed it, so a retry can send it, or its tail, again.
 */
class Chunk {
  constructor(
    readonly parts: Buffer[],
    readonly length: number,
  ) {}

  /** The pieces from byte `from` on. */
  from(from: number): Buffer[] {
    const out: Buffer[] = [];
    let skip = from;
    for (const part of this.parts) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      out.push(skip > 0 ? part.subarray(skip) : part);
      skip = 0;
    }
    return out;
  }
}

/**
 * A {@link UploadStateStore} of small JSON files in `dir` (made when first needed), one per
 * upload, named by the hash of its key, private to the user (the location of an upload session
 * lets anyone holding it append to that session).
 */
export function directoryStateStore(dir: string): UploadStateStore {
  // The file-system modules load on first use: every registry client holds a store, few upload.
  const fs = () => process.getBuiltinModule('node:fs/promises');
  const file = (key: string) =>
    join(
      dir,
      `${process.getBuiltinModule('node:crypto').createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`,
    );
  return {
    async get(key) {
      try {
        const value = JSON.parse(await fs().readFile(file(key), 'utf8')) as Partial<UploadState> & {
          key?: string;
        };
        if (
          value.key !== key ||
          typeof value.location !== 'string' ||
          typeof value.offset !== 'number' ||
          typeof value.digest !== 'string' ||
          typeof value.size !== 'number'
        )
          return null;
        return { location: value.location, offset: value.offset, digest: value.digest, size: value.size };
      } catch {
        return null;
      }
    },
    async set(key, state) {
      await fs().mkdir(dir, { recursive: true, mode: 0o700 });
      const { writeAtomic } = await import('../../core/write.js');
      await writeAtomic(file(key), `${JSON.stringify({ key, ...state })}\n`, {
        mode: 0o600,
        forceMode: true,
      });
    },
    async delete(key) {
      await fs()
        .unlink(file(key))
        .catch(() => undefined);
    },
  };
}
