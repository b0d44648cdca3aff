/**
 * @module registry/dispatcher
 * The undici dispatchers the transport sends through: keep-alive pools per origin with a
 * connection limit, TLS settings, and proxies.
 *
 * Proxies: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (either case) through undici 7's
 * `EnvHttpProxyAgent`, except for loopback hosts, which are never proxied (as Go's net/http does):
 * a registry on this machine is not behind the company proxy. TLS: verification stays on unless
 * `skipTlsVerify`; `NODE_EXTRA_CA_CERTS` is honoured by Node itself, and a `caFile` is added on top.
 */
import { readFileSync } from 'node:fs';
import type * as Undici from 'undici';
import { errorReason } from '../../core/errno.js';
import { ImgdigestError } from '../../core/errors.js';
import { isLoopbackHost } from '../../core/net.js';
import { Client, type Dispatcher, EnvHttpProxyAgent, Pool } from './undici.js';

export interface DispatcherOptions {
  /** Use this dispatcher for everything (it is not closed by `close()`). */
  dispatcher?: Dispatcher;
  skipTlsVerify?: boolean;
  caFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Connections per origin. */
  connections: number;
  /** Connect timeout. */
  timeoutMs: number;
}

/** Where a request goes, as the dispatcher choice needs it. */
export interface DispatchTarget {
  /** `http://127.0.0.1:5000` */
  readonly origin: string;
  /** `127.0.0.1:5000` */
  readonly host: string;
}

/**
 * Picks (and lazily creates) the dispatcher for an origin.
 *
 * A direct origin gets a connection pool of its own, held here, as undici's `Agent` would make and
 * drop it (a pool whose connections have all gone is closed and made again when needed), without
 * the Agent's extra dispatch per request (its validation, the origin string, its pool lookup): the
 * transport already knows the origin, and a pool found once per origin is all it needs.
 */
