import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startScopeDemandingRegistry } from '../../../test/support/awkward-servers.js';
import { removeTempDir, tempDir } from '../../../test/support/tmp.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
function client(options: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient({ retry: { minDelayMs: 5 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

describe('Bearer session', () => {
  it('widens the token scope when a later 401 names a new scope, and retries once', async () => {
    const s = await startScopeDemandingRegistry();
    cleanups.push(s.close);
    const c = client({ credentials: { username: 'u', password: 'p' } });
    const resolved = await c.resolve(parseReference(`${s.host}/app:latest`));
    expect(resolved.descriptor.digest).toBe(s.image.digest);
    expect(s.tokenRequests.map((t) => t.scopes)).toEqual([
      ['repository:app:pull'],
      ['repository:app:pull', 'repository:base:pull'],
    ]);
    expect(s.tokenRequests.every((t) => t.basic)).toBe(true);
    // The widened token is cached: the next resolve costs one request.
    const before = s.requests.length;
    await c.resolve(parseReference(`${s.host}/app:latest`));
    expect(s.requests.length - before).toBe(1);
  });

  it('drops a cached token the registry refuses and fetches a fresh one', async () => {
    const s = await startScopeDemandingRegistry({ extraScope: 'repository:app:pull' });
    cleanups.push(s.close);
    const c = client({ anonymous: true });
    await c.resolve(parseReference(`${s.host}/app:latest`));
    expect(s.tokenRequests).toHaveLength(1);
    s.revokeAll();
    expect((await c.resolve(parseReference(`${s.host}/app:latest`))).descriptor.digest).toBe(s.image.digest);
    expect(s.tokenRequests).toHaveLength(2);
  });

  it('fails with AUTH_FAILED instead of looping when a fresh token is refused', async () => {
    const s = await startScopeDemandingRegistry({ refuseAll: true });
    cleanups.push(s.close);
    const error = await client({ anonymous: true })
      .getManifest(parseReference(`${s.host}/app:latest`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      details: { status: 401, registryCode: 'UNAUTHORIZED' },
    });
    expect((error as Error).message).toContain(
      `${s.host} requires authentication and no credentials were found`,
    );
    // One try with the first token, one with the widened scope; then it stops.
    expect(s.requests.filter((r) => r.path.includes('/manifests/'))).toHaveLength(2);
  });

  it('exchanges an identity token with a POST and falls back to GET when the realm has no OAuth2 endpoint', async () => {
    const dir = await tempDir('idtoken');
    cleanups.push(() => removeTempDir(dir));
    for (const oauth of [true, false]) {
      const s = await startScopeDemandingRegistry({ extraScope: 'repository:app:pull', oauth });
      cleanups.push(s.close);
      await writeFile(
        join(dir, 'config.json'),
        JSON.stringify({ auths: { [s.host]: { identitytoken: 'refresh-secret' } } }),
      );
      const logs: string[] = [];
      const c = client({
        env: { DOCKER_CONFIG: dir, HOME: dir },
        logger: (e) => logs.push(JSON.stringify(e)),
      });
      expect((await c.resolve(parseReference(`${s.host}/app:latest`))).descriptor.digest).toBe(
        s.image.digest,
      );
      if (oauth) {
        expect(s.tokenRequests).toEqual([
          { method: 'POST', scopes: ['repository:app:pull'], basic: false, grantType: 'refresh_token' },
        ]);
      } else {
        expect(s.tokenRequests).toEqual([
          { method: 'GET', scopes: ['repository:app:pull'], basic: false, grantType: null },
        ]);
        expect(s.requests.filter((r) => r.path === '/token').map((r) => r.method)).toEqual(['POST', 'GET']);
      }
      expect(logs.join('\n')).not.toContain('refresh-secret');
    }
  });
});
