import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { extract } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../test/support/sha256.js';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { isAttestation, parseImageConfig, parseManifest } from '../core/manifest.js';
import { MediaType } from '../core/media-types.js';
import {
  buildConfig,
  buildImage,
  buildIndex,
  buildLayer,
  buildSampleImages,
  type FileSpec,
  writeOciLayout,
} from './index.js';

const run = promisify(execFile);
afterAll(cleanupTempDirs);

interface Entry {
  name: string;
  type: string;
  mode: number;
  linkname: string | null;
  content: string;
}

async function listTar(tar: Uint8Array): Promise<Entry[]> {
  const out: Entry[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        linkname: h.linkname,
        content: Buffer.concat(chunks).toString(),
      });
    }
  })();
  ex.end(Buffer.from(tar));
  await done;
  return out;
}

const FILES: FileSpec[] = [
  { path: '/etc', type: 'dir' },
  { path: '/etc/os-release', content: 'ID=test\n' },
  { path: 'bin', linkname: 'usr/bin' },
  { path: 'app/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
];

describe('buildLayer', () => {
  it('writes a gzip tar whose entries are the files given, with types, modes and link targets', async () => {
    const layer = await buildLayer(FILES, { compression: 'gzip' });
    expect(layer.mediaType).toBe(MediaType.OCI_LAYER_GZIP);
    expect(layer.digest).toBe(sha256(layer.bytes));
    expect(layer.size).toBe(layer.bytes.byteLength);
    const tar = gunzipSync(layer.bytes);
    expect(layer.diffId).toBe(sha256(tar));
    const entries = await listTar(tar);
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['etc/', 'directory'],
      ['etc/os-release', 'file'],
      ['bin', 'symlink'],
      ['app/run.sh', 'file'],
    ]);
    expect(entries[1]!.content).toBe('ID=test\n');
    expect(entries[2]!.linkname).toBe('usr/bin');
    expect(entries[3]!.mode).toBe(0o755);
    expect(entries[1]!.mode).toBe(0o644);
  });

  it('writes a zstd layer that decodes to the same tar as the gzip one', async () => {
    const gz = await buildLayer(FILES, { compression: 'gzip' });
    const zst = await buildLayer(FILES, { compression: 'zstd' });
    expect(zst.mediaType).toBe(MediaType.OCI_LAYER_ZSTD);
    expect(zst.diffId).toBe(gz.diffId);
    expect(sha256(zstdDecompress(zst.bytes))).toBe(zst.diffId);
    expect((await listTar(zstdDecompress(zst.bytes))).map((e) => e.name)).toContain('etc/os-release');
  });

  it('leaves an uncompressed layer as the tar itself', async () => {
    const plain = await buildLayer(FILES, { compression: 'none' });
    expect(plain.mediaType).toBe(MediaType.OCI_LAYER);
    expect(plain.digest).toBe(plain.diffId);
  });

  it('gives the same bytes for the same input and different bytes for different input', async () => {
    const a = await buildLayer(FILES, { compression: 'gzip' });
    const b = await buildLayer(FILES, { compression: 'gzip' });
    const c = await buildLayer([...FILES, { path: 'extra', content: 'x' }], { compression: 'gzip' });
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
  });
});

describe.skipIf(!haveTools('tar'))('buildLayer against GNU tar', () => {
  it('lists the entries GNU tar sees, with the symlink target', async () => {
    const dir = await tempDir('tar');
    const layer = await buildLayer(FILES, { compression: 'gzip' });
    await writeFile(join(dir, 'l.tgz'), layer.bytes);
    const { stdout } = await run('tar', ['-tvzf', join(dir, 'l.tgz')]);
    expect(stdout).toMatch(/^drwxr-xr-x root\/root .* etc\/$/m);
    expect(stdout).toMatch(/bin -> usr\/bin$/m);
    expect(stdout).toMatch(/^-rwxr-xr-x .* app\/run\.sh$/m);
  });
});

