/**
 * What the CLI does with registries that misbehave: no digest header, wrong bytes, Docker Hub's
 * rate-limit headers. The servers are the purpose-built ones in test/support/awkward-servers.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startConnectProxy,
  startFlakyRegistry,
  startHubLikeRegistry,
  startNoDigestHeaderRegistry,
  startWrongBytesRegistry,
} from '../support/awkward-servers.js';
import { runCli } from '../support/cli.js';
import { sha256 } from '../support/sha256.js';
import { removeTempDir, tempDir } from '../support/tmp.js';

let work: string;
beforeAll(async () => {
  work = await tempDir('awkward-cli');
});
afterAll(async () => {
  await removeTempDir(work);
});

describe('imgdigest against awkward registries', () => {
  it('digest and manifest reach a registry that is not on loopback through HTTP_PROXY', async () => {
    // One-shot commands send their requests with node:http, which has no proxy support; a proxy
    // in the environment must still carry them (the transport hands them to undici).
    const reg = await startFlakyRegistry(0);
    const proxy = await startConnectProxy(Number(reg.host.split(':')[1]));
    try {
      const env = { ...process.env, HTTP_PROXY: proxy.url, NO_PROXY: '', no_proxy: '' };
      const ref = 'registry.example.test:5000/app:latest';
      const digest = await runCli(['digest', '--insecure', ref], { env });
      expect(digest.code, digest.stderr).toBe(0);
      expect(digest.stdout).toBe(`${reg.image.digest}\n`);
      const manifest = await runCli(['manifest', '--insecure', ref], { env });
      expect(manifest.code, manifest.stderr).toBe(0);
      expect(sha256(Buffer.from(manifest.stdout))).toBe(reg.image.digest);
      expect(proxy.connects.filter((c) => c === 'registry.example.test:5000').length).toBeGreaterThanOrEqual(
        2,
      );
    } finally {
      await proxy.close();
      await reg.close();
    }
  });

  it('digest falls back to GET and hashes the bytes when there is no Docker-Content-Digest', async () => {
    const reg = await startNoDigestHeaderRegistry();
    try {
      const r = await runCli(['-v', 'digest', `${reg.host}/app:latest`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${reg.image.digest}\n`);
      expect(r.stderr).toMatch(/HEAD http:\/\/\S+\/manifests\/latest 200/);
      expect(r.stderr).toMatch(/GET http:\/\/\S+\/manifests\/latest 200/);
    } finally {
      await reg.close();
    }
  });

  it('blob -o refuses bytes that do not match the digest: exit 3, both digests named, no file left', async () => {
    const reg = await startWrongBytesRegistry();
    try {
      const digest = sha256(reg.image.layer);
      const out = join(work, 'layer.bin');
      const r = await runCli(['blob', `${reg.host}/app@${digest}`, '-o', out]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`expected ${digest}`);
      expect(r.stderr).toMatch(/got sha256:[a-f0-9]{64}/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(work).filter((n) => n.includes('layer.bin'))).toEqual([]);
    } finally {
      await reg.close();
    }
  });

  it('manifest by digest refuses a body that does not hash to the digest', async () => {
    const reg = await startWrongBytesRegistry();
    try {
      const r = await runCli(['manifest', `${reg.host}/app@${reg.image.digest}`]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`expected ${reg.image.digest}`);
    } finally {
      await reg.close();
    }
  });

  it("ratelimit reads Docker Hub's headers from one HEAD, tolerating an empty limit", async () => {
    const hub = await startHubLikeRegistry({
      'ratelimit-limit': '100;w=21600',
      'ratelimit-remaining': '76;w=21600',
    });
    try {
      const r = await runCli(['ratelimit', `${hub.host}/library/alpine:latest`]);
      expect(r.stdout).toBe('limit 100 per 21600s, remaining 76\n');
      expect(hub.requests.filter((q) => q.path.includes('/manifests/')).map((q) => q.method)).toEqual([
        'HEAD',
      ]);
      const json = JSON.parse(
        (await runCli(['ratelimit', '--json', `${hub.host}/library/alpine:latest`])).stdout,
      );
      expect(json).toMatchObject({ limit: 100, remaining: 76, windowSeconds: 21600 });
    } finally {
      await hub.close();
    }
    const empty = await startHubLikeRegistry({
      'ratelimit-limit': ';w=21600',
      'ratelimit-remaining': '3;w=21600',
    });
    try {
      const r = await runCli(['ratelimit', `${empty.host}/library/alpine:latest`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('limit unknown per 21600s, remaining 3\n');
    } finally {
      await empty.close();
    }
  });
});
