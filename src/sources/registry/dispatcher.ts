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
import type * as Undici from 'undici';
import { isLoopbackHost, proxyVariables } from '../../core/net.js';
import { tlsOptions } from './connection-settings.js';
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
    const { httpProxy, httpsProxy, noProxy } = proxyVariables(this.#options.env ?? process.env);
    if (!httpProxy && !httpsProxy) return null;
    return new EnvHttpProxyAgent({
      ...this.#agentOptions(),
      requestTls: tlsOptions(this.#options),
      httpProxy,
      httpsProxy,
      noProxy,
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
let readBuffer: Buffer | undefined;

/**
 * Socket options that make every read of a connection up to 1 MiB, into one buffer shared by all
 * sockets, each read then copied into a Buffer of its exact size before it is handed on.
 *
 * Node reads a socket 64 KiB at a time, each read into a new 64 KiB allocation (then shrunk): a
 * 1 GiB blob is 16 384 reads, each woken, allocated, parsed by undici and passed down the body
 * stream on its own. With `onread` the kernel hands over what it has in one read (on loopback,
 * about 1 MiB at a time during a blob download); the copy costs far less than the reads it saves
 * (client CPU per MiB of a blob body, hashed: 2.1-2.2 ms -> 1.5 ms, measured with
 * bench/profile/blob-variants.ts). Copying keeps each chunk its own memory: handing out slices of
 * a fresh 1 MiB buffer instead would let a 16 KiB read (the usual size from a remote registry)
 * hold a whole megabyte for as long as the body buffers it. Sharing one buffer is safe: each read
 * fills it and its callback empties it synchronously, on the one JavaScript thread. Handing large
 * reads on without the copy (each in a fresh buffer of the connection's own) was measured too:
 * +2% for a verified download read to its end, but -10% for `copy --all`, whose chunked uploads
 * keep 16 MiB of a blob's chunks (then held in 1 MiB buffers half used); not taken.
 *
 * Direct connections only: a TLS socket layered on a proxy's CONNECT tunnel takes over the
 * underlying socket's reads, and that path is left as Node and undici built it.
 */
function largeReadOptions(): { highWaterMark: number; onread: object } {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER);
  return {
    // Node pauses the socket when this much is buffered unread; at 64 KiB (undici's setting) a
    // 1 MiB read would pause it after every read.
    highWaterMark: 4 * READ_BUFFER,
    onread: {
      buffer: readBuffer,
      callback(this: { push(chunk: Buffer): boolean }, bytes: number, buffer: Uint8Array): boolean {
        return this.push(Buffer.from(buffer.subarray(0, bytes)));
      },
    },
  };
}
