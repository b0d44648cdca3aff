/**
 * @module registry-server/uploads
 * Blob upload sessions (distribution-spec "Pushing blobs"): monolithic, POST+PUT, chunked PATCH and
 * streamed PATCH, status, cancel.
 *
 * Bytes are hashed while they are written to the session's temporary file, so closing an upload
 * costs no second read. A chunk that fails half-way (client gone, disk full, wrong length) is rolled
 * back: the file is truncated and the hash restored to their state before the chunk, so the session
 * stays usable and its `Range` stays true. A blob becomes visible only after the final digest
 * matched (DIGEST_INVALID otherwise, and the session is dropped so nothing partial lingers).
 *
 * Sessions are bounded, because each holds a temporary file (or memory) and abandoned ones would
 * otherwise pile up: a maximum in total (503) and per client address (429), and a session unused for
 * `idleMs` is dropped together with its data.
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Digest, digestOfStream, isVerifiableAlgorithm, parseDigest } from '../core/digest.js';
import { registryError } from './errors.js';
import { copyRequestBody } from './http.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { RepoName } from './names.js';
import type { Registry } from './registry.js';
import type { UploadTarget } from './storage.js';

/** What bounds the sessions (see `limits.ts` for the defaults and why). */
export interface UploadLimits {
  /** Open sessions in total; beyond, 503. */
  maxSessions: number;
  /** Open sessions per client address; beyond, 429. */
  maxPerClient: number;
  /** A session unused for this long is dropped with its temporary data. */
  idleMs: number;
}

export interface UploadManagerOptions extends Partial<UploadLimits> {
  /** The clock (tests move it). */
  now?: () => number;
}

export interface UploadSession {
  readonly id: string;
  readonly name: RepoName;
  /** The client key the session counts against (see `clientKey`). */
  readonly client: string;
  /** Bytes received so far. */
  size: number;
  lastUsed: number;
  /** True while a chunk is being written: a second concurrent PATCH is refused. */
  busy: boolean;
  readonly algorithm: string;
  hash: Hash;
  readonly target: UploadTarget;
}

/** What a chunk request says about itself (Content-Range / Content-Length). */
export interface ChunkHeaders {
  /** Inclusive `start-end` from Content-Range, if sent. */
  range?: { start: number; end: number };
  /** Content-Length, if sent. */
  length?: number;
}

export class UploadManager {
  private readonly sessions = new Map<string, UploadSession>();
  /** Sessions per client, including those being created. */
  private readonly perClient = new Map<string, number>();
  private creating = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly limits: UploadLimits;
  private readonly now: () => number;

  constructor(
    private readonly registry: Registry,
    options: UploadManagerOptions = {},
  ) {
    this.limits = {
      maxSessions: options.maxSessions ?? DEFAULT_LIMITS.maxUploads,
      maxPerClient: options.maxPerClient ?? DEFAULT_LIMITS.maxUploadsPerClient,
      idleMs: options.idleMs ?? DEFAULT_LIMITS.uploadIdleMs,
    };
    this.now = options.now ?? Date.now;
    // Look often enough that a session lives at most about 1.5 times its idle limit.
    const every = Math.min(60_000, Math.max(1_000, Math.floor(this.limits.idleMs / 2)));
    this.timer = setInterval(() => void this.expireIdle(), every);
    this.timer.unref();
  }

