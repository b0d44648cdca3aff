/**
 * Authentication against the real CNCF registry: htpasswd (Basic) and token (Bearer) modes, with
 * credentials from a temporary DOCKER_CONFIG, a credential helper on PATH, identity and registry
 * tokens, and request counting through the test registry's proxy and token issuer.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Distribution, startDistribution } from '../../../test/support/distribution.js';
import { type SeededImages, seedRegistry } from '../../../test/support/images.js';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { encodeAuth } from './credentials/docker-config.js';

/** A DOCKER_CONFIG directory holding `config`; returns the env to hand to the client. */
async function dockerConfigEnv(
  config: unknown,
  extra: NodeJS.ProcessEnv = {},
): Promise<{ env: NodeJS.ProcessEnv; file: string }> {
  const dir = await tempDir('docker-config');
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config));
  return { env: { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: dir, ...extra }, file };
}

const clients: RegistryClient[] = [];
function client(options: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient({ retry: { minDelayMs: 5 }, ...options });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cleanupTempDirs();
});

describe.skipIf(!haveTools('docker-registry', 'htpasswd'))('htpasswd (Basic) registry', () => {
  let registry: Distribution;
  let seeded: SeededImages;

  beforeAll(async () => {
    registry = await startDistribution({ auth: 'htpasswd' });
    seeded = await seedRegistry(registry);
  });
  afterAll(() => registry?.stop());

  it('resolves with the right credentials from config.json', async () => {
    const { username, password } = registry.credentials;
    const { env } = await dockerConfigEnv({
      auths: { [registry.host]: { auth: encodeAuth(username, password) } },
    });
    const resolved = await client({ env }).resolve(parseReference(seeded.sample.ref));
    expect(resolved.descriptor.digest).toBe(seeded.sample.digest);
  });

  it('names the registry and the config file for wrong credentials, and shows no secret', async () => {
    const { env, file } = await dockerConfigEnv({
      auths: { [registry.host]: { auth: encodeAuth('user', 'wrong-secret') } },
    });
    const error = await client({ env })
      .resolve(parseReference(seeded.sample.ref))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      details: { status: 401, registry: registry.host, credentialSource: `${file} (auths)` },
    });
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^unauthorized: authentication to ${registry.host} failed with credentials from ${file} \\(auths\\) \\(`,
      ),
    );
    expect(message).not.toContain('wrong-secret');
    expect(message).not.toContain(encodeAuth('user', 'wrong-secret'));
    expect(JSON.stringify((error as { details: unknown }).details)).not.toContain('wrong-secret');
  });

  it('says that no credentials were found, and where it looked', async () => {
    const { env, file } = await dockerConfigEnv({ auths: {} });
    const error = await client({ env })
      .tags(parseReference(`${registry.host}/sample`))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toContain(
      `${registry.host} requires authentication and no credentials were found (looked in ${file}`,
    );
  });

  it('gets credentials from a credential helper named in credHelpers', async () => {
    const bin = await tempDir('helper-bin');
    const { username, password } = registry.credentials;
    await writeFile(
      join(bin, 'docker-credential-test'),
      `#!/bin/sh\nread -r url\necho "$url" > "${join(bin, 'asked')}"\nprintf '{"ServerURL":"%s","Username":"${username}","Secret":"${password}"}' "$url"\n`,
    );
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    const { env } = await dockerConfigEnv(
      { credHelpers: { [registry.host]: 'test' } },
      { PATH: `${bin}:${process.env.PATH}` },
    );
    const tags = await client({ env }).tags(parseReference(`${registry.host}/sample`));
    expect(tags.sort()).toEqual(['1.0', 'latest', 'single']);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(join(bin, 'asked'), 'utf8')).trim()).toBe(registry.host);
  });

  it('uses static credentials over the keychain, and none at all with anonymous', async () => {
    const { env } = await dockerConfigEnv({
      auths: { [registry.host]: { auth: encodeAuth('user', 'wrong') } },
    });
    const ref = parseReference(seeded.single.ref);
    expect((await client({ env, credentials: registry.credentials }).resolve(ref)).descriptor.digest).toBe(
      seeded.single.digest,
    );
    await expect(client({ env, anonymous: true }).resolve(ref)).rejects.toMatchObject({
      code: 'AUTH_FAILED',
    });
  });
});

