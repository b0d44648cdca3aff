/**
 * @module test/support/awkward-servers
 * Small node:http registries that misbehave in one way each, for what the real CNCF registry never
 * does: leave out `Docker-Content-Digest`, serve bytes that do not match their digest, answer 429
 * or 503 before succeeding, redirect blob downloads to another host, stall or never answer, point
 * at a plain-http token realm, send Docker Hub's rate-limit headers, page tag lists with `Link`.
 *
 * Every server listens on a port the OS picks, records the requests it saw (headers included, so a
 * test can prove where `Authorization` went) and is stopped with `close()`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { sha256 } from './sha256.js';

/** One request an awkward server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Milliseconds since the epoch when it arrived. */
  at: number;
}

export interface AwkwardServer {
  /** What the server gets wrong, for test names. */
  readonly name: string;
  /** `http://HOST:PORT`. */
  readonly url: string;
  /** `HOST:PORT`, for references such as `127.0.0.1:PORT/app:latest`. */
  readonly host: string;
  readonly requests: SeenRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => unknown;

/** Start a server on `address` (default 127.0.0.1) with a port the OS picks. */
export interface AwkwardServerOptions {
  /** Address to listen on (default 127.0.0.1; 127.0.0.2 makes "another host"). */
  address?: string;
  /** Serve https with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Handle CONNECT requests (for a proxy). */
  onConnect?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** Start a server with a port the OS picks. Unread request bodies are dumped by node:http itself. */
export async function startAwkwardServer(
  name: string,
  handler: Handler,
  options: AwkwardServerOptions = {},
): Promise<AwkwardServer> {
  const address = options.address ?? '127.0.0.1';
  const requests: SeenRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      at: Date.now(),
    });
    Promise.resolve(handler(req, res, url)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  if (options.onConnect) server.on('connect', options.onConnect);
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  const { port } = server.address() as AddressInfo;
  // An IPv6 address is written in brackets before its port, as in a URL or an image reference.
  const host = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return {
    name,
    url: `${options.tls ? 'https' : 'http'}://${host}`,
    host,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A small but valid OCI image: config, one layer, and the manifest pointing at both. */
export interface TinyImage {
  manifest: Buffer;
  digest: `sha256:${string}`;
  mediaType: string;
  config: Buffer;
  layer: Buffer;
  blobs: Map<`sha256:${string}`, Buffer>;
}

export function tinyImage(seed = 'tiny'): TinyImage {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', seed, rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layer = Buffer.from(`layer bytes of ${seed}\n`.repeat(20));
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  return {
    manifest,
    digest: sha256(manifest),
    mediaType,
    config,
    layer,
    blobs: new Map([
      [sha256(config), config],
      [sha256(layer), layer],
    ]),
  };
}

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const BLOB_PATH = /^\/v2\/(.+)\/blobs\/([^/]+)$/;

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function notFound(res: ServerResponse, code = 'MANIFEST_UNKNOWN'): void {
  sendJson(res, 404, { errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] });
}

interface ServeOptions {
  /** Leave out Docker-Content-Digest. */
  omitDigest?: boolean;
  /** Replace the body (not the headers) of by-digest responses. */
  tamper?: (bytes: Buffer) => Buffer;
  extraHeaders?: Record<string, string>;
}

/** Answer a manifest or blob request from `image`, the way a registry would, unless told otherwise. */
function serveImage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  image: TinyImage,
  tags: Record<string, Buffer>,
  options: ServeOptions = {},
): boolean {
  const m = MANIFEST_PATH.exec(url.pathname);
  const b = BLOB_PATH.exec(url.pathname);
  let body: Buffer | undefined;
  let type = 'application/octet-stream';
  let digest: string | undefined;
  if (m) {
    const ref = m[2]!;
    body = ref.includes(':') ? (ref === sha256(image.manifest) ? image.manifest : undefined) : tags[ref];
    type = image.mediaType;
    if (body) digest = sha256(body);
    if (body && ref.includes(':') && options.tamper) body = options.tamper(body);
  } else if (b) {
    body = image.blobs.get(b[2]! as `sha256:${string}`);
    digest = b[2];
    if (body && options.tamper) body = options.tamper(body);
  } else {
    return false;
  }
  if (!body) {
    notFound(res, m ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN');
    return true;
  }
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': body.length,
    ...options.extraHeaders,
  };
  if (!options.omitDigest && digest) headers['docker-content-digest'] = digest;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

function ping(res: ServerResponse): void {
  res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0', 'content-length': 2 });
  res.end('{}');
}

/** Serves `app:latest` and blobs without any `Docker-Content-Digest` header (old registries do this). */
export async function startNoDigestHeaderRegistry(
  image = tinyImage('no-digest'),
): Promise<AwkwardServer & { image: TinyImage }> {
  const server = await startAwkwardServer('no Docker-Content-Digest header', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (!serveImage(req, res, url, image, { latest: image.manifest }, { omitDigest: true })) notFound(res);
  });
  return Object.assign(server, { image });
}

/** Serves `app:latest` to GET, and answers a manifest HEAD 405 Method Not Allowed (some proxies do). */
export async function startHeadRefusingRegistry(
  image = tinyImage('head-refusing'),
): Promise<AwkwardServer & { image: TinyImage }> {
  const server = await startAwkwardServer('manifest HEAD refused', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (req.method === 'HEAD' && MANIFEST_PATH.test(url.pathname)) {
      res.writeHead(405, { allow: 'GET', 'content-length': 0 });
      return res.end();
    }
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  return Object.assign(server, { image });
}

/** Serves bytes that do not match the digest they are asked for (manifests by digest and blobs). */
export async function startWrongBytesRegistry(
  image = tinyImage('wrong-bytes'),
): Promise<AwkwardServer & { image: TinyImage }> {
  const flip = (bytes: Buffer) => {
    const copy = Buffer.from(bytes);
    // Same length, different content: only hashing can tell.
    copy[copy.length - 2] = copy[copy.length - 2] === 0x20 ? 0x09 : 0x20;
    return copy;
  };
  const server = await startAwkwardServer('bytes do not match their digest', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (!serveImage(req, res, url, image, { latest: image.manifest }, { tamper: flip })) notFound(res);
  });
  return Object.assign(server, { image });
}

/** Answers the first `failures` non-ping requests with `status` (and `Retry-After` when given), then behaves. */
export async function startFailingThenOkRegistry(options: {
  name: string;
  status: number;
  failures: number;
  retryAfter?: string;
  image?: TinyImage;
}): Promise<AwkwardServer & { image: TinyImage }> {
  const image = options.image ?? tinyImage(options.name);
  let left = options.failures;
  const server = await startAwkwardServer(options.name, (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (left > 0) {
      left--;
      const headers: Record<string, string> = options.retryAfter ? { 'retry-after': options.retryAfter } : {};
      const code = options.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
      return sendJson(res, options.status, { errors: [{ code, message: 'try again later' }] }, headers);
    }
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  return Object.assign(server, { image });
}

/** 429 with `Retry-After: <seconds>` for the first requests, then success. */
export function startRateLimitedRegistry(failures = 1, retryAfter = '1') {
  return startFailingThenOkRegistry({ name: '429 with Retry-After', status: 429, failures, retryAfter });
}

/** 503 for the first requests, then success. */
export function startFlakyRegistry(failures = 2) {
  return startFailingThenOkRegistry({ name: '503 then success', status: 503, failures });
}

/**
 * A registry that wants Basic auth and redirects blob downloads (307) to a storage server on
 * another host name (127.0.0.2), as registries backed by S3 or a CDN do. The storage server
 * records whether `Authorization` reached it.
 */
export async function startRedirectingBlobRegistry(
  credentials = { username: 'user', password: 'pass' },
): Promise<{
  registry: AwkwardServer;
  storage: AwkwardServer;
  image: TinyImage;
  close(): Promise<void>;
}> {
  const image = tinyImage('redirect');
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const storage = await startAwkwardServer(
    'blob storage on another host',
    (_req, res, url) => {
      const blob = image.blobs.get(url.pathname.slice('/blobs/'.length) as `sha256:${string}`);
      if (!blob) return notFound(res, 'BLOB_UNKNOWN');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
      res.end(blob);
    },
    { address: '127.0.0.2' },
  );
  const registry = await startAwkwardServer('redirects blobs to another host', (req, res, url) => {
    if (req.headers.authorization !== expected) {
      return sendJson(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        {
          'www-authenticate': 'Basic realm="awkward"',
        },
      );
    }
    if (url.pathname === '/v2/') return ping(res);
    const b = BLOB_PATH.exec(url.pathname);
    if (b) {
      // A signed URL, as object storage hands out: its query must not show up in logs.
      res.writeHead(307, { location: `${storage.url}/blobs/${b[2]}?X-Amz-Signature=very-secret-signature` });
      return res.end();
    }
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  return {
    registry,
    storage,
    image,
    close: async () => {
      await Promise.all([registry.close(), storage.close()]);
    },
  };
}

/** Waits `delayMs` before answering anything (headers included). */
export async function startSlowRegistry(delayMs: number): Promise<AwkwardServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = await startAwkwardServer(`answers after ${delayMs} ms`, (_req, res) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) ping(res);
    }, delayMs);
    timers.add(timer);
  });
  const close = server.close;
  return Object.assign(server, {
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await close();
    },
  });
}

