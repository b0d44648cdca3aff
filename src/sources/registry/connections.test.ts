/**
 * A one-shot resolution (`imgdigest digest REF`) talks to the registry over one connection: the
 * ping, the token fetch on the registry's own origin, a 401 retried, and the manifest HEAD follow
 * each other at once, and undici frees a connection only on the turn after its response ended.
 * Each connection more is a TCP (and TLS) handshake, a round trip or two to a remote registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  startFailingThenOkRegistry,
  startHeadRefusingRegistry,
  startNoDigestHeaderRegistry,
  startRedirectingBlobRegistry,
  startScopeDemandingRegistry,
} from '../../../test/support/awkward-servers.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { HttpClientKind } from './transport.js';

/** The tests marked (%s) run over both HTTP clients of the transport (transport.ts, `httpClient`). */
const HTTP_CLIENTS: HttpClientKind[] = ['undici', 'node'];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ retry: { minDelayMs: 5 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

describe.each(HTTP_CLIENTS)('one connection for a one-shot resolution (%s)', (httpClient) => {
  it('anonymous: the ping and the HEAD', async () => {
    const s = await startFailingThenOkRegistry({ name: 'anonymous', status: 503, failures: 0 });
    cleanups.push(s.close);
    const resolved = await client({ httpClient, anonymous: true }).resolve(
      parseReference(`${s.host}/app:latest`),
    );
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/',
      'HEAD /v2/app/manifests/latest',
    ]);
    expect(s.connections).toBe(1);
  });

  it('Basic: the ping refused, then the HEAD with credentials', async () => {
    const s = await startRedirectingBlobRegistry({ username: 'u', password: 'p' });
    cleanups.push(s.close);
    const c = client({ httpClient, credentials: { username: 'u', password: 'p' } });
    const resolved = await c.resolve(parseReference(`${s.registry.host}/app:latest`));
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(s.registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/',
      'HEAD /v2/app/manifests/latest',
    ]);
    expect(s.registry.connections).toBe(1);
  });

  it('Bearer with the realm on the registry: ping, token, HEAD refused for a scope, wider token, HEAD', async () => {
    const s = await startScopeDemandingRegistry();
    cleanups.push(s.close);
    const c = client({ httpClient, credentials: { username: 'u', password: 'p' } });
    const resolved = await c.resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/',
      'GET /token',
      'HEAD /v2/app/manifests/latest',
      'GET /token',
      'HEAD /v2/app/manifests/latest',
    ]);
    expect(s.connections).toBe(1);
  });

  it.each([
    ['without Docker-Content-Digest', startNoDigestHeaderRegistry],
    ['refusing the HEAD (405)', startHeadRefusingRegistry],
  ])('a registry %s: the HEAD, then the GET whose bytes are hashed', async (_what, start) => {
    const s = await start();
    cleanups.push(s.close);
    const resolved = await client({ httpClient, anonymous: true }).resolve(
      parseReference(`${s.host}/app:latest`),
    );
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(resolved.via).toBe('get');
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v2/',
      'HEAD /v2/app/manifests/latest',
      'GET /v2/app/manifests/latest',
    ]);
    expect(s.connections).toBe(1);
  });
});
