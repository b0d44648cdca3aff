/**
 * The explorer's HTTP answers without a browser: the JSON API, caching, error answers, the safety
 * rules (each with a case that would pass without the rule), and layers read by range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages } from '../../src/builder/index.js';
import { type RunningExplorer, startExplorer } from '../../src/explorer/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { startAwkwardServer, startForeignRealmRegistry } from '../support/awkward-servers.js';
import { pushEstargzImage, pushZstdChunkedImage } from '../support/explorer-images.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

let registry: RunningRegistry;
let explorer: RunningExplorer;
let base: string;
const json = { accept: 'application/json' };

const BIG = 'x'.repeat(2 * 1024 * 1024);
const FILES = [
  { path: 'etc/', type: 'dir' as const },
  { path: 'etc/hello.txt', content: 'hello from a table of contents\n' },
  { path: 'big/blob.bin', content: BIG },
  { path: 'big/other.bin', content: 'y'.repeat(1024 * 1024) },
  { path: 'etc/link', linkname: 'hello.txt' },
];

beforeAll(async () => {
  registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  await pushWithClient(registry.host, 'sample/app', await buildSampleImages('app'));
  explorer = await startExplorer({
    addr: '127.0.0.1:0',
    registry: { anonymous: true, retry: { maxRetries: 0 } },
  });
  base = explorer.url.replace(/\/$/, '');
});
afterAll(async () => {
  await explorer?.close();
  await registry?.close();
  await cleanupTempDirs();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, { headers });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

describe('JSON API and caching', () => {
  it('answers a tag with its digest, not cached, and the digest page as immutable with the digest as ETag', async () => {
    const tag = await get(`/image/${registry.host}/sample/app:1.0`, json);
    expect(tag.status).toBe(200);
    const model = JSON.parse(tag.text);
    expect(model.kind).toBe('index');
    expect(model.verified).toBe(true);
    expect(model.pinned).toBe(`${registry.host}/sample/app:1.0@${model.digest}`);
    expect(tag.headers.get('cache-control')).toBe('no-cache');
    expect(tag.headers.get('etag')).toBeNull();

    const pinned = await get(`/image/${registry.host}/sample/app@${model.digest}`, json);
    expect(pinned.headers.get('etag')).toBe(`"${model.digest}"`);
    expect(pinned.headers.get('cache-control')).toContain('immutable');
    const again = await fetch(`${base}/image/${registry.host}/sample/app@${model.digest}`, {
      headers: { ...json, 'if-none-match': `"${model.digest}"` },
    });
    expect(again.status).toBe(304);
  });

  it('lists the platforms of an index with the attestation marked, and the layers of a platform', async () => {
    const index = JSON.parse((await get(`/image/${registry.host}/sample/app:1.0`, json)).text);
    const platforms = index.platforms.map((p: { platform: string; attestation: boolean }) => [
      p.platform,
      p.attestation,
    ]);
    expect(platforms).toEqual([
      ['linux/amd64', false],
      ['linux/arm64', false],
      ['linux/arm/v7', false],
      ['unknown/unknown', true],
    ]);
    const child = JSON.parse((await get(`/image/${index.platforms[1].address}`, json)).text);
    expect(child.kind).toBe('manifest');
    expect(child.layers).toHaveLength(2);
    const config = JSON.parse((await get(`/config/${index.platforms[1].address}`, json)).text);
    expect(config.env).toContain('SAMPLE_PLATFORM=linux/arm64');
    expect(config.history.filter((h: { layer: unknown }) => h.layer)).toHaveLength(2);
    const layer = JSON.parse(
      (await get(`/layer/${registry.host}/sample/app@${child.layers[1].digest}`, json)).text,
    );
    expect(layer.entries.map((e: { path: string }) => e.path)).toEqual([
      'app',
      'app/hello.txt',
      'app/run.sh',
      'app/current',
    ]);
    expect(layer.format).toBe('tar');
  });

  it('puts each history step beside the layer it made, empty layers marked', async () => {
    const { addImage, buildLayer, buildManifest, createImageSet, jsonBlob } = await import(
      '../../src/builder/index.js'
    );
    const l1 = await buildLayer([{ path: 'a.txt', content: 'a' }], { compression: 'gzip' });
    const l2 = await buildLayer([{ path: 'b.txt', content: 'b' }], { compression: 'gzip' });
    const config = jsonBlob(
      {
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [l1.diffId, l2.diffId] },
        history: [
          { created_by: 'ADD a.txt' },
          { created_by: 'ENV X=1', empty_layer: true },
          { created_by: 'ADD b.txt' },
          { created_by: 'CMD ["x"]', empty_layer: true },
        ],
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = buildManifest({ config, layers: [l1, l2] });
    const set = createImageSet();
    addImage(set, { config, layers: [l1, l2], manifest }, 'history');
    await pushWithClient(registry.host, 'history/app', set);
    const model = JSON.parse(
      (await get(`/config/${registry.host}/history/app@${manifest.digest}`, json)).text,
    );
    const steps = model.history.map(
      (h: { createdBy: string; emptyLayer: boolean; layer: { digest: string } | null }) => [
        h.createdBy,
        h.emptyLayer,
        h.layer?.digest ?? null,
      ],
    );
    expect(steps).toEqual([
      ['ADD a.txt', false, l1.digest],
      ['ENV X=1', true, null],
      ['ADD b.txt', false, l2.digest],
      ['CMD ["x"]', true, null],
    ]);
    expect((await get(`/config/${registry.host}/history/app@${manifest.digest}`)).text).toContain(
      'empty layer',
    );
  });

  it('streams a layer read for the first time with progress rows, then answers the sorted tree from the cache', async () => {
    const index = JSON.parse((await get(`/image/${registry.host}/sample/app:1.0`, json)).text);
    const child = JSON.parse((await get(`/image/${index.platforms[2].address}`, json)).text);
    // The arm/v7 app layer is listed by no other test: this is its first reading.
    const url = `/layer/${registry.host}/sample/app@${child.layers[1].digest}`;
    const first = await get(url);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.text).toMatch(/<tr class="progress"><td colspan="4">Done: /);
    expect(first.text).toContain('Show as a tree');
    const second = await get(url);
    expect(second.headers.get('cache-control')).toContain('immutable');
    expect(second.text).not.toContain('class="progress"');
    const paths = [...second.text.matchAll(/data-path="([^"]+)"/g)].map((m) => m[1]);
    expect(paths).toEqual([...paths].sort());
  });

  it('groups tags by digest (resolved with HEADs) in the JSON API', async () => {
    const repo = JSON.parse((await get(`/repo/${registry.host}/sample/app`, json)).text);
    const byTag = Object.fromEntries(
      repo.tags.map((t: { tag: string; digest: string }) => [t.tag, t.digest]),
    );
    expect(byTag['1.0']).toBe(byTag.latest);
    expect(byTag.single).not.toBe(byTag['1.0']);
  });

  it("takes digests and upload times from Google's tag map without a HEAD per tag", async () => {
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const gcr = await startAwkwardServer("Google's tag map", (_req, res, url) => {
      const body =
        url.pathname === '/v2/'
          ? {}
          : {
              name: 'app',
              tags: ['old', 'new', 'newer'],
              manifest: {
                [d1]: {
                  tag: ['old'],
                  timeUploadedMs: '1600000000000',
                  mediaType: 'application/vnd.oci.image.manifest.v1+json',
                },
                [d2]: { tag: ['new', 'newer'], timeUploadedMs: '1700000000000' },
              },
            };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    try {
      const repo = JSON.parse((await get(`/repo/${gcr.host}/app`, json)).text);
      expect(repo.resolved).toBe(true);
      expect(
        Object.fromEntries(repo.tags.map((t: { tag: string; digest: string }) => [t.tag, t.digest])),
      ).toEqual({ old: d1, new: d2, newer: d2 });
      expect(repo.recent.map((t: { tag: string }) => t.tag).slice(-1)).toEqual(['old']);
      expect(repo.recent[0].uploaded).toBe('2023-11-14T22:13:20.000Z');
      expect(gcr.requests.filter((r) => r.method === 'HEAD')).toHaveLength(0);
      const html = (await get(`/repo/${gcr.host}/app`)).text;
      expect(html).toContain('Moved recently (as the registry reports)');
    } finally {
      await gcr.close();
    }
  });

  it('streams tag digests as server-sent events', async () => {
    const text = (await get(`/events/tags/${registry.host}/sample/app`)).text;
    expect(text.match(/^event: tag$/gm)).toHaveLength(3);
    expect(text).toMatch(/event: done/);
  });

  it('answers errors with the CLI message and code', async () => {
    const bad = await get('/image/Nginx:latest', json);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ code: 'REFERENCE_INVALID', exitCode: 2 });
    expect(JSON.parse(bad.text).error.message).toBe(
      'invalid reference "Nginx:latest": repository name must be lowercase (position 0)',
    );
    const missing = await get(`/image/${registry.host}/sample/app:nope`);
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('imgdigest: ');
  });
});

describe('safety', () => {
  it('sends a strict Content-Security-Policy with no inline script on every page', async () => {
    for (const path of ['/', `/image/${registry.host}/sample/app:1.0`, '/nowhere']) {
      const r = await get(path);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('refuses a Host header that is not loopback (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/`, { headers: { host: 'attacker.example:8080' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
    expect((await get('/')).status).toBe(200);
  });

  it('refuses to listen beyond loopback without --allow-remote and a registry list', async () => {
    await expect(startExplorer({ addr: '0.0.0.0:0' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(startExplorer({ addr: '0.0.0.0:0', allowRemote: true })).rejects.toThrow(/--registry/);
  });

  it('contacts only listed registries, not their token realms elsewhere, and opens no local source', async () => {
    const foreign = await startForeignRealmRegistry();
    const other = await startAwkwardServer('an internal service', (_req, res) => {
      res.writeHead(200);
      res.end('{}');
    });
    const remote = await startExplorer({
      addr: '0.0.0.0:0',
      allowRemote: true,
      allowedRegistries: [registry.host, foreign.registry.host],
      registry: { anonymous: true, retry: { maxRetries: 0 } },
    });
    try {
      const at = `http://127.0.0.1:${remote.port}`;
      const ok = await fetch(`${at}/image/${registry.host}/sample/app:1.0`, { headers: json });
      expect(ok.status).toBe(200);
      const refused = await fetch(`${at}/image/${other.host}/app:latest`, { headers: json });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('HOST_NOT_ALLOWED');
      expect(other.requests).toHaveLength(0);
      const realm = await fetch(`${at}/image/${foreign.registry.host}/app:latest`, { headers: json });
      expect(realm.status).toBe(403);
      expect(foreign.realm.requests).toHaveLength(0);
      const local = await fetch(`${at}/image/${encodeURIComponent('oci:/etc')}`, { headers: json });
      expect(local.status).toBe(403);
    } finally {
      await remote.close();
      await foreign.close();
      await other.close();
    }
  });
});

describe.skipIf(!haveTools('skopeo'))('layers read by range', () => {
  it('lists an eStargz layer and reads one file from its table of contents without the layer', async () => {
    const { manifest, layer } = await pushEstargzImage(registry.url, 'toc/estargz', 'v1', FILES);
    const repo = `${registry.host}/toc/estargz`;
    const listing = JSON.parse((await get(`/layer/${repo}@${layer.digest}?image=${manifest}`, json)).text);
    expect(listing.format).toBe('estargz');
    expect(listing.tocVerified).toBe(true);
    expect(listing.entries.map((e: { path: string }) => e.path)).toEqual([
      'etc',
      'etc/hello.txt',
      'big/blob.bin',
      'big/other.bin',
      'etc/link',
    ]);
    expect(listing.bytesFetched).toBeLessThan(layer.size / 4);
    const file = JSON.parse(
      (await get(`/layer/${repo}@${layer.digest}?image=${manifest}&path=etc/hello.txt`, json)).text,
    );
    expect(Buffer.from(file.base64, 'base64').toString()).toBe('hello from a table of contents\n');
    expect(file.via).toBe('range');
    expect(file.verifiedBy).toBe('table of contents digest');
    expect(file.bytesFetched).toBeLessThan(layer.size / 4);
    const big = JSON.parse((await get(`/layer/${repo}@${layer.digest}?path=big/other.bin`, json)).text);
    expect(Buffer.from(big.base64, 'base64').toString()).toBe('y'.repeat(1024 * 1024));
  });

  it('lists a zstd:chunked layer made by skopeo from its table of contents', async () => {
    const { manifestDigest, manifest } = await pushZstdChunkedImage(registry.host, 'toc/zstd', 'v1', FILES);
    const layer = manifest.layers[0]!;
    expect(
      Object.keys(layer.annotations ?? {}).some((k) => k.endsWith('zstd-chunked.manifest-checksum')),
    ).toBe(true);
    const repo = `${registry.host}/toc/zstd`;
    const listing = JSON.parse(
      (await get(`/layer/${repo}@${layer.digest}?image=${manifestDigest}`, json)).text,
    );
    expect(listing.format).toBe('zstd:chunked');
    expect(listing.tocVerified).toBe(true);
    expect(listing.entries.map((e: { path: string }) => e.path)).toContain('etc/hello.txt');
    const file = JSON.parse(
      (await get(`/layer/${repo}@${layer.digest}?image=${manifestDigest}&path=etc/hello.txt`, json)).text,
    );
    expect(Buffer.from(file.base64, 'base64').toString()).toBe('hello from a table of contents\n');
    expect(file.via).toBe('range');
    expect(file.bytesFetched).toBeLessThan(layer.size / 4);
  });

  it('streams the layer when the registry ignores Range', async () => {
    const { layer } = await pushEstargzImage(registry.url, 'toc/norange', 'v1', FILES);
    // A registry in front that drops Range and answers 200 with the whole blob, as RFC 9110 allows.
    const proxy = await startAwkwardServer('ignores Range', async (req, res, url) => {
      const upstream = await fetch(`${registry.url}${url.pathname}${url.search}`, {
        method: req.method ?? 'GET',
        headers: { accept: req.headers.accept ?? '*/*' },
      });
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-encoding' && k !== 'transfer-encoding') headers[k] = v;
      });
      res.writeHead(upstream.status, headers);
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    try {
      const repo = `${proxy.host}/toc/norange`;
      const file = JSON.parse((await get(`/layer/${repo}@${layer.digest}?path=etc/hello.txt`, json)).text);
      expect(Buffer.from(file.base64, 'base64').toString()).toBe('hello from a table of contents\n');
      expect(file.via).toBe('stream');
      expect(file.verifiedBy).toBe('layer digest');
      expect(proxy.requests.some((r) => r.headers.range !== undefined)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