/** Challenges with a Bearer realm over plain http on a name that is not loopback. */
export async function startHttpRealmRegistry(
  realm = 'http://auth.not-loopback.test/token',
): Promise<AwkwardServer> {
  return startAwkwardServer('bearer realm over plain http', (_req, res) => {
    sendJson(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      {
        'www-authenticate': `Bearer realm="${realm}",service="awkward"`,
      },
    );
  });
}

/** Docker Hub's rate-limit headers on manifest responses, with the values given (empty ones too). */
export async function startHubLikeRegistry(
  headers: Record<string, string>,
  status = 200,
): Promise<AwkwardServer & { image: TinyImage }> {
  const image = tinyImage('hub-like');
  const server = await startAwkwardServer('Docker Hub rate-limit headers', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (status !== 200 && MANIFEST_PATH.test(url.pathname)) {
      return sendJson(
        res,
        status,
        { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit' }] },
        headers,
      );
    }
    if (!serveImage(req, res, url, image, { latest: image.manifest }, { extraHeaders: headers }))
      notFound(res);
  });
  return Object.assign(server, { image });
}

/**
 * A tag list that pages: `n` (default `pageSize`) and `last` honoured, sorted output, and a
 * `Link: <...>; rel="next"` header while more remain. With `link: false` it pages without Link.
 */
