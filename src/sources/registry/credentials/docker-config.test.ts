import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../../test/support/tmp.js';
import { loadVectors } from '../../../../test/support/vectors.js';
import {
  authConfigKey,
  authFilePaths,
  convertToHostname,
  DOCKER_HUB_AUTH_KEY,
  decodeAuth,
  encodeAuth,
  findEntry,
  parseAuthFile,
  readAuthFile,
} from './docker-config.js';

const vectors = loadVectors();
afterAll(cleanupTempDirs);

describe('config.json keys', () => {
  it.each(
    (vectors.docker_config_auth_key as Array<{ registryHostname: string; authKey: string }>).map((v) => [
      v.registryHostname,
      v.authKey,
    ]),
  )('stores %s under %s (vectors docker_config_auth_key)', (host, key) => {
    expect(authConfigKey(host)).toBe(key);
  });

  it.each(
    (vectors.docker_config_convert_to_hostname as Array<{ input: string; expected: string }>).map((v) => [
      v.input,
      v.expected,
    ]),
  )('converts legacy key %s to %s (vectors docker_config_convert_to_hostname)', (input, expected) => {
    expect(convertToHostname(input)).toBe(expected);
  });

  it('finds entries by exact key, by legacy URL key, and every Hub spelling for Hub', () => {
    const auths = { 'https://registry.example.com/v1/': 1, 'localhost:5000': 2, 'docker.io': 3 };
    expect(findEntry(auths, 'registry.example.com')?.value).toBe(1);
    expect(findEntry(auths, 'localhost:5000')?.value).toBe(2);
    expect(findEntry(auths, 'docker.io')?.value).toBe(3);
    expect(findEntry({ [DOCKER_HUB_AUTH_KEY]: 4, 'docker.io': 3 }, 'registry-1.docker.io')?.value).toBe(4);
    expect(findEntry(auths, 'other.example.com')).toBeNull();
    expect(findEntry({ 'localhost:5001': 1 }, 'localhost:5000')).toBeNull();
  });
});

describe('auth field (vectors docker_config_auth)', () => {
  const cases = vectors.docker_config_auth as Array<{
    auth: string;
    username?: string;
    password?: string;
    error?: string;
  }>;
  it.each(cases.map((c) => [c.auth, c] as const))('decodes %s', (_auth, c) => {
    if (c.error) {
      expect(() => decodeAuth(c.auth)).toThrow(c.error);
      try {
        decodeAuth(c.auth);
      } catch (e) {
        // The message must not show the (possibly secret) value.
        expect((e as Error).message).not.toContain(c.auth);
        expect((e as { code?: string }).code).toBe('CONFIG_INVALID');
      }
    } else {
      expect(decodeAuth(c.auth)).toEqual({ username: c.username, password: c.password });
      expect(encodeAuth(c.username!, c.password!)).toBe(c.auth);
    }
  });

  it('trims NUL bytes from the password', () => {
    expect(decodeAuth(Buffer.from('u:p\0\0').toString('base64'))).toEqual({ username: 'u', password: 'p' });
  });
});

describe('credentials files', () => {
  it('are looked for where Docker and podman keep them', () => {
    expect(authFilePaths({ env: {}, home: '/h' })).toEqual([
      '/h/.docker/config.json',
      '/h/.config/containers/auth.json',
    ]);
    expect(
      authFilePaths({
        env: {
          DOCKER_CONFIG: '/d',
          REGISTRY_AUTH_FILE: '/r/auth.json',
          XDG_RUNTIME_DIR: '/run/u',
          XDG_CONFIG_HOME: '/x',
        },
        home: '/h',
      }),
    ).toEqual(['/d/config.json', '/r/auth.json', '/run/u/containers/auth.json', '/x/containers/auth.json']);
  });

  it('reads auths, credHelpers and credsStore, and ignores missing files', async () => {
    const dir = await tempDir('docker-config');
    await mkdir(join(dir, 'sub'));
    const path = join(dir, 'sub', 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        auths: { h: { auth: 'x' } },
        credHelpers: { g: 'gcr', bad: 1 },
        credsStore: 'desktop',
      }),
    );
    expect(readAuthFile(path)).toEqual({
      path,
      auths: { h: { auth: 'x' } },
      credHelpers: { g: 'gcr' },
      credsStore: 'desktop',
    });
    expect(readAuthFile(join(dir, 'missing.json'))).toBeNull();
    expect(() => parseAuthFile('{oops', '/p')).toThrow(/invalid credentials file \/p/);
    expect(() => parseAuthFile('[]', '/p')).toThrow(/not a JSON object/);
  });
});