describe('buildConfig and buildImage', () => {
  it('records platform, runtime settings and one diff ID per layer in order', async () => {
    const image = await buildImage({
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      layers: [FILES, [{ path: 'two', content: '2' }]],
      config: {
        env: ['A=1'],
        entrypoint: ['/bin/sh'],
        cmd: ['-c', 'true'],
        exposedPorts: ['80/tcp'],
        labels: { b: '2', a: '1' },
      },
    });
    const config = parseImageConfig(image.config.bytes);
    expect(config).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(config.config).toEqual({
      Env: ['A=1'],
      Entrypoint: ['/bin/sh'],
      Cmd: ['-c', 'true'],
      ExposedPorts: { '80/tcp': {} },
      Labels: { a: '1', b: '2' },
    });
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: image.layers.map((l) => l.diffId) });
    const manifest = parseManifest(image.manifest.bytes);
    expect(manifest.digest).toBe(image.manifest.digest);
    expect(manifest.kind === 'manifest' && manifest.value.config.digest).toBe(sha256(image.config.bytes));
    expect(manifest.kind === 'manifest' && manifest.value.layers.map((l) => l.digest)).toEqual(
      image.layers.map((l) => sha256(l.bytes)),
    );
  });

  it('does not depend on the order labels are given in', () => {
    const a = buildConfig({ os: 'linux', architecture: 'amd64', labels: { x: '1', y: '2' }, diffIds: [] });
    const b = buildConfig({ os: 'linux', architecture: 'amd64', labels: { y: '2', x: '1' }, diffIds: [] });
    expect(a.digest).toBe(b.digest);
  });

  it('uses Docker schema 2 media types throughout for the docker format', async () => {
    const image = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [FILES],
      format: 'docker',
    });
    const list = buildIndex({ mediaType: MediaType.DOCKER_LIST, manifests: [{ manifest: image.manifest }] });
    const parsed = parseManifest(image.manifest.bytes);
    expect(parsed.mediaType).toBe(MediaType.DOCKER_MANIFEST);
    expect(parsed.kind === 'manifest' && parsed.value.config.mediaType).toBe(MediaType.DOCKER_CONFIG);
    expect(parsed.kind === 'manifest' && parsed.value.layers[0]!.mediaType).toBe(MediaType.DOCKER_LAYER_GZIP);
    expect(parseManifest(list.bytes).mediaType).toBe(MediaType.DOCKER_LIST);
  });
});

describe('buildSampleImages', () => {
  it('is deterministic: two builds give byte-identical manifests and blobs', async () => {
    const a = await buildSampleImages();
    const b = await buildSampleImages();
    expect(b.tags).toEqual(a.tags);
    expect(b.manifests.map((m) => Buffer.from(m.bytes).toString())).toEqual(
      a.manifests.map((m) => Buffer.from(m.bytes).toString()),
    );
    expect([...b.blobs.keys()]).toEqual([...a.blobs.keys()]);
    expect((await buildSampleImages('other')).tags.latest).not.toBe(a.tags.latest);
  });

  it('tags an index of three platforms plus one attestation for the amd64 image', async () => {
    const sample = await buildSampleImages();
    expect(sample.tags.latest).toBe(sha256(sample.index.bytes));
    const index = parseManifest(sample.index.bytes);
    if (index.kind !== 'index') throw new Error('expected an index');
    const runnable = index.value.manifests.filter((d) => !isAttestation(d));
    expect(runnable.map((d) => d.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
      { architecture: 'arm', os: 'linux', variant: 'v7' },
    ]);
    const attestations = index.value.manifests.filter((d) => isAttestation(d));
    expect(attestations).toHaveLength(1);
    expect(attestations[0]!.platform).toEqual({ architecture: 'unknown', os: 'unknown' });
    expect(attestations[0]!.annotations).toEqual({
      'vnd.docker.reference.digest': runnable[0]!.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    });
    const att = parseManifest(sample.manifests.find((m) => m.digest === attestations[0]!.digest)!.bytes);
    expect(att.kind === 'manifest' && att.value.layers[0]!.mediaType).toBe(MediaType.IN_TOTO);
    expect(parseManifest(sample.manifests.find((m) => m.digest === sample.tags.single)!.bytes).kind).toBe(
      'manifest',
    );
  });

  it('holds every blob and child manifest the index references, children listed before parents', async () => {
    const sample = await buildSampleImages();
    const seen = new Set<string>(sample.blobs.keys());
    for (const m of sample.manifests) {
      const parsed = parseManifest(m.bytes);
      const refs =
        parsed.kind === 'index' ? parsed.value.manifests : [parsed.value.config, ...parsed.value.layers];
      for (const d of refs) expect(seen.has(d.digest), `${m.digest} -> ${d.digest}`).toBe(true);
      seen.add(m.digest);
    }
  });

  it('puts platform-specific text in /app/hello.txt', async () => {
    const sample = await buildSampleImages();
    const arm = sample.images.find((i) => i.platformName === 'linux/arm/v7')!;
    const entries = await listTar(gunzipSync(arm.layers[1]!.bytes));
    expect(entries.find((e) => e.name === 'app/hello.txt')!.content).toContain('linux/arm/v7');
  });
});

describe.skipIf(!haveTools('umoci', 'skopeo'))('writeOciLayout', () => {
  it('writes a layout that umoci and skopeo read, with every tag and the exact manifest bytes', async () => {
    const sample = await buildSampleImages();
    const dir = await tempDir('layout');
    await writeOciLayout(dir, sample);
    const { stdout: tags } = await run('umoci', ['ls', '--layout', dir]);
    expect(tags.trim().split('\n').sort()).toEqual(['1.0', 'latest', 'single']);
    const { stdout: raw } = await run('skopeo', ['inspect', '--raw', `oci:${dir}:latest`], {
      encoding: 'buffer',
    });
    expect(sha256(raw)).toBe(sample.tags.latest);
    const { stdout: single } = await run('skopeo', ['inspect', '--raw', `oci:${dir}:single`], {
      encoding: 'buffer',
    });
    expect(sha256(single)).toBe(sample.tags.single);
    const { stdout: info } = await run('skopeo', ['inspect', `oci:${dir}:single`]);
    expect(JSON.parse(info)).toMatchObject({ Architecture: 'amd64', Os: 'linux' });
  });
});
