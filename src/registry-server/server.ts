/**
 * @module registry-server/server
 * The request router of the embedded registry: matches `/v2/...` paths, validates the repository
 * name before anything else sees it, checks authentication, and turns every failure into the
 * distribution-spec JSON error body.
 *
 * Paths are matched as sent, undecoded: the repository grammar has no character that needs
 * percent-encoding, so `%2e%2e`, `%2f` and friends simply fail validation (NAME_INVALID). Only `%3A`
 * in the last segment is decoded, because some clients escape the colon of a digest.
 *
 * Every answer carries `X-Content-Type-Options: nosniff`, so a browser never guesses a type other
 * than the one sent. A request refused by authentication (401, 429) while its body is still coming
 * is answered at once and its connection closed: the body of a client without credentials is never
 * read (see `connections.ts`).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Authenticator } from './auth.js';
import { answerAndClose, type ConnectionGuard, watchBody } from './connections.js';
import { isRegistryError, type RegistryError, registryError, sendRegistryError } from './errors.js';
import { deleteBlob, getBlob, startUpload, uploadSession } from './handlers-blobs.js';
import {
  deleteManifest,
  getManifest,
  listCatalog,
  listReferrers,
  listTags,
  putManifest,
} from './handlers-manifests.js';
import { afterBody } from './http.js';
import type { RegistryLimits } from './limits.js';
import { checkName, type RepoName } from './names.js';
import type { Registry } from './registry.js';
import { type RegistryLogger, type RouteContext, silentLogger } from './route-context.js';
import type { UploadManager } from './uploads.js';

type Handler = (ctx: RouteContext, reference: string) => Promise<void>;

interface Route {
  pattern: RegExp;
  /** Method -> handler; HEAD is served by the GET handler with `head` set. */
  methods: Partial<Record<string, Handler>>;
}

// Order matters: the upload routes come before `blobs/<digest>`, which would swallow `uploads`.
const ROUTES: Route[] = [
  { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: listTags } },
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: { GET: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: { POST: startUpload } },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: { GET: uploadSession, PATCH: uploadSession, PUT: uploadSession, DELETE: uploadSession },
  },
  { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: { GET: getBlob, DELETE: deleteBlob } },
  { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: listReferrers } },
];

export interface HandlerOptions {
  registry: Registry;
  uploads: UploadManager;
  auth?: Authenticator;
  log?: RegistryLogger;
  /** Log one `info` line per request (method, path, status, time); off by default for speed. */
  accessLog?: boolean;
  /** The minimum body rate (see `limits.ts`); default none. */
  limits?: Pick<RegistryLimits, 'bodyMinBytesPerSecond' | 'bodyGraceMs'>;
  /** Told when a connection has authenticated (it then no longer counts as unauthenticated). */
  guard?: ConnectionGuard;
}

/** The request listener of the registry, for `http.createServer` or `https.createServer`. */
export function createRegistryHandler(options: HandlerOptions): RequestListener {
  const log = options.log ?? silentLogger;
  return (req, res) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (options.limits) watchBody(req, res, options.limits, log);
    options.guard?.answeringOn(req.socket, res);
    if (options.accessLog) {
      const started = performance.now();
      res.once('finish', () => {
        const ms = (performance.now() - started).toFixed(1);
        log.info(`${req.method} ${req.url?.split('?')[0]?.slice(0, 300)} ${res.statusCode} ${ms}ms`);
      });
    }
    handle(req, res, options, log).catch((error: unknown) => {
      const answer = toRegistryError(error, log, req);
      if ((answer.status === 401 || answer.status === 429) && !req.complete) {
        answerAndClose(req, res, answer);
        return;
      }
      afterBody(req, (close) => {
        if (close) answer.headers.Connection = 'close';
        sendRegistryError(res, answer, req.method === 'HEAD');
      });
    });
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HandlerOptions,
  log: RegistryLogger,
): Promise<void> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
  const head = req.method === 'HEAD';
  const method = head ? 'GET' : (req.method ?? 'GET');
  if (!path.startsWith('/v2')) throw notFound(path);
  if (options.auth) {
    await options.auth.check(req);
    options.guard?.authenticated(req.socket);
  }

  const ctx: RouteContext = {
    registry: options.registry,
    uploads: options.uploads,
    req,
    res,
    name: '' as RepoName,
    query,
    path,
    head,
    log,
  };
  if (path === '/v2/' || path === '/v2') {
    if (method !== 'GET') throw unsupported(req, ['GET', 'HEAD']);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
    ctx.res.end(head ? undefined : '{}');
    return;
  }
  if (path === '/v2/_catalog') {
    if (method !== 'GET') throw unsupported(req, ['GET', 'HEAD']);
    await listCatalog(ctx);
    return;
  }
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    ctx.name = checkName(match[1]!);
    const handler = route.methods[method];
    if (!handler) throw unsupported(req, Object.keys(route.methods));
    await handler(ctx, (match[2] ?? '').replace(/%3a/gi, ':'));
    return;
  }
  throw notFound(path);
}

function notFound(path: string): RegistryError {
  return registryError('NAME_UNKNOWN', {
    message: `no registry endpoint at ${path.slice(0, 200)}`,
    detail: { path: path.slice(0, 200) },
  });
}

function unsupported(req: IncomingMessage, allowed: string[]): RegistryError {
  const allow = allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
  return registryError('UNSUPPORTED', {
    message: `method ${req.method} is not supported here`,
    headers: { Allow: allow.join(', ') },
  });
}

/** Any failure as a spec error: storage trouble becomes 500 UNKNOWN (507 when the disk is full). */
function toRegistryError(error: unknown, log: RegistryLogger, req: IncomingMessage): RegistryError {
  if (isRegistryError(error)) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  log.error(`${req.method} ${req.url?.slice(0, 200)} failed: ${message}`);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return registryError('UNKNOWN', { status: 507, message: `registry storage is full (${code})` });
  }
  return registryError('UNKNOWN', { message: `internal error: ${message.split('\n')[0]}` });
}
