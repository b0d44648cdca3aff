import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startAwkwardServer,
  startConnectProxy,
  startFlakyRegistry,
  startNoDigestHeaderRegistry,
  startOversizedManifestRegistry,
  startResettingRegistry,
  startStalledBodyRegistry,
  type TinyImage,
  tinyImage,
} from '../../../test/support/awkward-servers.js';
import { loopbackTls } from '../../../test/support/certs.js';
import { sha256 } from '../../../test/support/sha256.js';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { type HttpClientKind, RequestTarget, Transport } from './transport.js';

/** The tests marked (%s) run over both HTTP clients of the transport (transport.ts, `httpClient`). */
const HTTP_CLIENTS: HttpClientKind[] = ['undici', 'node'];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(cleanupTempDirs);
function track<T extends { close(): Promise<void> }>(server: T): T {
  cleanups.push(() => server.close());
  return server;
}
function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ anonymous: true, retry: { minDelayMs: 5 }, ...options });
  cleanups.push(() => c.close());
  return c;
}
/**
 * What the registries below answer alike: the ping (200) and `image`'s manifest by any tag (HEAD
 * without a body). False for any other path, which the caller answers.
 */
function answerPingOrManifest(
  image: TinyImage,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): boolean {
  if (url.pathname === '/v2/') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    return true;
  }
  if (!url.pathname.includes('/manifests/')) return false;
  res.writeHead(200, {
    'content-type': image.mediaType,
    'content-length': image.manifest.length,
    'docker-content-digest': image.digest,
  });
  res.end(req.method === 'HEAD' ? undefined : image.manifest);
  return true;
}
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end
  }
}