describe.skipIf(!haveTools('docker-registry'))('token (Bearer) registry', () => {
  let registry: Distribution;
  let seeded: SeededImages;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    registry = await startDistribution({ auth: 'token' });
    seeded = await seedRegistry(registry);
    const { username, password } = registry.credentials;
    ({ env } = await dockerConfigEnv({ auths: { [registry.host]: { username, password } } }));
  });
  afterAll(() => registry?.stop());

  it('pings once and fetches one token per repository scope for 100 concurrent resolves, then one HEAD each', async () => {
    const issuer = registry.tokenIssuer!;
    const c = client({ env });
    registry.resetCounts();
    const before = issuer.count();
    const tags = ['latest', 'single', '1.0', 'latest'];
    const refs = Array.from({ length: 100 }, (_, i) =>
      parseReference(`${registry.host}/sample:${tags[i % 4]}`),
    );
    const results = await Promise.all(refs.map((r) => c.resolve(r)));
    const expected: Record<string, string> = { latest: seeded.sample.digest, single: seeded.single.digest };
    results.forEach((r, i) => {
      const tag = tags[i % 4]!;
      if (expected[tag]) expect(r.descriptor.digest).toBe(expected[tag]);
    });
    expect(results.every((r) => r.via === 'head')).toBe(true);
    expect(issuer.count() - before).toBe(1);
    expect(issuer.requests.at(-1)).toMatchObject({
      method: 'GET',
      scopes: ['repository:sample:pull'],
      account: 'user',
    });
    const counts = registry.counts();
    expect(counts['GET /v2/']).toBe(1);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(101);

    // Cached token: one request per reference, nothing else.
    registry.resetCounts();
    await c.resolve(parseReference(seeded.single.ref));
    expect(registry.counts()).toEqual({ 'HEAD /v2/sample/manifests/single': 1 });
    expect(issuer.count() - before).toBe(1);

    // Another repository is another scope, so one more token.
    expect((await c.resolve(parseReference(seeded.nested.ref))).descriptor.digest).toBe(seeded.nested.digest);
    expect(issuer.count() - before).toBe(2);
    expect(issuer.requests.at(-1)?.scopes).toEqual(['repository:nested:pull']);
  });

  it('names the credential source when the token server refuses the password', async () => {
    const { env: badEnv, file } = await dockerConfigEnv({
      auths: { [registry.host]: { auth: encodeAuth('user', 'not-it') } },
    });
    const error = await client({ env: badEnv })
      .resolve(parseReference(seeded.sample.ref))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^unauthorized: authentication to ${registry.host} failed with credentials from ${file} \\(auths\\) \\(UNAUTHORIZED, GET http://127\\.0\\.0\\.1:\\d+/token\\?service=`,
      ),
    );
    expect((error as Error).message).not.toContain('not-it');
  });

  it('refuses anonymous access when the issuer grants nothing to anonymous callers', async () => {
    const error = await client({ anonymous: true })
      .resolve(parseReference(seeded.sample.ref))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toContain('requires authentication and no credentials were found');
  });

  it('exchanges an identitytoken with an OAuth2 refresh-token POST', async () => {
    const issuer = registry.tokenIssuer!;
    const form = new URLSearchParams({
      grant_type: 'password',
      username: registry.credentials.username,
      password: registry.credentials.password,
      access_type: 'offline',
      service: issuer.service,
      client_id: 'test',
      scope: 'repository:sample:pull',
    });
    const { request } = await import('undici');
    const res = await request(issuer.realm, {
      method: 'POST',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const refresh = ((await res.body.json()) as { refresh_token: string }).refresh_token;
    expect(refresh).toBeTruthy();
    const { env: idEnv } = await dockerConfigEnv({ auths: { [registry.host]: { identitytoken: refresh } } });
    const logged: string[] = [];
    const c = client({ env: idEnv, logger: (e) => logged.push(JSON.stringify(e)) });
    const resolved = await c.resolve(parseReference(seeded.dockerList.ref));
    expect(resolved.descriptor.digest).toBe(seeded.dockerList.digest);
    expect(issuer.requests.at(-1)).toMatchObject({
      method: 'POST',
      grantType: 'refresh_token',
      account: 'user',
      scopes: ['repository:dockerlist:pull'],
    });
    expect(logged.join('\n')).not.toContain(refresh);
  });

  it('sends a registrytoken as the Bearer token without asking the token server', async () => {
    const issuer = registry.tokenIssuer!;
    const { request } = await import('undici');
    const basic = Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString(
      'base64',
    );
    const res = await request(`${issuer.realm}?service=${issuer.service}&scope=repository:zstd:pull`, {
      headers: { authorization: `Basic ${basic}` },
    });
    const token = ((await res.body.json()) as { token: string }).token;
    const { env: rtEnv } = await dockerConfigEnv({ auths: { [registry.host]: { registrytoken: token } } });
    const before = issuer.count();
    const resolved = await client({ env: rtEnv }).resolve(parseReference(seeded.zstd.ref));
    expect(resolved.descriptor.digest).toBe(seeded.zstd.digest);
    expect(issuer.count()).toBe(before);
  });

  it('asks for push scope when pushing, and the catalog scope for the catalog', async () => {
    const issuer = registry.tokenIssuer!;
    const c = client({ env });
    const repo = parseReference(`${registry.host}/uploads`);
    const d = await c.pushBlob(repo, new TextEncoder().encode('token-mode blob'));
    expect(d.size).toBe(15);
    expect(issuer.requests.some((r) => r.scopes.includes('repository:uploads:pull,push'))).toBe(true);
    expect(await c.catalog(registry.host)).toContain('sample');
    expect(issuer.requests.at(-1)?.scopes).toEqual(['registry:catalog:*']);
  });
});