export async function startPaginatingRegistry(
  tags: string[],
  pageSize = 2,
  options: { link?: boolean } = {},
): Promise<AwkwardServer> {
  const sorted = [...tags].sort();
  return startAwkwardServer('tag list paged with Link', (_req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (!m) return notFound(res, 'NAME_UNKNOWN');
    const n = url.searchParams.has('n') ? Number(url.searchParams.get('n')) : pageSize;
    const last = url.searchParams.get('last');
    const rest = last === null ? sorted : sorted.filter((t) => t > last);
    const page = rest.slice(0, n);
    const headers: Record<string, string> = {};
    if (options.link !== false && page.length > 0 && rest.length > page.length) {
      headers.link = `</v2/${m[1]}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
    }
    sendJson(res, 200, { name: m[1], tags: page }, headers);
  });
}

export interface ScopeDemandingRegistry extends AwkwardServer {
  image: TinyImage;
  /** Token requests: method, scopes asked, whether Basic credentials came along. */
  tokenRequests: Array<{ method: string; scopes: string[]; basic: boolean; grantType: string | null }>;
  /** Refuse every token issued so far (as if they were revoked). */
  revokeAll(): void;
}

/**
 * A Bearer registry with its token endpoint on the same loopback server. Manifests of `app`
 * need `repository:app:pull` AND `extraScope` (default `repository:base:pull`); a token missing
 * one gets a 401 whose challenge names both, as a registry that checks a second repository does.
 * Tokens can be revoked; with `oauth: false` the realm answers a POST with 404 (no OAuth2 form);
 * with `refuseAll` no token is ever good enough (a client must give up, not loop).
 */
export async function startScopeDemandingRegistry(
  options: { extraScope?: string; oauth?: boolean; refuseAll?: boolean } = {},
): Promise<ScopeDemandingRegistry> {
  const image = tinyImage('scopes');
  const extra = options.extraScope ?? 'repository:base:pull';
  const issued = new Map<string, string[]>();
  const tokenRequests: ScopeDemandingRegistry['tokenRequests'] = [];
  let serial = 0;
  let realm = '';
  const server = await startAwkwardServer('demands an extra scope', async (req, res, url) => {
    if (url.pathname === '/token') {
      let scopes = url.searchParams.getAll('scope');
      let grantType: string | null = null;
      if (req.method === 'POST') {
        if (options.oauth === false) return sendJson(res, 404, { error: 'not found' });
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        grantType = form.get('grant_type');
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      }
      tokenRequests.push({
        method: req.method ?? 'GET',
        scopes,
        basic: Boolean(req.headers.authorization),
        grantType,
      });
      const token = `token-${++serial}`;
      issued.set(token, scopes);
      return sendJson(res, 200, { token, expires_in: 300 });
    }
    const challenge = (scope: string) =>
      sendJson(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        {
          'www-authenticate': `Bearer realm="${realm}",service="awkward"${scope ? `,scope="${scope}"` : ''}`,
        },
      );
    const auth = req.headers.authorization ?? '';
    const granted = auth.startsWith('Bearer ') ? issued.get(auth.slice(7)) : undefined;
    if (url.pathname === '/v2/') return granted ? ping(res) : challenge('');
    const m = MANIFEST_PATH.exec(url.pathname);
    const needed = m ? [`repository:${m[1]}:pull`, extra] : [];
    if (!granted || !needed.every((s) => granted.includes(s)) || options.refuseAll)
      return challenge(needed.join(' '));
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  realm = `${server.url}/token`;
  return Object.assign(server, { image, tokenRequests, revokeAll: () => issued.clear() });
}

/**
 * A Bearer registry whose token realm is a server on another host name (127.0.0.2), as Docker Hub's
 * `auth.docker.io` is. The realm server records every request, so a test can prove that a client
 * told not to contact it never did.
 */
export async function startForeignRealmRegistry(): Promise<{
  registry: AwkwardServer;
  realm: AwkwardServer;
  image: TinyImage;
  close(): Promise<void>;
}> {
  const image = tinyImage('foreign-realm');
  const realm = await startAwkwardServer(
    'token server on another host',
    (_req, res) => sendJson(res, 200, { token: 'foreign-token', expires_in: 300 }),
    { address: '127.0.0.2' },
  );
  const registry = await startAwkwardServer('token realm on another host', (req, res, url) => {
    if (req.headers.authorization !== 'Bearer foreign-token') {
      return sendJson(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        { 'www-authenticate': `Bearer realm="${realm.url}/token",service="foreign"` },
      );
    }
    if (url.pathname === '/v2/') return ping(res);
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  return {
    registry,
    realm,
    image,
    close: async () => {
      await Promise.all([registry.close(), realm.close()]);
    },
  };
}

/**
 * Manifests over the 4 MiB limit: `declared` announces its size in Content-Length, `chunked`
 * streams without one, so only counting the bytes can stop it.
 */
export async function startOversizedManifestRegistry(size = 5 * 1024 * 1024): Promise<AwkwardServer> {
  return startAwkwardServer('manifest larger than 4 MiB', (_req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const tag = MANIFEST_PATH.exec(url.pathname)?.[2];
    const headers: Record<string, string | number> = {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
    };
    if (tag === 'declared') headers['content-length'] = size;
    else if (tag !== 'chunked') return notFound(res);
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < size && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
}

/** Resets the connection (no response at all) for the first `failures` non-ping requests. */
export async function startResettingRegistry(failures = 1): Promise<AwkwardServer & { image: TinyImage }> {
  const image = tinyImage('resetting');
  let left = failures;
  const server = await startAwkwardServer('resets the connection', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (left > 0) {
      left--;
      req.socket.destroy();
      return;
    }
    if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
  });
  return Object.assign(server, { image });
}

/**
 * Serves one image under every tag, but holds the manifest requests of the tags in `held` until
 * `release()`: a registry that hangs for some references and answers others at once.
 */
export async function startHoldingRegistry(
  held: readonly string[],
): Promise<AwkwardServer & { image: TinyImage; release(): void; manifestRequests(tag: string): number }> {
  const image = tinyImage('holding');
  const waiting: Array<() => void> = [];
  let released = false;
  const server = await startAwkwardServer(`holds ${held.join(', ')}`, (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const tag = MANIFEST_PATH.exec(url.pathname)?.[2];
    const answer = () => {
      if (!res.destroyed) serveImage(req, res, url, image, { [tag ?? '']: image.manifest });
    };
    if (tag && held.includes(tag) && !released) waiting.push(answer);
    else if (!serveImage(req, res, url, image, tag ? { [tag]: image.manifest } : {})) notFound(res);
  });
  return Object.assign(server, {
    image,
    release() {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    manifestRequests: (tag: string) =>
      server.requests.filter((r) => MANIFEST_PATH.exec(r.path)?.[2] === tag).length,
  });
}

/**
 * Accepts connections and reads requests, and never answers any, `/v2/` included: a registry
 * host that hangs (a wedged process, a load balancer with no healthy backend). Requests are
 * recorded as they arrive; `close()` drops the connections.
 */
export async function startSilentRegistry(): Promise<AwkwardServer> {
  return startAwkwardServer('never answers', () => new Promise<void>(() => {}));
}

/** Sends a blob's headers and its first bytes, then nothing more (a stalled download). */
export async function startStalledBodyRegistry(): Promise<AwkwardServer & { image: TinyImage }> {
  const image = tinyImage('stalled');
  const server = await startAwkwardServer('stalls in the middle of a body', (_req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const blob = image.blobs.get((BLOB_PATH.exec(url.pathname)?.[2] ?? '') as `sha256:${string}`);
    if (!blob) return notFound(res, 'BLOB_UNKNOWN');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
    res.write(blob.subarray(0, 10));
  });
  return Object.assign(server, { image });
}

/**
 * An HTTP proxy that answers CONNECT for any host name by tunnelling to `127.0.0.1:targetPort`, so
 * a registry name that does not resolve here (`registry.example.test`) still reaches a test server
 * when, and only when, the client goes through the proxy. `connects` records the CONNECT targets.
 */
export async function startConnectProxy(targetPort: number): Promise<AwkwardServer & { connects: string[] }> {
  const connects: string[] = [];
  const sockets = new Set<Duplex>();
  const server = await startAwkwardServer(
    'forwards every CONNECT to one port',
    (_req, res) => {
      res.writeHead(405);
      res.end();
    },
    {
      onConnect: (req, client, head) => {
        connects.push(req.url ?? '');
        const upstream = connect(targetPort, '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (head.length > 0) upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
      },
    },
  );
  const close = server.close;
  return Object.assign(server, {
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await close();
    },
  });
}

/** How {@link startLayerRegistry} answers the download of its one layer. */
export type LayerMisbehaviour =
  /** Send the layer as it is (a layer that is itself broken: truncated gzip, corrupt tar). */
  | 'honest'
  /** Send these bytes instead, with the layer's Content-Length when they are as long. */
  | { replaceWith: Uint8Array }
  /** Send the headers and the first `hangUpAfter` bytes, then close the connection. */
  | { hangUpAfter: number };

/**
 * Serves `app:latest`: an image with one layer whose descriptor is computed from `layer` (so its
 * digest and size are the true ones), and answers the layer's download as `misbehaviour` says.
 * The layer is reachable by tag (through the manifest) and as `app@LAYERDIGEST`.
 */
export async function startLayerRegistry(
  layer: { bytes: Uint8Array; mediaType: string },
  misbehaviour: LayerMisbehaviour = 'honest',
): Promise<AwkwardServer & { image: TinyImage; layerDigest: `sha256:${string}` }> {
  const layerDigest = sha256(layer.bytes);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [{ mediaType: layer.mediaType, digest: layerDigest, size: layer.bytes.length }],
    }),
  );
  const image: TinyImage = {
    manifest,
    digest: sha256(manifest),
    mediaType,
    config,
    layer: Buffer.from(layer.bytes),
    blobs: new Map([[sha256(config), config]]),
  };
  const name =
    misbehaviour === 'honest'
      ? 'serves a broken layer'
      : 'replaceWith' in misbehaviour
        ? 'serves other bytes for a layer'
        : 'hangs up in the middle of a layer';
  const server = await startAwkwardServer(name, (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (BLOB_PATH.exec(url.pathname)?.[2] !== layerDigest) {
      if (!serveImage(req, res, url, image, { latest: manifest })) notFound(res);
      return;
    }
    const body =
      typeof misbehaviour === 'object' && 'replaceWith' in misbehaviour
        ? Buffer.from(misbehaviour.replaceWith)
        : Buffer.from(layer.bytes);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length':
        typeof misbehaviour === 'object' && 'hangUpAfter' in misbehaviour ? layer.bytes.length : body.length,
      'docker-content-digest': layerDigest,
    });
    if (req.method === 'HEAD') return res.end();
    if (typeof misbehaviour === 'object' && 'hangUpAfter' in misbehaviour) {
      res.write(body.subarray(0, misbehaviour.hangUpAfter), () => {
        // Let the bytes leave before the connection goes.
        setTimeout(() => res.destroy(), 50);
      });
      return;
    }
    res.end(body);
  });
  return Object.assign(server, { image, layerDigest });
}

/**
 * A registry whose every text is a terminal attack: tag names, a config's labels and environment,
 * index annotations and artifact types, and an error body (`app:broken` answers 400) all carry
 * escape sequences and control characters. `evil` is the text used.
 */
export async function startHostileTextRegistry(
  evil = '\u001b]0;owned\u0007\u001b[2J\u009b31m\r\n',
): Promise<AwkwardServer & { evil: string; image: TinyImage }> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: [`PATH=/bin${evil}`],
        Labels: { [`label${evil}`]: `value${evil}` },
        WorkingDir: `/w${evil}`,
      },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const layer = Buffer.from('layer of the hostile text registry\n');
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
      annotations: { [`note${evil}`]: evil },
    }),
  );
  const indexType = 'application/vnd.oci.image.index.v1+json';
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: [
        {
          mediaType,
          digest: sha256(manifest),
          size: manifest.length,
          platform: { os: 'linux', architecture: 'amd64', variant: `v${evil}` },
          annotations: { [`a${evil}`]: evil },
        },
      ],
    }),
  );
  const image: TinyImage = {
    manifest,
    digest: sha256(manifest),
    mediaType,
    config,
    layer,
    blobs: new Map([
      [sha256(config), config],
      [sha256(layer), layer],
    ]),
  };
  const tags = ['1.0', `latest${evil}`, 'index'];
  const server = await startAwkwardServer('every text is an escape sequence', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    if (url.pathname === '/v2/app/tags/list') return sendJson(res, 200, { name: 'app', tags });
    if (url.pathname === '/v2/_catalog') return sendJson(res, 200, { repositories: ['app', `evil${evil}`] });
    const ref = MANIFEST_PATH.exec(url.pathname)?.[2];
    if (ref === 'broken') {
      return sendJson(res, 400, { errors: [{ code: 'DENIED', message: `denied${evil}because` }] });
    }
    if (ref === 'index' || ref === sha256(index)) {
      res.writeHead(200, {
        'content-type': indexType,
        'content-length': index.length,
        'docker-content-digest': sha256(index),
      });
      return res.end(req.method === 'HEAD' ? undefined : index);
    }
    if (!serveImage(req, res, url, image, { '1.0': manifest })) notFound(res);
  });
  return Object.assign(server, { evil, image });
}

/**
 * Blob downloads without a size: GET streams chunked (no Content-Length) for as long as the client
 * reads, up to `cap` bytes (a bound for the test's sake), under the digest of `image`'s layer.
 * HEAD answers with the layer's true Content-Length, or none with `headLength: false`.
 */
export async function startEndlessBlobRegistry(
  options: { headLength?: boolean; cap?: number } = {},
): Promise<AwkwardServer & { image: TinyImage; sent: () => number }> {
  const image = tinyImage('endless');
  const cap = options.cap ?? 256 * 1024 * 1024;
  let sent = 0;
  const server = await startAwkwardServer('blob body without end', (req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const digest = BLOB_PATH.exec(url.pathname)?.[2];
    if (digest !== sha256(image.layer)) {
      if (!serveImage(req, res, url, image, { latest: image.manifest })) notFound(res);
      return;
    }
    if (req.method === 'HEAD') {
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
      if (options.headLength !== false) headers['content-length'] = image.layer.length;
      res.writeHead(200, headers);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (sent < cap && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  return Object.assign(server, { image, sent: () => sent });
}

/**
 * A tag list (and catalog) that never ends: every page holds `pageSize` new names and a Link to
 * the next, up to `maxPages` pages (a bound for the test's sake).
 */
export async function startEndlessListRegistry(
  pageSize = 1000,
  maxPages = 100_000,
): Promise<AwkwardServer & { pages: () => number }> {
  let pages = 0;
  const server = await startAwkwardServer('tag list without end', (_req, res, url) => {
    if (url.pathname === '/v2/') return ping(res);
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    const catalog = url.pathname === '/v2/_catalog';
    if (!m && !catalog) return notFound(res, 'NAME_UNKNOWN');
    const page = Number(url.searchParams.get('page') ?? '0');
    pages++;
    const names = Array.from({ length: pageSize }, (_, i) => `t${String(page).padStart(6, '0')}-${i}`);
    const path = catalog ? '/v2/_catalog' : `/v2/${m![1]}/tags/list`;
    const headers: Record<string, string> =
      page + 1 < maxPages ? { link: `<${path}?page=${page + 1}>; rel="next"` } : {};
    sendJson(res, 200, catalog ? { repositories: names } : { name: m![1], tags: names }, headers);
  });
  return Object.assign(server, { pages: () => pages });
}