export class Dispatchers {
  readonly #options: DispatcherOptions;
  #proxied: Dispatcher | null | undefined;
  #poolOptions: Undici.Pool.Options | undefined;
  /** The dispatcher of each origin, decided once per origin (the loopback check is not free). */
  readonly #byOrigin = new Map<string, Dispatcher>();
  /** The pools made here, per origin, with their open connections. */
  readonly #pools = new Map<string, { pool: Undici.Pool | Undici.Client; connections: number }>();

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** The dispatcher for `target`: the caller's, the proxy for non-loopback hosts when one is set, else direct. */
  for(target: DispatchTarget): Dispatcher {
    if (this.#options.dispatcher) return this.#options.dispatcher;
    return this.#byOrigin.get(target.origin) ?? this.#choose(target);
  }

  #choose(target: DispatchTarget): Dispatcher {
    if (!isLoopbackHost(target.host)) {
      if (this.#proxied === undefined) this.#proxied = this.#createProxied();
      if (this.#proxied) {
        this.#byOrigin.set(target.origin, this.#proxied);
        return this.#proxied;
      }
    }
    return this.#pool(target.origin);
  }

  /** A direct pool for `origin`, as undici's Agent makes one (a Client when one connection is all). */
  #pool(origin: string): Dispatcher {
    this.#poolOptions ??= this.#agentOptions(true);
    const options = this.#poolOptions;
    const pool = options.connections === 1 ? new Client(origin, options) : new Pool(origin, options);
    const entry = { pool, connections: 0 };
    // What the Agent does: a pool is dropped once it has no connection left, so origins seen once
    // (a redirect to object storage) do not keep a pool for the life of the client.
    const dropIfUnused = () => {
      if (entry.connections > 0 || this.#pools.get(origin) !== entry) return;
      this.#pools.delete(origin);
      this.#byOrigin.delete(origin);
      if (!pool.destroyed) void pool.close().catch(() => {});
    };
    pool
      .on('connect', () => {
        entry.connections++;
      })
      .on('disconnect', () => {
        entry.connections--;
        dropIfUnused();
      })
      .on('connectionError', dropIfUnused);
    this.#pools.set(origin, entry);
    this.#byOrigin.set(origin, pool);
    return pool;
  }

  /** `largeReads`: sockets read through {@link largeReads} (direct connections only, see there). */
  #agentOptions(largeReads = false): Undici.Agent.Options & Undici.Pool.Options {
    return {
      connections: this.#options.connections,
      keepAliveTimeout: 10_000,
      connect: {
        timeout: this.#options.timeoutMs,
        ...tlsOptions(this.#options),
        ...(largeReads ? largeReadOptions() : {}),
      },
    };
  }

  /** An `EnvHttpProxyAgent` when a proxy variable is set, else null (no proxy in play). */
  #createProxied(): Dispatcher | null {
    const env = this.#options.env ?? process.env;
    const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? '';
    const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? '';
    if (!httpProxy && !httpsProxy) return null;
    return new EnvHttpProxyAgent({
      ...this.#agentOptions(),
      requestTls: tlsOptions(this.#options),
      httpProxy,
      httpsProxy,
      noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
    });
  }

  /** Close the dispatchers made here. */
  async close(): Promise<void> {
    const own = [...[...this.#pools.values()].map((entry) => entry.pool), this.#proxied].filter(
      (d): d is Dispatcher => Boolean(d),
    );
    this.#proxied = undefined;
    this.#pools.clear();
    this.#byOrigin.clear();
    await Promise.all(own.map((d) => d.close()));
  }
}

/** Bytes one socket read may return; see {@link largeReadOptions}. */
const READ_BUFFER = 1024 * 1024;
/** A read at least this large is handed on in the buffer it landed in instead of copied. */
const HAND_ON_BYTES = READ_BUFFER / 2;
/** The buffer every connection reads into until it makes a large read; see {@link largeReadOptions}. */
let sharedReadBuffer: Buffer | undefined;
/** Read buffers that belong to one connection alone (made for it after a large read). */
const ownReadBuffers = new WeakSet<Uint8Array>();
/** The buffer the read just handled leaves for the connection's next read; see {@link nextReadBuffer}. */
let handedBack: Buffer | undefined;

function ownReadBuffer(): Buffer {
  const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
  ownReadBuffers.add(buffer);
  return buffer;
}

/**
 * Where a connection's next read goes. Node asks right after each read's callback (and once when
 * the socket is made), synchronously, on the one JavaScript thread: what the callback left in
 * {@link handedBack} is that connection's, anything else gets the shared buffer.
 */
function nextReadBuffer(): Buffer {
  const next = handedBack;
  handedBack = undefined;
  if (next) return next;
  sharedReadBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER);
  return sharedReadBuffer;
}

/**
 * Socket options that make every read of a connection up to 1 MiB, handed on without a copy when
 * it is large, copied into a Buffer of its exact size when it is small.
 *
 * Node reads a socket 64 KiB at a time, each read into a new 64 KiB allocation (then shrunk): a
 * 1 GiB blob is 16 384 reads, each woken, allocated, parsed by undici and passed down the body
 * stream on its own. With `onread` the kernel hands over what it has in one read (on loopback,
 * about 1 MiB at a time during a blob download): client CPU per MiB of a blob body, hashed, went
 * from 2.1-2.2 ms to 1.5 ms (bench/profile/blob-variants.ts).
 *
 * Every connection starts on one shared buffer, and a small read (a manifest, a HEAD's headers,
 * the 16 KiB records of TLS) is copied out of it at once, so that it holds only its own bytes
 * however long a body keeps it, and the buffer is free for the next read of any connection. The
 * first large read (half the buffer or more: a blob arriving faster than it is consumed) is
 * copied too, and the connection gets a buffer of its own; from then on each large read is handed
 * on in that buffer, which is never read into again, and the connection gets a fresh one (undici's
 * body chunks are views of it, so a large chunk reaches the hash without being copied; a copy
 * with its zero-filled allocation cost about 10% of the CPU per MiB of a download, and its
 * garbage collections more). A connection that has made large reads keeps its 1 MiB buffer while
 * it stays open; a chunk handed on holds at most twice its own size.
 *
 * Direct connections only: a TLS socket layered on a proxy's CONNECT tunnel takes over the
 * underlying socket's reads, and that path is left as Node and undici built it.
 */
function largeReadOptions(): { highWaterMark: number; onread: object } {
  return {
    // Node pauses the socket when this much is buffered unread; at 64 KiB (undici's setting) a
    // 1 MiB read would pause it after every read.
    highWaterMark: 4 * READ_BUFFER,
    onread: {
      buffer: nextReadBuffer,
      callback(this: { push(chunk: Buffer): boolean }, bytes: number, buffer: Buffer): boolean {
        const own = ownReadBuffers.has(buffer);
        const large = bytes >= HAND_ON_BYTES;
        const read = buffer.subarray(0, bytes);
        const pushed = this.push(own && large ? read : Buffer.from(read));
        // Set after the push: a connection opened while it ran has asked for its first buffer.
        handedBack = large ? ownReadBuffer() : own ? buffer : undefined;
        return pushed;
      },
    },
  };
}

/**
 * TLS settings: verification on unless `skipTlsVerify`; with a `caFile`, Node's bundled roots plus
 * `NODE_EXTRA_CA_CERTS` plus the file (giving `ca` replaces Node's defaults, so they are repeated).
 */
export function tlsOptions(options: Pick<DispatcherOptions, 'skipTlsVerify' | 'caFile' | 'env'>): {
  rejectUnauthorized: boolean;
  ca?: string[];
} {
  const tls: { rejectUnauthorized: boolean; ca?: string[] } = {
    rejectUnauthorized: options.skipTlsVerify !== true,
  };
  if (options.caFile) {
    const env = options.env ?? process.env;
    const extra = [env.NODE_EXTRA_CA_CERTS, options.caFile].filter((p): p is string => Boolean(p));
    // node:tls loads here, not at start: plain-http registries (loopback) never need it.
    const { rootCertificates } = process.getBuiltinModule('node:tls');
    tls.ca = [...rootCertificates, ...extra.map((path) => readCa(path))];
  }
  return tls;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ImgdigestError('CONFIG_INVALID', `cannot read CA file ${path}: ${errorReason(e)}`, {
      details: { path },
    });
  }
}
