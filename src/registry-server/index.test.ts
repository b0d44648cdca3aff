import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../test/registry-server/client.js';
import { loopbackTls } from '../../test/support/certs.js';
import { removeTempDir, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { parseHtpasswd } from './auth.js';
import { defaultRoot, isLoopback, parseAddr, startRegistry } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('regopts');
});
afterAll(() => removeTempDir(dir));

describe('addresses', () => {
  it('parses host:port, [v6]:port and :port', () => {
    expect(parseAddr('127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseAddr('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseAddr(':5000')).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(() => parseAddr('127.0.0.1')).toThrow(/HOST:PORT/);
    expect(() => parseAddr('host:70000')).toThrow(/HOST:PORT/);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].some(isLoopback)).toBe(false);
  });

  it('refuses a non-loopback address without authentication (USAGE, exit 2)', async () => {
    await expect(startRegistry({ addr: '0.0.0.0:0', memory: true })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/--htpasswd FILE, or --allow-anonymous/),
    });
    const open = await startRegistry({ addr: '0.0.0.0:0', memory: true, allowAnonymous: true });
    expect((await call(`http://127.0.0.1:${open.port}`, 'GET', '/v2/')).status).toBe(200);
    await open.close();
  });

  it('reports an address in use as NETWORK_ERROR', async () => {
    const first = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    await expect(startRegistry({ addr: `127.0.0.1:${first.port}`, memory: true })).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
      message: expect.stringContaining('already in use'),
    });
    await first.close();
  });

  it('puts the default root under the XDG cache folder', () => {
    expect(defaultRoot({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/imgdigest/registry');
    expect(defaultRoot({})).toMatch(/\.cache\/imgdigest\/registry$/);
  });
});

describe('htpasswd parsing', () => {
  it('refuses entries that are not bcrypt, naming the line', () => {
    expect(() => parseHtpasswd('# users\nalice:$apr1$abc$def\n', 'users')).toThrow(
      /users:2: the entry of user "alice" is not a bcrypt hash/,
    );
    expect(() => parseHtpasswd('', 'users')).toThrow(/no users/);
    expect(() => parseHtpasswd('nocolon', 'users')).toThrow(/users:1/);
  });
});

describe.skipIf(!haveTools('htpasswd'))('Basic authentication with a real htpasswd file', () => {
  let url: string;
  let close: () => Promise<void>;
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  beforeAll(async () => {
    const file = join(dir, 'users');
    await writeFile(file, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    const reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, htpasswd: file });
    url = reg.url;
    close = reg.close;
  });
  afterAll(() => close?.());

  it('challenges requests without credentials with 401 UNAUTHORIZED and a Basic realm', async () => {
    const res = await call(url, 'GET', '/v2/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="imgdigest"');
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(res.codes()).toEqual(['UNAUTHORIZED']);
  });

  it('refuses a wrong password and an unknown user', async () => {
    for (const auth of [basic('alice', 'wrong'), basic('bob', 's3cret'), 'Basic !!!']) {
      expect((await call(url, 'GET', '/v2/', { headers: { authorization: auth } })).status).toBe(401);
    }
  });

  it('serves a user with the right password', async () => {
    const res = await call(url, 'GET', '/v2/_catalog', {
      headers: { authorization: basic('alice', 's3cret') },
    });
    expect(res.status).toBe(200);
  });

  it('refuses to start on an htpasswd file with an MD5 entry', async () => {
    const file = join(dir, 'md5users');
    await writeFile(file, execFileSync('htpasswd', ['-mbn', 'bob', 'pw']));
    await expect(startRegistry({ addr: '127.0.0.1:0', memory: true, htpasswd: file })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('htpasswd -B'),
    });
  });
});

describe('TLS', () => {
  it('serves HTTPS with the given certificate and key', async () => {
    const tls = await loopbackTls(join(dir, 'tls'));
    const reg = await startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      tls: { cert: tls.files.cert, key: tls.files.key },
    });
    try {
      expect(reg.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const agent = new Agent({ connect: { ca: tls.ca } });
      const res = await request(`${reg.url}/v2/`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      await agent.close();
    } finally {
      await reg.close();
    }
  });

  it('says which TLS file it cannot read', async () => {
    await expect(
      startRegistry({
        addr: '127.0.0.1:0',
        memory: true,
        tls: { cert: join(dir, 'nope.pem'), key: join(dir, 'nope.key') },
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('nope.pem') });
  });
});
