import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import { type Distribution, startDistribution } from './distribution.js';
import { largeBlobChunks, pushWithClient, type SeededImages, seedRegistry } from './images.js';
import { sha256 } from './sha256.js';
import { cleanupTempDirs } from './tmp.js';
import { haveTools } from './tools.js';

// Async exec only: the counting proxy runs in this process, so a synchronous exec would block it.
const run = promisify(execFile);

async function skopeo(args: string[]): Promise<Buffer> {
  const { stdout } = await run('skopeo', args, { encoding: 'buffer', timeout: 30_000 });
  return stdout;
}

async function skopeoFails(args: string[]): Promise<string> {
  try {
    await run('skopeo', args, { timeout: 30_000 });
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  throw new Error(`skopeo ${args.join(' ')} succeeded but should have failed`);
}

const inspectRaw = (reg: Distribution, ref: string, creds?: string) => [
  'inspect',
  '--raw',
  '--tls-verify=false',
  ...(creds ? ['--creds', creds] : []),
  `docker://${reg.host}/${ref}`,
];

afterAll(cleanupTempDirs);

describe.skipIf(!haveTools('docker-registry', 'skopeo', 'htpasswd'))('test registry', () => {
  let sample: SampleImages;
  beforeAll(async () => {
    sample = await buildSampleImages();
  });

  describe('anonymous mode', () => {
    let reg: Distribution;
    let seeded: SeededImages;
    beforeAll(async () => {
      reg = await startDistribution();
      seeded = await seedRegistry(reg, { largeBlobBytes: 3 * 1024 * 1024 + 17 });
    });
    afterAll(() => reg?.stop());

    it('serves the pushed index bytes exactly, and skopeo reports the index digest', async () => {
      const raw = await skopeo(inspectRaw(reg, 'sample:latest'));
      expect(raw.equals(Buffer.from(sample.index.bytes))).toBe(true);
      const digest = await skopeo([
        'inspect',
        '--tls-verify=false',
        '--format',
        '{{.Digest}}',
        `docker://${reg.host}/sample:latest`,
      ]);
      expect(digest.toString().trim()).toBe(sha256(sample.index.bytes));
    });

    it('serves every seeded tag with the digest computed from the pushed bytes', async () => {
      for (const s of [
        seeded.sample,
        seeded.single,
        seeded.nested,
        seeded.dockerList,
        seeded.zstd,
        seeded.large!,
      ]) {
        const raw = await skopeo(inspectRaw(reg, `${s.repo}:${s.tag}`));
        expect(sha256(raw), s.ref).toBe(s.digest);
      }
      const list = JSON.parse((await skopeo(inspectRaw(reg, 'dockerlist:latest'))).toString());
      expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
      const inner = await skopeo(inspectRaw(reg, `nested@${seeded.nested.inner}`));
      expect(JSON.parse(inner.toString()).manifests).toHaveLength(2);
    });

    it('stores the large blob byte for byte as generated', async () => {
      const large = seeded.large!;
      const res = await request(`${reg.registryUrl}/v2/large/blobs/${large.blob.digest}`);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of res.body) {
        hash.update(chunk);
        size += chunk.length;
      }
      expect(size).toBe(large.blob.size);
      const expected = createHash('sha256');
      for await (const chunk of largeBlobChunks(large.blob.size)) expected.update(chunk);
      expect(`sha256:${hash.digest('hex')}`).toBe(`sha256:${expected.digest('hex')}`);
    });

    it('counts requests per method and path through the proxy, but not direct ones', async () => {
      reg.resetCounts();
      await skopeo(inspectRaw(reg, 'sample:single'));
      const counts = reg.counts();
      expect(counts['GET /v2/sample/manifests/single']).toBe(1);
      await request(`${reg.registryUrl}/v2/`).then((r) => r.body.dump());
      expect(reg.counts()).toEqual(counts);
      expect(reg.requestLog.every((r) => r.status > 0)).toBe(true);
    });
  });

  describe('htpasswd mode', () => {
    let reg: Distribution;
    beforeAll(async () => {
      reg = await startDistribution({ auth: 'htpasswd' });
      await pushWithClient(reg.host, 'sample', sample, reg.credentials);
    });
    afterAll(() => reg?.stop());

    it('refuses anonymous and wrong credentials', async () => {
      expect(await skopeoFails(inspectRaw(reg, 'sample:latest'))).toMatch(
        /unauthorized|authentication required/i,
      );
      expect(await skopeoFails(inspectRaw(reg, 'sample:latest', 'user:wrong'))).toMatch(
        /unauthorized|authentication/i,
      );
      await expect(pushWithClient(reg.host, 'other', sample)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    });

    it('accepts the configured user', async () => {
      const raw = await skopeo(inspectRaw(reg, 'sample:latest', 'user:pass'));
      expect(sha256(raw)).toBe(sample.tags.latest);
    });
  });

  describe('token mode (ES256, x5c)', () => {
    let reg: Distribution;
    beforeAll(async () => {
      reg = await startDistribution({ auth: 'token' });
      await pushWithClient(reg.host, 'sample', sample, reg.credentials);
    });
    afterAll(() => reg?.stop());

    it('lets skopeo pull with credentials through the token server', async () => {
      const before = reg.tokenIssuer!.count();
      const raw = await skopeo(inspectRaw(reg, 'sample:latest', 'user:pass'));
      expect(sha256(raw)).toBe(sample.tags.latest);
      const asked = reg.tokenIssuer!.requests.slice(before);
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.at(-1)).toMatchObject({
        account: 'user',
        status: 200,
        scopes: ['repository:sample:pull'],
      });
    });

    it('refuses anonymous callers when anonymous pull is off', async () => {
      expect(await skopeoFails(inspectRaw(reg, 'sample:latest'))).toMatch(/unauthorized|authentication|401/i);
    });

    it('shapes responses as configured and fails on demand', async () => {
      const issuer = reg.tokenIssuer!;
      const basic = { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` };
      const ask = async () => {
        const res = await request(`${issuer.realm}?service=${issuer.service}&scope=repository:sample:pull`, {
          headers: basic,
        });
        return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
      };
      const both = await ask();
      expect(both.body.token).toBe(both.body.access_token);
      expect(both.body.expires_in).toBe(300);
      issuer.configure({ field: 'token', expiresIn: null });
      const tokenOnly = await ask();
      expect(Object.keys(tokenOnly.body).sort()).toEqual(['issued_at', 'token']);
      issuer.failNext(1, 503);
      expect((await ask()).status).toBe(503);
      expect((await ask()).status).toBe(200);
      issuer.configure({ field: 'both', expiresIn: undefined });
    });
  });

  describe.skipIf(!haveTools('openssl'))('token mode (RS256, kid, anonymous pull)', () => {
    let reg: Distribution;
    beforeAll(async () => {
      reg = await startDistribution({
        auth: 'token',
        token: { keyType: 'rsa', keyHeader: 'kid', anonymousPull: true, field: 'access_token' },
      });
      await pushWithClient(reg.host, 'sample', sample, reg.credentials);
    });
    afterAll(() => reg?.stop());

    it('lets anonymous callers pull but not push', async () => {
      const raw = await skopeo(inspectRaw(reg, 'sample:single'));
      expect(sha256(raw)).toBe(sample.tags.single);
      expect(reg.tokenIssuer!.requests.at(-1)).toMatchObject({ account: null, status: 200 });
      await expect(pushWithClient(reg.host, 'sample', sample)).rejects.toThrow(/401|unauthorized/i);
    });
  });
});
