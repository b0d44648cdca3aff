import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AwkwardServer,
  startFlakyRegistry,
  startHttpRealmRegistry,
  startHubLikeRegistry,
  startNoDigestHeaderRegistry,
  startPaginatingRegistry,
  startRateLimitedRegistry,
  startRedirectingBlobRegistry,
  startSilentRegistry,
  startSlowRegistry,
  startWrongBytesRegistry,
} from './awkward-servers.js';
import { sha256 } from './sha256.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
function track<T extends { close(): Promise<void> }>(server: T): T {
  open.push(server);
  return server;
}

async function get(url: string, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}) {
  const res = await request(url, { method, headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

describe('awkward servers misbehave as their names say', () => {
  it('no-digest-header serves the manifest without Docker-Content-Digest', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    const r = await get(`${s.url}/v2/app/manifests/latest`);
    expect(r.status).toBe(200);
    expect(r.headers['docker-content-digest']).toBeUndefined();
    expect(sha256(r.body)).toBe(s.image.digest);
  });

  it('wrong-bytes serves by-digest content that hashes to something else, with an honest header', async () => {
    const s = track(await startWrongBytesRegistry());
    const r = await get(`${s.url}/v2/app/manifests/${s.image.digest}`);
    expect(r.headers['docker-content-digest']).toBe(s.image.digest);
    expect(r.body.length).toBe(s.image.manifest.length);
    expect(sha256(r.body)).not.toBe(s.image.digest);
  });

  it('rate-limited answers 429 with Retry-After, then 200', async () => {
    const s = track(await startRateLimitedRegistry(1, '2'));
    const first = await get(`${s.url}/v2/app/manifests/latest`);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('2');
    expect((await get(`${s.url}/v2/app/manifests/latest`)).status).toBe(200);
  });

  it('flaky answers 503 a given number of times', async () => {
    const s = track(await startFlakyRegistry(2));
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(`${s.url}/v2/app/manifests/latest`)).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('redirecting-blob sends blobs to a storage server on 127.0.0.2', async () => {
    const s = track(await startRedirectingBlobRegistry());
    const [digest] = [...s.image.blobs.keys()];
    const auth = { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` };
    expect((await get(`${s.registry.url}/v2/app/blobs/${digest}`)).status).toBe(401);
    const r = await get(`${s.registry.url}/v2/app/blobs/${digest}`, 'GET', auth);
    expect(r.status).toBe(307);
    const location = new URL(String(r.headers.location));
    expect(location.hostname).toBe('127.0.0.2');
    expect(sha256((await get(location.href)).body)).toBe(digest);
  });

  it('slow holds its headers back for the delay it is given', async () => {
    const s = track(await startSlowRegistry(300));
    // The server's clock only: the client's sockets and undici's own timers keep running for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let answered = false;
      const answer = get(`${s.url}/v2/`).then((r) => {
        answered = true;
        return r;
      });
      const tick = () => new Promise((r) => setImmediate(r));
      while (s.requests.length === 0) await tick();
      await vi.advanceTimersByTimeAsync(299);
      for (let i = 0; i < 10; i++) await tick();
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect((await answer).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('silent records requests and answers none, not even the ping', async () => {
    const s = track(await startSilentRegistry());
    const answered = request(`${s.url}/v2/`, { headersTimeout: 300 }).then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );
    expect(await answered).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/']);
  });

  it('http-realm challenges with a plain-http realm on a non-loopback name', async () => {
    const s: AwkwardServer = track(await startHttpRealmRegistry());
    const r = await get(`${s.url}/v2/`);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('realm="http://auth.not-loopback.test/token"');
  });

  it('hub-like sends the rate-limit headers it is given', async () => {
    const s = track(await startHubLikeRegistry({ 'ratelimit-limit': ';w=21600' }));
    const r = await get(`${s.url}/v2/app/manifests/latest`, 'HEAD');
    expect(r.headers['ratelimit-limit']).toBe(';w=21600');
  });

  it('paginating honours n and last and links the next page', async () => {
    const s = track(await startPaginatingRegistry(['c', 'a', 'b'], 2));
    const first = await get(`${s.url}/v2/app/tags/list`);
    expect(JSON.parse(first.body.toString()).tags).toEqual(['a', 'b']);
    expect(first.headers.link).toBe('</v2/app/tags/list?n=2&last=b>; rel="next"');
    const second = await get(`${s.url}/v2/app/tags/list?n=2&last=b`);
    expect(JSON.parse(second.body.toString()).tags).toEqual(['c']);
    expect(second.headers.link).toBeUndefined();
  });
});
