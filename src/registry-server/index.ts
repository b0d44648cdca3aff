/**
 * @module registry-server
 * An OCI Distribution 1.1 registry in the box: `startRegistry()` serves pull, push, tags, catalog,
 * deletes and referrers from a folder or from memory, so the quick start, the tests and the
 * benchmarks always have a real registry at hand (go-containerregistry's `pkg/registry` is the
 * model). `imgdigest registry serve` is the CLI around it.
 *
 * Safety defaults: no authentication only on a loopback address; anything else needs `htpasswd`
 * or an explicit `allowAnonymous`.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { listenError } from '../core/errno.js';
import { ImgdigestError } from '../core/errors.js';
import { isLoopbackHost, parseAddr } from '../core/net.js';
import { type Authenticator, loadHtpasswd } from './auth.js';
import { ConnectionGuard } from './connections.js';
import { loadDemoImages } from './demo.js';
import { FsStorage } from './fs-storage.js';
import { type RegistryLimits, resolveLimits } from './limits.js';
import { type LoadedImage, loadImageSet, loadLayout } from './load.js';
import { Registry } from './registry.js';
import { type RegistryLogger, silentLogger } from './route-context.js';
import { createRegistryHandler } from './server.js';
import { MemoryStorage, type Storage } from './storage.js';
import { UploadManager } from './uploads.js';

export { DEFAULT_LIMITS, type RegistryLimits } from './limits.js';
export type { LoadedImage } from './load.js';
export type { RegistryLogger } from './route-context.js';
export type { ManifestMeta, Storage, UploadTarget } from './storage.js';
export { FsStorage, loadDemoImages, loadImageSet, MemoryStorage, Registry };

export interface StartRegistryOptions {
  /** `host:port` to listen on; default `127.0.0.1:5000`. Port 0 picks a free port. */
  addr?: string;
  /** Storage folder; default `$XDG_CACHE_HOME/imgdigest/registry` (or `~/.cache/...`). */
  root?: string;
  /** Keep everything in memory instead of `root`. */
  memory?: boolean;
  /** An htpasswd file with bcrypt entries: enables HTTP Basic authentication. */
  htpasswd?: string;
  /** Certificate and key files (PEM): serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Allow listening on a non-loopback address without authentication. */
  allowAnonymous?: boolean;
  /** OCI layouts to serve, each `oci:DIR` (see `load.ts` for the naming rule). */
  load?: string[];
  /** Load the demo images (`sample/app`, `sample/worker`; see `demo.ts`) before listening. */
  demo?: boolean;
  logger?: RegistryLogger;
  /** Log every request (method, path, status, time) at `info` on the logger. */
  accessLog?: boolean;
  /** A storage backend of your own (tests inject faults this way); overrides root and memory. */
  storage?: Storage;
  /** Environment used for the default root (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Defences against hostile clients (see `limits.ts` for each one and its default). */
  limits?: Partial<RegistryLimits>;
}

export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` (https with TLS). */
  readonly url: string;
  /** `127.0.0.1:PORT`, as image references spell it. */
  readonly host: string;
  readonly port: number;
  /** The storage folder, or `memory`. */
  readonly root: string;
  /** What `demo` and `load` put in (demo images first). */
  readonly loaded: LoadedImage[];
  readonly registry: Registry;
  readonly server: Server;
  /** Stop listening, drop open connections and unfinished uploads. */
  close(): Promise<void>;
}

/** The default storage folder: `$XDG_CACHE_HOME/imgdigest/registry` or `~/.cache/imgdigest/registry`. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  const cache =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cache, 'imgdigest', 'registry');
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (the one rule of core/net.ts). */
export const isLoopback: (host: string) => boolean = isLoopbackHost;
export { parseAddr };

/**
 * Start a registry and resolve once it listens.
 *
 * @throws `USAGE` (bad addr, or a non-loopback address without auth), `CONFIG_INVALID` (htpasswd,
 * TLS files), `NETWORK_ERROR` (cannot listen), layout errors from `load`.
 * @example
 * const reg = await startRegistry({ addr: '127.0.0.1:0', memory: true });
 * console.log(reg.url); // http://127.0.0.1:40123
 * await reg.close();
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const { host, port } = parseAddr(options.addr ?? '127.0.0.1:5000');
  if (!isLoopbackHost(host) && !options.htpasswd && !options.allowAnonymous) {
    throw new ImgdigestError(
      'USAGE',
      `refusing to serve ${host}:${port} without authentication: pass --htpasswd FILE, or --allow-anonymous to serve anyone on the network`,
    );
  }
  const log = options.logger ?? silentLogger;
  const limits = resolveLimits(options.limits);
  const auth: Authenticator | undefined = options.htpasswd
    ? await loadHtpasswd(options.htpasswd, {
        maxFailures: limits.authMaxFailures,
        failureWindowMs: limits.authFailureWindowMs,
        log,
      })
    : undefined;
  const tls = options.tls ? await readTls(options.tls) : undefined;
  const storage =
    options.storage ??
    (options.memory ? new MemoryStorage() : new FsStorage(options.root ?? defaultRoot(options.env)));
  await storage.init();
  const registry = new Registry(storage);
  const loaded: LoadedImage[] = options.demo ? await loadDemoImages(registry) : [];
  for (const spec of options.load ?? []) loaded.push(...(await loadLayout(registry, spec)));

  const uploads = new UploadManager(registry, {
    maxSessions: limits.maxUploads,
    maxPerClient: limits.maxUploadsPerClient,
    idleMs: limits.uploadIdleMs,
  });
  const guard = auth ? new ConnectionGuard(limits.maxUnauthenticatedConnections, log) : undefined;
  const handler = createRegistryHandler({
    registry,
    uploads,
    auth,
    log,
    accessLog: options.accessLog,
    limits,
    guard,
  });
  let server: Server;
  try {
    server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  } catch (error) {
    await uploads.close();
    await auth?.close();
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `cannot use the TLS certificate and key: ${(error as Error).message}`,
    );
  }
  // Large layers over slow links must not be cut by Node's default 5-minute request timeout: a
  // minimum body rate bounds slow bodies instead (limits.bodyMinBytesPerSecond).
  server.requestTimeout = 0;
  if (guard) server.on(tls ? 'secureConnection' : 'connection', (socket) => guard.add(socket));
  server.keepAliveTimeout = 65_000;
  await listen(server, host, port).catch(async (error) => {
    await uploads.close();
    await auth?.close();
    throw error;
  });
  const actual = (server.address() as { port: number }).port;
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${actual}`;
  return {
    url: `${tls ? 'https' : 'http'}://${hostPort}`,
    host: hostPort,
    port: actual,
    root: storage.description,
    loaded,
    registry,
    server,
    async close() {
      await uploads.close();
      await auth?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(listenError(error, `${host.includes(':') ? `[${host}]` : host}:${port}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function readTls(files: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new ImgdigestError(
        'CONFIG_INVALID',
        `cannot read TLS ${what} ${path}: ${(error as Error).message}`,
      );
    }
  };
  return { cert: await read(files.cert, 'certificate'), key: await read(files.key, 'key') };
}
