import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../test/registry-server/client.js';
import { removeTempDir, tempDir } from '../../test/support/tmp.js';
import { buildSampleImages, type SampleImages, writeOciLayout } from '../builder/index.js';
import { startRegistry } from './index.js';
import { folderRepository, loadTarget } from './load.js';

let dir: string;
let samples: SampleImages;

beforeAll(async () => {
  dir = await tempDir('load');
  samples = await buildSampleImages('loaded');
});
afterAll(() => removeTempDir(dir));

describe('naming of loaded images', () => {
  it('uses a full repo:tag annotation as is, and a plain tag under the folder repository', () => {
    expect(loadTarget('team/app:v2', 'folder')).toEqual({ repository: 'team/app', tag: 'v2' });
    expect(loadTarget('docker.io/library/alpine:3.19', 'folder')).toEqual({
      repository: 'alpine',
      tag: '3.19',
    });
    expect(loadTarget('ghcr.io/org/app:1', 'folder')).toEqual({ repository: 'org/app', tag: '1' });
    expect(loadTarget('latest', 'folder')).toEqual({ repository: 'folder', tag: 'latest' });
    expect(loadTarget('1.0', 'folder')).toEqual({ repository: 'folder', tag: '1.0' });
    expect(loadTarget(undefined, 'folder')).toEqual({ repository: 'folder', tag: null });
    expect(loadTarget('not a tag!', 'folder')).toEqual({ repository: 'folder', tag: null });
  });

  it('makes a repository name from the folder name', () => {
    expect(folderRepository('/tmp/My Layout')).toBe('my-layout');
    expect(folderRepository('./sample.oci/')).toBe('sample.oci');
    expect(() => folderRepository('/tmp/___')).toThrow(/repository name/);
  });
});

describe('--load oci:DIR', () => {
  it('serves every tagged image of a layout with its exact digests', async () => {
    const layout = join(dir, 'sample');
    await writeOciLayout(layout, samples);
    const reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, load: [`oci:${layout}`] });
    try {
      for (const [tag, digest] of Object.entries(samples.tags)) {
        const res = await call(reg.url, 'HEAD', `/v2/sample/manifests/${tag}`);
        expect(res.status).toBe(200);
        expect(res.headers['docker-content-digest']).toBe(digest);
      }
      // Children of the index came along, with their layers.
      const child = samples.images[1]!;
      expect((await call(reg.url, 'GET', `/v2/sample/manifests/${child.manifest.digest}`)).status).toBe(200);
      const layer = child.layers[1]!;
      const blob = await call(reg.url, 'GET', `/v2/sample/blobs/${layer.digest}`);
      expect(Buffer.from(layer.bytes).equals(blob.body)).toBe(true);
      expect(reg.loaded.map((l) => l.tag).sort()).toEqual(Object.keys(samples.tags).sort());
    } finally {
      await reg.close();
    }
  });

  it('serves a full repo:tag annotation under that repository', async () => {
    const layout = join(dir, 'named');
    await writeOciLayout(layout, samples);
    const indexPath = join(layout, 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    index.manifests[0].annotations['org.opencontainers.image.ref.name'] = 'team/app:v2';
    await writeFile(indexPath, JSON.stringify(index));
    const reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, load: [`oci:${layout}`] });
    try {
      const res = await call(reg.url, 'HEAD', '/v2/team/app/manifests/v2');
      expect(res.headers['docker-content-digest']).toBe(index.manifests[0].digest);
    } finally {
      await reg.close();
    }
  });

  it('refuses a layout with a tampered blob and does not start', async () => {
    const layout = join(dir, 'tampered');
    await writeOciLayout(layout, samples);
    const layer = samples.images[0]!.layers.at(-1)!;
    const path = join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const bytes = Buffer.from(await readFile(path));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(path, bytes);
    await expect(
      startRegistry({ addr: '127.0.0.1:0', memory: true, load: [`oci:${layout}`] }),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
  });

  it('wants the oci: prefix', async () => {
    await expect(startRegistry({ addr: '127.0.0.1:0', memory: true, load: [dir] })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});

describe('demo images (registry serve --demo)', () => {
  it('serves the sample builder bytes: 1.0 and latest one index, 1.1 another, single, worker:2', async () => {
    const app = await buildSampleImages('app');
    const next = await buildSampleImages('app', { version: '1.1' });
    const worker = await buildSampleImages('worker');
    const reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
    try {
      expect(reg.loaded.map((i) => `${i.repository}:${i.tag}@${i.digest}`)).toEqual([
        `sample/app:1.0@${app.index.digest}`,
        `sample/app:1.1@${next.index.digest}`,
        `sample/app:latest@${app.index.digest}`,
        `sample/app:single@${app.single.manifest.digest}`,
        `sample/worker:2@${worker.single.manifest.digest}`,
      ]);
      expect(next.index.digest).not.toBe(app.index.digest);
      const index = await call(reg.url, 'GET', '/v2/sample/app/manifests/1.1');
      expect(Buffer.from(next.index.bytes).equals(index.body)).toBe(true);
      // Layers of every platform image came along; the two versions share their files.
      const layer = next.images[2]!.layers[1]!;
      expect(layer.digest).toBe(app.images[2]!.layers[1]!.digest);
      const blob = await call(reg.url, 'GET', `/v2/sample/app/blobs/${layer.digest}`);
      expect(Buffer.from(layer.bytes).equals(blob.body)).toBe(true);
      expect((await call(reg.url, 'GET', '/v2/_catalog')).json()).toEqual({
        repositories: ['sample/app', 'sample/worker'],
      });
    } finally {
      await reg.close();
    }
  });
});