  /** Open sessions right now. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Start a session for `client`; `algorithm` is the hash to compute while writing
   * (`?digest-algorithm=`). Refused with 503 UNAVAILABLE when the registry holds its maximum of
   * sessions, and 429 TOOMANYREQUESTS when this client does, both with `Retry-After`.
   */
  async create(name: RepoName, algorithm = 'sha256', client = 'local'): Promise<UploadSession> {
    if (!isVerifiableAlgorithm(algorithm)) {
      throw registryError('DIGEST_INVALID', {
        message: `unsupported digest algorithm "${algorithm}"`,
        detail: { algorithm },
      });
    }
    const { maxSessions, maxPerClient } = this.limits;
    if (this.sessions.size + this.creating >= maxSessions) {
      const wait = this.retryAfter([...this.sessions.values()]);
      throw registryError('UNAVAILABLE', {
        message: `the registry has ${maxSessions} upload sessions open, its maximum; finish or cancel uploads, or retry in ${wait}s when idle ones have expired`,
        headers: { 'Retry-After': String(wait) },
        detail: { limit: maxSessions },
      });
    }
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= maxPerClient) {
      const wait = this.retryAfter([...this.sessions.values()].filter((s) => s.client === client));
      throw registryError('TOOMANYREQUESTS', {
        message: `this client has ${maxPerClient} upload sessions open, the maximum per client; finish or cancel some (DELETE), or retry in ${wait}s when idle ones have expired`,
        headers: { 'Retry-After': String(wait) },
        detail: { limit: maxPerClient },
      });
    }
    // Count the session before the first await, so concurrent creations cannot overshoot.
    this.perClient.set(client, mine + 1);
    this.creating++;
    const id = randomUUID();
    let target: UploadTarget;
    try {
      target = await this.registry.storage.createUpload(id);
    } catch (error) {
      this.release(client);
      throw error;
    } finally {
      this.creating--;
    }
    const session: UploadSession = {
      id,
      name,
      client,
      size: 0,
      lastUsed: this.now(),
      busy: false,
      algorithm,
      hash: createHash(algorithm),
      target,
    };
    this.sessions.set(id, session);
    return session;
  }

  /** Seconds until the first of `sessions` may expire (at least 1). */
  private retryAfter(sessions: UploadSession[]): number {
    const oldest = Math.min(...sessions.map((s) => s.lastUsed), this.now());
    return Math.max(1, Math.ceil((oldest + this.limits.idleMs - this.now()) / 1000));
  }

  private release(client: string): void {
    const count = (this.perClient.get(client) ?? 1) - 1;
    if (count > 0) this.perClient.set(client, count);
    else this.perClient.delete(client);
  }

  /** Forget a session (its data is the caller's to drop); true if it was open. */
  private remove(session: UploadSession): boolean {
    if (!this.sessions.delete(session.id)) return false;
    this.release(session.client);
    return true;
  }

  /** The session `id` of repository `name`, or BLOB_UPLOAD_UNKNOWN. */
  get(name: RepoName, id: string): UploadSession {
    const session = this.sessions.get(id);
    if (!session || session.name !== name) {
      throw registryError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } });
    }
    session.lastUsed = this.now();
    return session;
  }

  /**
   * Append one chunk. A Content-Range must start where the upload ends (else 416, as the spec's
   * chunked flow requires) and agree with Content-Length; the body must have exactly the announced
   * length (SIZE_INVALID otherwise, and the chunk is rolled back).
   */
  async append(session: UploadSession, body: IncomingMessage, headers: ChunkHeaders): Promise<void> {
    const { range, length } = headers;
    if (range) {
      if (range.start !== session.size || range.end < range.start) {
        throw registryError('RANGE_INVALID', {
          status: 416,
          message: `chunk range ${range.start}-${range.end} does not continue the upload at ${session.size}`,
          headers: rangeHeaders(session),
        });
      }
      if (length !== undefined && length !== range.end - range.start + 1) {
        throw registryError('SIZE_INVALID', {
          message: `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`,
        });
      }
    }
    const expected = range ? range.end - range.start + 1 : length;
    if (session.busy) {
      throw registryError('BLOB_UPLOAD_INVALID', {
        message: 'another chunk of this upload is being written',
      });
    }
    session.busy = true;
    const before = session.size;
    const snapshot = session.hash.copy();
    let received = 0;
    try {
      await copyRequestBody(body, session.target.writable(before), (chunk) => {
        received += chunk.byteLength;
        if (expected !== undefined && received > expected) {
          throw registryError('SIZE_INVALID', {
            message: `chunk is longer than the announced ${expected} bytes`,
          });
        }
        session.hash.update(chunk);
      });
      if (expected !== undefined && received !== expected) {
        throw registryError('SIZE_INVALID', {
          message: `chunk has ${received} bytes, ${expected} were announced`,
        });
      }
      session.size = before + received;
    } catch (error) {
      session.hash = snapshot;
      await session.target.truncate(before).catch(() => undefined);
      throw error;
    } finally {
      session.busy = false;
      session.lastUsed = this.now();
    }
  }

  /**
   * Close the upload: the bytes must hash to `digest` (DIGEST_INVALID otherwise, and the session is
   * dropped). Then the blob is stored and linked into the repository.
   */
  async finish(session: UploadSession, digestParam: Digest): Promise<void> {
    if (session.busy) {
      throw registryError('BLOB_UPLOAD_INVALID', {
        message: 'a chunk of this upload is still being written',
      });
    }
    this.remove(session);
    try {
      const { algorithm } = parseDigest(digestParam);
      if (!isVerifiableAlgorithm(algorithm)) {
        throw registryError('DIGEST_INVALID', {
          message: `cannot verify digest algorithm "${algorithm}"`,
          detail: { digest: digestParam },
        });
      }
      const actual =
        algorithm === session.algorithm
          ? (`${algorithm}:${session.hash.digest('hex')}` as Digest)
          : (await digestOfStream(session.target.read(), algorithm)).digest;
      if (actual !== digestParam) {
        throw registryError('DIGEST_INVALID', {
          message: `upload digest mismatch: expected ${digestParam}, got ${actual}`,
          detail: { digest: digestParam, actual },
        });
      }
      await session.target.commit(digestParam);
    } catch (error) {
      await session.target.abort().catch(() => undefined);
      throw error;
    }
    await this.registry.linkBlob(session.name, digestParam);
  }

  /** Cancel an upload (end-14): its bytes are dropped. */
  async cancel(session: UploadSession): Promise<void> {
    this.remove(session);
    await session.target.abort();
  }

  /** Drop the sessions idle longer than the limit, with their temporary data; resolves with how many. */
  async expireIdle(): Promise<number> {
    const limit = this.now() - this.limits.idleMs;
    const idle = [...this.sessions.values()].filter((s) => !s.busy && s.lastUsed <= limit);
    await Promise.all(idle.map((s) => this.cancel(s).catch(() => undefined)));
    return idle.length;
  }

  /** Drop every session (server shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => this.cancel(s).catch(() => undefined)));
  }
}

/** `Location` of an upload session (relative: the spec allows it and it survives proxies). */
export function uploadLocation(session: UploadSession): string {
  return `/v2/${session.name}/blobs/uploads/${session.id}`;
}

/** The headers every upload answer carries: Location, Range (`0-N`, no `bytes=`), Docker-Upload-UUID. */
export function rangeHeaders(session: UploadSession): Record<string, string> {
  return {
    Location: uploadLocation(session),
    // An empty upload reports 0-0, as distribution does; the spec's conformance test accepts it.
    Range: `0-${Math.max(0, session.size - 1)}`,
    'Docker-Upload-UUID': session.id,
  };
}
