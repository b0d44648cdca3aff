import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  startAwkwardServer,
  startFailingThenOkRegistry,
  startFlakyRegistry,
  startHttpRealmRegistry,
  startHubLikeRegistry,
  startNoDigestHeaderRegistry,
  startPaginatingRegistry,
  startRateLimitedRegistry,
  startRedirectingBlobRegistry,
  startSlowRegistry,
  startWrongBytesRegistry,
} from '../../../test/support/awkward-servers.js';
import { sha256 } from '../../../test/support/sha256.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { HttpClientKind, RequestLogEntry } from './transport.js';

/** The tests marked (%s) run over both HTTP clients of the transport (transport.ts, `httpClient`). */
const HTTP_CLIENTS: HttpClientKind[] = ['undici', 'node'];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
function track<T extends { close(): Promise<void> }>(server: T): T {
  cleanups.push(() => server.close());
  return server;
}
function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ anonymous: true, retry: { minDelayMs: 5, maxDelayMs: 2_000 }, ...options });
  cleanups.push(() => c.close());
  return c;
}
async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

describe.each(HTTP_CLIENTS)('a registry without Docker-Content-Digest (%s)', (httpClient) => {
  it('falls back from HEAD to GET and hashes the served bytes', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    const c = client({ httpClient });
    const resolved = await c.resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.via).toBe('get');
    expect(resolved.descriptor).toMatchObject({
      digest: s.image.digest,
      size: s.image.manifest.length,
      mediaType: s.image.mediaType,
    });
    expect(Buffer.from(resolved.manifest!.raw).equals(s.image.manifest)).toBe(true);
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/',
      'HEAD /v2/app/manifests/latest',
      'GET /v2/app/manifests/latest',
    ]);
  });

  it('makes headManifest say so instead of guessing', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    await expect(
      client({ httpClient }).headManifest(parseReference(`${s.host}/app:latest`)),
    ).rejects.toMatchObject({
      code: 'REGISTRY_ERROR',
    });
  });
});

describe.each(HTTP_CLIENTS)('a registry serving bytes that do not match their digest (%s)', (httpClient) => {
  it('refuses a manifest fetched by digest, naming expected and actual', async () => {
    const s = track(await startWrongBytesRegistry());
    const ref = parseReference(`${s.host}/app@${s.image.digest}`);
    const error = await client({ httpClient })
      .getManifest(ref)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DIGEST_MISMATCH', details: { expected: s.image.digest } });
    const actual = (error as { details: { actual: string } }).details.actual;
    expect(actual).not.toBe(s.image.digest);
    expect((error as Error).message).toContain(`expected ${s.image.digest}, got ${actual}`);
  });

  it('fails a blob stream before its end', async () => {
    const s = track(await startWrongBytesRegistry());
    const [digest, bytes] = [...s.image.blobs.entries()][0]!;
    const blob = await client({ httpClient }).getBlob(parseReference(`${s.host}/app`), {
      digest,
      size: bytes.length,
    });
    await expect(readAll(blob.stream)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      details: { expected: digest },
    });
  });
});