describe.each(HTTP_CLIENTS)('network failures (%s)', (httpClient) => {
  it('retries a reset connection', async () => {
    const s = track(await startResettingRegistry(1));
    const resolved = await client({ httpClient }).resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(s.requests.filter((r) => r.method === 'HEAD')).toHaveLength(2);
  });

  it('fails a stalled blob download with TIMEOUT instead of hanging', async () => {
    const s = track(await startStalledBodyRegistry());
    const [digest, bytes] = [...s.image.blobs.entries()][1]!;
    const blob = await client({ httpClient, timeoutMs: 300 }).getBlob(parseReference(`${s.host}/app`), {
      digest,
      size: bytes.length,
    });
    await expect(drain(blob.stream)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('fails a blob whose connection is cut halfway with a network error, and goes on', async () => {
    const image = tinyImage('cut');
    const blob = randomBytes(256 * 1024);
    const s = track(
      await startAwkwardServer('cuts blob downloads halfway', (req, res, url) => {
        if (answerPingOrManifest(image, req, res, url)) return;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
        res.write(blob.subarray(0, blob.length / 2), () => res.socket?.destroy());
      }),
    );
    const c = client({ httpClient, retry: { maxRetries: 0 } });
    const repo = parseReference(`${s.host}/app`);
    const reader = await c.getBlob(repo, { digest: sha256(blob), size: blob.length });
    await expect(drain(reader.stream)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    // The client still works: the next request gets a connection of its own.
    expect((await c.resolve(parseReference(`${s.host}/app:latest`))).descriptor.digest).toBe(image.digest);
  });

  it('calls a TLS handshake that never completes a connect timeout', async () => {
    // A server that accepts connections and never says a word: TCP connects, TLS never does.
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    });
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const error = await client({ httpClient, scheme: 'https', timeoutMs: 300, retry: { maxRetries: 0 } })
      .resolve(parseReference(`${host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect((error as Error).message).toBe(
      `timeout: GET https://${host}/v2/: could not connect within 300 ms`,
    );
    expect(sockets.size).toBe(1);
  });

  it('reaches a registry on an IPv6 address', async () => {
    const image = tinyImage('v6');
    const s = track(
      await startAwkwardServer(
        'IPv6 loopback',
        (req, res, url) => {
          if (!answerPingOrManifest(image, req, res, url)) res.writeHead(404).end();
        },
        { address: '::1' },
      ),
    );
    expect(s.host).toMatch(/^\[::1\]:\d+$/);
    const resolved = await client({ httpClient }).resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.descriptor.digest).toBe(image.digest);
  });

  it('refuses manifests over 4 MiB, announced or not', async () => {
    const s = track(await startOversizedManifestRegistry());
    const c = client({ httpClient });
    for (const tag of ['declared', 'chunked']) {
      const error = await c.getManifest(parseReference(`${s.host}/app:${tag}`)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MANIFEST_TOO_LARGE' });
      expect((error as Error).message).toContain(`${s.host}/app:${tag}`);
    }
  });
});

describe.each(HTTP_CLIENTS)('per-registry permits (%s)', (httpClient) => {
  it('gives every permit back, whatever happened to the request', { timeout: 15_000 }, async () => {
    const s = track(await startNoDigestHeaderRegistry());
    const c = client({ httpClient, concurrency: 1 });
    const repo = parseReference(`${s.host}/app`);
    const [digest, bytes] = [...s.image.blobs.entries()][0]!;
    for (let round = 0; round < 2; round++) {
      await c.resolve(repo.withTag('latest'));
      await expect(c.getManifest(repo.withTag('missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await c.headManifest(repo.withTag('missing'))).toBeNull();
      await expect(c.tags(repo)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await drain((await c.getBlob(repo, { digest, size: bytes.length })).stream);
      (await c.getBlob(repo, { digest })).stream.destroy();
      await expect(c.getBlob(repo, { digest, size: bytes.length + 1 })).rejects.toMatchObject({
        code: 'SIZE_MISMATCH',
      });
      await expect(c.rateLimit(repo.withTag('latest'))).resolves.toBeNull();
    }
    expect((await c.resolve(repo.withTag('latest'))).via).toBe('get');
  });
});

describe.each(HTTP_CLIENTS)('proxies (%s)', (httpClient) => {
  it('goes through HTTP_PROXY for a registry that is not on loopback', async () => {
    const registry = track(await startFlakyRegistry(0));
    const proxy = track(await startConnectProxy(Number(registry.host.split(':')[1])));
    const c = client({ httpClient, insecure: true, env: { HTTP_PROXY: proxy.url } });
    const resolved = await c.resolve(parseReference('registry.example.test:5000/app:latest'));
    expect(resolved.descriptor.digest).toBe(registry.image.digest);
    expect(proxy.connects).toContain('registry.example.test:5000');
  });

  it('does not proxy hosts in NO_PROXY, nor loopback registries', async () => {
    const registry = track(await startFlakyRegistry(0));
    const proxy = track(await startConnectProxy(Number(registry.host.split(':')[1])));
    const env = { HTTP_PROXY: proxy.url, NO_PROXY: 'example.test' };
    const direct = await client({ httpClient, insecure: true, env, retry: { maxRetries: 0 } })
      .resolve(parseReference('registry.example.test:5000/app:latest'))
      .catch((e: unknown) => e);
    expect(direct).toMatchObject({ code: 'NETWORK_ERROR' });
    await client({ httpClient, env: { HTTP_PROXY: proxy.url } }).resolve(
      parseReference(`${registry.host}/app:latest`),
    );
    expect(proxy.connects).toEqual([]);
  });
});

describe.each(HTTP_CLIENTS)('TLS (%s)', (httpClient) => {
  let key: string;
  let cert: string;
  let caPath: string;
  beforeAll(async () => {
    const tls = await loopbackTls(await tempDir('tls'));
    ({ key, cert } = tls);
    caPath = tls.files.ca;
  });

  async function tlsRegistry() {
    const image = tinyImage('tls');
    const server = await startAwkwardServer(
      'https with a certificate from a private CA',
      (_req, res, url) => {
        if (url.pathname === '/v2/') {
          res.writeHead(200, { 'content-length': 0 });
          return res.end();
        }
        res.writeHead(200, {
          'content-type': image.mediaType,
          'docker-content-digest': image.digest,
          'content-length': image.manifest.length,
        });
        res.end();
      },
      { tls: { key, cert } },
    );
    return Object.assign(track(server), { image });
  }

  it('verifies certificates, trusting a CA file when given', async () => {
    const s = await tlsRegistry();
    const ref = parseReference(`${s.host}/app:latest`);
    const refused = await client({ httpClient, scheme: 'https' })
      .resolve(ref)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((refused as Error).message).toContain(`GET https://${s.host}/v2/`);
    expect(
      (await client({ httpClient, scheme: 'https', caFile: caPath }).resolve(ref)).descriptor.digest,
    ).toBe(s.image.digest);
  });

  it('skips verification only when told to', async () => {
    const s = await tlsRegistry();
    const resolved = await client({ httpClient, scheme: 'https', skipTlsVerify: true }).resolve(
      parseReference(`${s.host}/app:latest`),
    );
    expect(resolved.descriptor.digest).toBe(s.image.digest);
  });

  it('reports an unreadable CA file as a configuration error', async () => {
    const s = await tlsRegistry();
    const error = await client({ httpClient, scheme: 'https', caFile: '/nonexistent/ca.pem' })
      .resolve(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as Error).message).toBe(
      'cannot read CA file /nonexistent/ca.pem: no such file or directory (ENOENT)',
    );
  });
});

/**
 * A bare HTTP/1.1 registry on a socket server, so a test can count connections and misbehave in
 * ways node:http refuses to (a body after a HEAD answer).
 */
async function startRawRegistry(options: { bodyOnHead: boolean; closeEach?: boolean }) {
  const image = tinyImage('raw');
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const [method, path] = pending.slice(0, end).split(' ');
        pending = pending.slice(end + 4);
        const body = path === '/v2/' ? Buffer.from('{}') : image.manifest;
        const head =
          `HTTP/1.1 200 OK\r\ncontent-type: ${path === '/v2/' ? 'application/json' : image.mediaType}\r\n` +
          `content-length: ${body.length}\r\ndocker-content-digest: ${image.digest}\r\n\r\n`;
        const sendBody = method !== 'HEAD' || options.bodyOnHead;
        socket.write(sendBody ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
        if (options.closeEach) socket.end();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    image,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('request targets', () => {
  const base = RequestTarget.of(new URL('http://127.0.0.1:5000'));
  it.each([
    '/v2/',
    '/v2/app/manifests/1.0',
    '/v2/team/app/manifests/sha256:0123abcd',
    '/v2/app/tags/list?n=10&last=a b',
    '/v2/app/manifests/%41',
    '/v2/a/../b/./c',
    '/v2/app/manifests/.hidden',
    '/v2/ä/manifests/x',
    '//elsewhere:9000/v2/',
    'relative/path',
    'https://other.example/v2/?x=1',
  ])('sends %s to the origin and path a URL makes of it', (path) => {
    const url = new URL(path, base.url);
    const target = base.resolve(path);
    expect(target.origin).toBe(url.origin);
    expect(target.host).toBe(url.host);
    expect(target.path).toBe(`${url.pathname}${url.search}`);
    expect(target.url.href).toBe(url.href);
  });
});

describe.each(HTTP_CLIENTS)('connections (%s)', (httpClient) => {
  it('keeps one connection for many manifest HEADs (undici would close it after each HEAD)', async () => {
    const s = track(await startRawRegistry({ bodyOnHead: false }));
    const c = client({ httpClient, concurrency: 1 });
    for (let i = 0; i < 20; i++) {
      const resolved = await c.resolve(parseReference(`${s.host}/app:v${i}`));
      expect(resolved.descriptor.digest).toBe(s.image.digest);
    }
    expect(s.connections()).toBe(1);
  });

  it('resolves every tag from a server that closes each connection after one answer', async () => {
    // The transport's pool for an origin is dropped when its last connection goes (as undici's
    // Agent does) and made again for the next request.
    const s = track(await startRawRegistry({ bodyOnHead: false, closeEach: true }));
    const c = client({ httpClient, concurrency: 2 });
    for (let i = 0; i < 10; i++) {
      const resolved = await c.resolve(parseReference(`${s.host}/app:v${i}`));
      expect(resolved.descriptor.digest).toBe(s.image.digest);
    }
    expect(s.connections()).toBe(11); // the ping and ten HEADs, one connection each
  });

  it('resolves every tag from a server that sends a body with its HEAD answers', async () => {
    const s = track(await startRawRegistry({ bodyOnHead: true }));
    const c = client({ httpClient, concurrency: 1 });
    for (let i = 0; i < 20; i++) {
      const resolved = await c.resolve(parseReference(`${s.host}/app:v${i}`));
      expect(resolved.descriptor.digest).toBe(s.image.digest);
    }
  });
});

/**
 * Socket reads (dispatcher.ts): a connection reads up to 1 MiB at a time; a large read is handed
 * on in the buffer it landed in (never read into again), a small one is copied out at once.
 */
describe('socket reads', () => {
  const MiB = 1024 * 1024;
  /** A registry serving `blobs` (in one write, or in `drip`-byte writes a tick apart) and `image`'s manifest. */
  async function blobServer(blobs: Buffer[], drip?: number) {
    const image = tinyImage('reads');
    const byDigest = new Map<string, Buffer>(blobs.map((b) => [sha256(b), b]));
    const server = track(
      await startAwkwardServer('socket reads', (req, res, url) => {
        if (answerPingOrManifest(image, req, res, url)) return;
        const blob = byDigest.get(url.pathname.slice(url.pathname.lastIndexOf('/') + 1));
        if (!blob) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
        if (!drip) return void res.end(blob);
        let at = 0;
        const next = () => {
          const part = blob.subarray(at, at + drip);
          at += part.length;
          if (at >= blob.length) res.end(part);
          else res.write(part, () => setTimeout(next, 1));
        };
        next();
      }),
    );
    return { host: server.host, image };
  }

  it('delivers every byte of parallel large downloads intact, however long the chunks are kept', async () => {
    const blobs = [randomBytes(12 * MiB), randomBytes(9 * MiB + 12_345), randomBytes(12 * MiB)];
    const s = await blobServer(blobs);
    const c = client({ concurrency: 4 });
    const repo = parseReference(`${s.host}/app`);
    const download = async (blob: Buffer) => {
      const reader = await c.getBlob(repo, { digest: sha256(blob), size: blob.length });
      const kept: Buffer[] = [];
      for await (const chunk of reader.stream) kept.push(chunk as Buffer);
      return kept;
    };
    // Twice: the second round reuses the connections the first left, HEADs and blobs mixed.
    for (let round = 0; round < 2; round++) {
      const heads = Array.from({ length: 24 }, (_, i) =>
        c.resolve(parseReference(`${s.host}/app:v${round}-${i}`)),
      );
      const kept = await Promise.all(blobs.map(download));
      for (const r of await Promise.all(heads)) expect(r.descriptor.digest).toBe(s.image.digest);
      // Hashed again only now, after every download ended: a buffer handed on and then read into
      // again would have changed under the chunks kept here.
      kept.forEach((chunks, i) => {
        expect(Buffer.concat(chunks).length).toBe(blobs[i]!.length);
        expect(sha256(Buffer.concat(chunks))).toBe(sha256(blobs[i]!));
      });
    }
  });

  it('copies a small read out, so a chunk kept does not hold a large buffer', async () => {
    const blob = randomBytes(256 * 1024);
    const s = await blobServer([blob], 8 * 1024);
    const c = client();
    const reader = await c.getBlob(parseReference(`${s.host}/app`), {
      digest: sha256(blob),
      size: blob.length,
    });
    const kept: Buffer[] = [];
    for await (const chunk of reader.stream) kept.push(chunk as Buffer);
    expect(sha256(Buffer.concat(kept))).toBe(sha256(blob));
    expect(kept.length).toBeGreaterThan(4);
    for (const chunk of kept) expect(chunk.buffer.byteLength).toBeLessThan(64 * 1024);
  });
});

/**
 * A streamed upload body (a blob PATCH or PUT) re-arms the attempt's deadline with every chunk it
 * hands over (`Deadline.rearm`): what must stay under the timeout is a pause, not the transfer.
 */
describe.each(HTTP_CLIENTS)('streamed request bodies and the timeout (%s)', (httpClient) => {
  const TIMEOUT_MS = 1000;
  const CHUNK = new Uint8Array(1024).fill(7);

  /** A server that reads a request body to its end, then answers 201 with the byte count. */
  async function startSink() {
    let received = 0;
    const server = createHttpServer((req, res) => {
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => res.writeHead(201, { 'content-type': 'text/plain' }).end(String(received)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    return {
      url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`),
      received: () => received,
    };
  }

  function transport(): Transport {
    const t = new Transport({ httpClient, timeoutMs: TIMEOUT_MS, retry: { maxRetries: 0 } });
    cleanups.push(() => t.close());
    return t;
  }

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a slow but steady body outlives the timeout: each chunk starts it again', async () => {
    const sink = await startSink();
    const chunks = 12;
    let first = 0;
    let last = 0;
    const response = await transport().send({
      method: 'PUT',
      url: sink.url,
      body: async function* () {
        first = Date.now();
        for (let i = 0; i < chunks; i++) {
          if (i > 0) await pause(TIMEOUT_MS / 5);
          yield CHUNK;
        }
        last = Date.now();
      },
    });
    const text = Buffer.from(await response.bytes()).toString('utf8');
    // The transfer took longer than the timeout, so only re-arming can have kept it alive.
    expect(last - first).toBeGreaterThan(TIMEOUT_MS);
    expect(response.status).toBe(201);
    expect(text).toBe(String(chunks * CHUNK.length));
  });

  it('a body that stalls is cut at the timeout, with the bytes sent so far', async () => {
    const sink = await startSink();
    let release = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const error = await transport()
      .send({
        method: 'PUT',
        url: sink.url,
        body: async function* () {
          yield CHUNK;
          yield CHUNK;
          await stalled;
          yield CHUNK;
        },
      })
      .catch((e: unknown) => e);
    release();
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect((error as Error).message).toContain('no response headers');
    expect(sink.received()).toBeLessThanOrEqual(2 * CHUNK.length);
  });
});
