import { afterEach, describe, expect, it } from 'vitest';
import {
  startForeignRealmRegistry,
  startNoDigestHeaderRegistry,
  startRedirectingBlobRegistry,
} from '../../../test/support/awkward-servers.js';
import { parseReference } from '../../core/reference.js';
import { compileAllowList } from './allowed-hosts.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { allowListKeychain, type Keychain } from './credentials/keychain.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
function track<T extends { close(): Promise<void> }>(server: T): T {
  cleanups.push(() => server.close());
  return server;
}
function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ anonymous: true, retry: { maxRetries: 0 }, ...options });
  cleanups.push(() => c.close());
  return c;
}
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end
  }
}

describe('compileAllowList', () => {
  it('matches host:port exactly and a bare host on its default ports only', () => {
    const list = compileAllowList(['127.0.0.1:5000', 'ghcr.io', '*.example.com']);
    expect(list.allows(new URL('http://127.0.0.1:5000/v2/'))).toBe(true);
    expect(list.allows(new URL('http://127.0.0.1:5001/v2/'))).toBe(false);
    expect(list.allows(new URL('https://ghcr.io/v2/'))).toBe(true);
    expect(list.allows(new URL('https://ghcr.io:8443/v2/'))).toBe(false);
    expect(list.allows(new URL('https://eu.example.com/token'))).toBe(true);
    expect(list.allows(new URL('https://example.com.evil.test/'))).toBe(false);
    expect(list.allows(new URL('http://169.254.169.254/latest/meta-data'))).toBe(false);
  });

  it('lists every Docker Hub name when one is listed', () => {
    const list = compileAllowList(['docker.io']);
    expect(list.allows(new URL('https://registry-1.docker.io/v2/'))).toBe(true);
    expect(list.allowsRegistry('docker.io')).toBe(true);
    expect(list.allows(new URL('https://auth.docker.io/token'))).toBe(false);
  });

  it('refuses entries that are not host names', () => {
    expect(() => compileAllowList(['a b'])).toThrow(/invalid allowed host/);
    expect(() => compileAllowList(['host:port'])).toThrow(/bad port/);
  });
});

describe('RegistryClient allowedHosts', () => {
  it('sends nothing to a registry outside the list', async () => {
    const s = track(await startNoDigestHeaderRegistry());
    const c = client({ allowedHosts: ['127.0.0.1:1'] });
    await expect(c.resolve(parseReference(`${s.host}/app:latest`))).rejects.toMatchObject({
      code: 'HOST_NOT_ALLOWED',
    });
    expect(s.requests).toHaveLength(0);
  });

  it('never contacts a token realm on a host outside the list', async () => {
    const s = track(await startForeignRealmRegistry());
    const ref = parseReference(`${s.registry.host}/app:latest`);
    // Without the list the realm is used: the test can tell the difference.
    expect((await client().resolve(ref)).descriptor.digest).toBe(s.image.digest);
    expect(s.realm.requests.length).toBeGreaterThan(0);
    s.realm.requests.length = 0;
    await expect(client({ allowedHosts: [s.registry.host] }).resolve(ref)).rejects.toMatchObject({
      code: 'HOST_NOT_ALLOWED',
      message: expect.stringContaining('127.0.0.2'),
    });
    expect(s.realm.requests).toHaveLength(0);
    // Listing the realm's host as well lets the handshake through.
    const both = client({ allowedHosts: [s.registry.host, s.realm.host] });
    expect((await both.resolve(ref)).descriptor.digest).toBe(s.image.digest);
  });

  it('does not follow a redirect to a host outside the list', async () => {
    const s = track(await startRedirectingBlobRegistry());
    const [digest, bytes] = [...s.image.blobs.entries()][1]!;
    const repo = parseReference(`${s.registry.host}/app`);
    const credentials = { username: 'user', password: 'pass' };
    const refused = client({ anonymous: false, credentials, allowedHosts: [s.registry.host] });
    await expect(refused.getBlob(repo, { digest, size: bytes.length })).rejects.toMatchObject({
      code: 'HOST_NOT_ALLOWED',
      message: expect.stringContaining('redirected from'),
    });
    expect(s.storage.requests).toHaveLength(0);
    const allowed = client({
      anonymous: false,
      credentials,
      allowedHosts: [s.registry.host, s.storage.host],
    });
    const blob = await allowed.getBlob(repo, { digest, size: bytes.length });
    await drain(blob.stream);
    expect(s.storage.requests).toHaveLength(1);
  });

  it('asks the keychain only about listed registries', async () => {
    const asked: string[] = [];
    const inner: Keychain = {
      resolve: async (registry) => {
        asked.push(registry);
        return { username: 'u', password: 'p', source: 'test' };
      },
      describe: () => 'test keychain',
    };
    const keychain = allowListKeychain(inner, ['127.0.0.1:5000', 'docker.io']);
    expect(await keychain.resolve('127.0.0.1:5001')).toBeNull();
    expect(await keychain.resolve('evil.example')).toBeNull();
    expect(await keychain.resolve('127.0.0.1:5000')).toMatchObject({ username: 'u' });
    expect(await keychain.resolve('docker.io')).toMatchObject({ username: 'u' });
    expect(asked).toEqual(['127.0.0.1:5000', 'docker.io']);
    expect(keychain.describe()).toContain('only for 127.0.0.1:5000, docker.io');
  });
});