describe.each(HTTP_CLIENTS)('retries (%s)', (httpClient) => {
  it('waits as long as Retry-After says, then succeeds', async () => {
    const s = track(await startRateLimitedRegistry(1, '1'));
    const heads = () => s.requests.filter((r) => r.method === 'HEAD').length;
    // A fake clock for timers only: sockets run for real, and the clock moves 10 ms at a time
    // until the retry arrives, so the time waited is counted on it, not measured.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const resolving = client({ httpClient }).resolve(parseReference(`${s.host}/app:latest`));
      let waited = 0;
      while (heads() < 1) await new Promise((r) => setImmediate(r));
      while (heads() < 2 && waited < 5_000) {
        await new Promise((r) => setImmediate(r));
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      // minDelayMs is 5 ms here: a wait of a second can only come from Retry-After.
      expect(waited).toBeGreaterThanOrEqual(1000);
      expect(heads()).toBe(2);
      await vi.advanceTimersByTimeAsync(10);
      expect((await resolving).descriptor.digest).toBe(s.image.digest);
      expect(heads()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up at once when Retry-After asks for longer than maxDelayMs', async () => {
    const s = track(
      await startFailingThenOkRegistry({ name: 'long 429', status: 429, failures: 5, retryAfter: '3600' }),
    );
    const error = await client({ httpClient })
      .headManifest(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(s.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1); // no retry at all
    expect(error).toMatchObject({
      code: 'REGISTRY_ERROR',
      retryable: true,
      details: { status: 429, retryAfterMs: 3_600_000 },
    });
  });

  it('retries 503 with backoff and succeeds', async () => {
    const s = track(await startFlakyRegistry(2));
    const resolved = await client({ httpClient }).resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.via).toBe('head');
    expect(s.requests.filter((r) => r.method === 'HEAD')).toHaveLength(3);
  });

  it('stops after maxRetries with a retryable REGISTRY_ERROR', async () => {
    const s = track(await startFlakyRegistry(10));
    const error = await client({ httpClient, retry: { maxRetries: 1, minDelayMs: 5 } })
      .getManifest(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'REGISTRY_ERROR',
      retryable: true,
      details: { status: 503, registryCode: 'UNAVAILABLE' },
    });
    expect(s.requests.filter((r) => r.path.includes('manifests'))).toHaveLength(2);
  });
});

describe.each(HTTP_CLIENTS)('blob redirects to another host (%s)', (httpClient) => {
  it('follows them without sending Authorization to the other host, and logs no secrets', async () => {
    const s = await startRedirectingBlobRegistry({ username: 'user', password: 'hunter2-secret' });
    cleanups.push(s.close);
    const log: RequestLogEntry[] = [];
    const c = client({
      httpClient,
      anonymous: false,
      credentials: { username: 'user', password: 'hunter2-secret' },
      logger: (e) => log.push(e),
    });
    const [digest, bytes] = [...s.image.blobs.entries()][1]!;
    const blob = await c.getBlob(parseReference(`${s.registry.host}/app`), { digest, size: bytes.length });
    expect((await readAll(blob.stream)).equals(bytes)).toBe(true);
    expect(
      s.registry.requests
        .filter((r) => r.path.includes('/blobs/'))
        .every((r) => r.headers.authorization?.startsWith('Basic ')),
    ).toBe(true);
    expect(s.storage.requests).toHaveLength(1);
    expect(s.storage.requests[0]!.headers.authorization).toBeUndefined();
    const text = JSON.stringify(log);
    expect(text).toContain('127.0.0.2');
    expect(text).not.toContain('very-secret-signature');
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain(Buffer.from('user:hunter2-secret').toString('base64'));
  });

  it('names the registry and the credential source when the password is wrong', async () => {
    const s = await startRedirectingBlobRegistry({ username: 'user', password: 'right' });
    cleanups.push(s.close);
    const c = client({
      httpClient,
      anonymous: false,
      credentials: { username: 'user', password: 'wrong-pw', source: 'the --username flag' },
    });
    const error = await c.resolve(parseReference(`${s.registry.host}/app:latest`)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^unauthorized: authentication to ${s.registry.host.replace(/\./g, '\\.')} failed with credentials from the --username flag \\(`,
      ),
    );
    expect((error as Error).message).not.toContain('wrong-pw');
  });
});

describe.each(HTTP_CLIENTS)('redirect loops (%s)', (httpClient) => {
  it('stops after 10 redirects', async () => {
    const s = track(
      await startAwkwardServer('redirects forever', (_req, res, url) => {
        if (url.pathname === '/v2/') {
          res.writeHead(200, { 'content-length': 0 });
          return res.end();
        }
        res.writeHead(307, {
          location: `${url.pathname}?hop=${Number(url.searchParams.get('hop') ?? 0) + 1}`,
        });
        res.end();
      }),
    );
    const digest = sha256('x');
    const error = await client({ httpClient })
      .getBlob(parseReference(`${s.host}/app`), { digest })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((error as Error).message).toBe(
      `too many redirects: GET http://${s.host}/v2/app/blobs/${digest} (more than 10)`,
    );
    expect(s.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(11);
  });
});

describe.each(HTTP_CLIENTS)('timeouts and network errors (%s)', (httpClient) => {
  it('gives TIMEOUT after the configured time (the registry would answer after 10 s)', async () => {
    const s = track(await startSlowRegistry(10_000));
    const error = await client({ httpClient, timeoutMs: 300 })
      .resolve(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect((error as Error).message).toContain('within 300 ms');
  });

  it('fails with NETWORK_ERROR naming the request when nothing listens', async () => {
    const s = await startAwkwardServer('closed', () => {});
    await s.close();
    const error = await client({ httpClient })
      .resolve(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((error as Error).message).toContain(`GET http://${s.host}/v2/`);
  });

  it('rejects with the abort reason when the caller aborts', async () => {
    const s = track(await startSlowRegistry(10_000));
    const controller = new AbortController();
    const pending = client({ httpClient }).resolve(parseReference(`${s.host}/app:latest`), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await expect(pending).rejects.toThrow('user gave up');
  });
});

describe.each(HTTP_CLIENTS)('token realms (%s)', (httpClient) => {
  it('refuses a Bearer realm over plain http on a name that is not loopback', async () => {
    const s = track(await startHttpRealmRegistry());
    const error = await client({
      httpClient,
      anonymous: false,
      credentials: { username: 'u', password: 'p' },
    })
      .resolve(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toContain('refusing token realm http://auth.not-loopback.test/token');
    expect(s.requests.map((r) => r.path)).toEqual(['/v2/']);
  });
});

describe.each(HTTP_CLIENTS)('Docker Hub rate limits (%s)', (httpClient) => {
  it('reads them from one HEAD', async () => {
    const s = track(
      await startHubLikeRegistry({
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '76;w=21600',
        'docker-ratelimit-source': '192.0.2.7',
      }),
    );
    expect(await client({ httpClient }).rateLimit(parseReference(`${s.host}/app:latest`))).toEqual({
      limit: 100,
      remaining: 76,
      windowSeconds: 21600,
      source: '192.0.2.7',
    });
    expect(s.requests.filter((r) => r.path !== '/v2/').map((r) => r.method)).toEqual(['HEAD']);
  });

  it('tolerates empty values', async () => {
    const s = track(
      await startHubLikeRegistry({ 'ratelimit-limit': ';w=21600', 'ratelimit-remaining': ';w=21600' }),
    );
    expect(await client({ httpClient }).rateLimit(parseReference(`${s.host}/app:latest`))).toEqual({
      limit: null,
      remaining: null,
      windowSeconds: 21600,
    });
  });

  it('reports the headers of a 429 instead of retrying it', async () => {
    const s = track(
      await startHubLikeRegistry(
        { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' },
        429,
      ),
    );
    expect(await client({ httpClient }).rateLimit(parseReference(`${s.host}/app:latest`))).toMatchObject({
      limit: 100,
      remaining: 0,
    });
    expect(s.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1);
  });

  it('returns null when no limit is announced', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    expect(await client({ httpClient }).rateLimit(parseReference(`${s.host}/app:latest`))).toBeNull();
  });
});

describe.each(HTTP_CLIENTS)('tag pagination (%s)', (httpClient) => {
  const tags = ['v1', 'v2', 'v3', 'v4', 'v5'];

  it('follows Link headers and returns every tag in order', async () => {
    const s = track(await startPaginatingRegistry(tags, 2));
    const repo = parseReference(`${s.host}/app`);
    expect(await client({ httpClient }).tags(repo)).toEqual(tags);
    expect(s.requests.filter((r) => r.path.endsWith('/tags/list'))).toHaveLength(3);
  });

  it('returns one page, and where the next starts', async () => {
    const s = track(await startPaginatingRegistry(tags, 2));
    const c = client({ httpClient });
    const repo = parseReference(`${s.host}/app`);
    expect(await c.tags(repo, { all: false })).toEqual(['v1', 'v2']);
    const page = await c.tagsPage(repo, { n: 3, last: 'v1' });
    expect(page.items).toEqual(['v2', 'v3', 'v4']);
    expect(page.name).toBe('app');
    expect(page.next).toMatchObject({ last: 'v4', n: 3 });
  });

  it('pages by n and last when the registry sends no Link header', async () => {
    const s = track(await startPaginatingRegistry(tags, 100, { link: false }));
    expect(await client({ httpClient }).tags(parseReference(`${s.host}/app`), { n: 2 })).toEqual(tags);
    expect(s.requests.map((r) => r.query.get('last')).filter(Boolean)).toEqual(['v2', 'v4']);
  });
});

describe.each(HTTP_CLIENTS)('concurrency (%s)', (httpClient) => {
  it('keeps at most `concurrency` requests in flight per registry', async () => {
    let inFlight = 0;
    let peak = 0;
    const image = (await import('../../../test/support/awkward-servers.js')).tinyImage('pool');
    const s = track(
      await startAwkwardServer('counts concurrent requests', (_req, res, url) => {
        if (url.pathname === '/v2/') {
          res.writeHead(200, { 'content-length': 0 });
          return res.end();
        }
        inFlight++;
        peak = Math.max(peak, inFlight);
        setTimeout(() => {
          inFlight--;
          res.writeHead(200, {
            'content-type': image.mediaType,
            'docker-content-digest': image.digest,
            'content-length': image.manifest.length,
          });
          res.end();
        }, 30);
      }),
    );
    const c = client({ httpClient, concurrency: 3 });
    const refs = Array.from({ length: 12 }, (_, i) => parseReference(`${s.host}/app:t${i}`));
    const all = await Promise.all(refs.map((r) => c.resolve(r)));
    expect(all.every((r) => r.descriptor.digest === image.digest && r.via === 'head')).toBe(true);
    expect(peak).toBe(3);
    expect(s.requests.filter((r) => r.path === '/v2/')).toHaveLength(1);
  });
});

describe('sha256 helper of the awkward servers', () => {
  it('agrees with the client on a manifest digest', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    const m = await client().getManifest(parseReference(`${s.host}/app:latest`));
    expect(m.digest).toBe(sha256(Buffer.from(m.raw)));
  });
});
