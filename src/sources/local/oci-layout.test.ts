import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skopeoCopy, skopeoInspect, umociLayout } from '../../../test/local-sources/fixtures.js';
import { sha256 } from '../../../test/support/sha256.js';
import { blobBytes } from '../../../test/support/sources.js';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { buildSampleImages, writeOciLayout } from '../../builder/index.js';
import type { Digest } from '../../core/digest.js';
import { isImgdigestError } from '../../core/errors.js';
import { MediaType } from '../../core/media-types.js';
import { openSource } from '../open.js';
import { openOciLayout } from './oci-layout.js';

/** Each error is one line naming the path, with the exit code its code maps to. */
async function refused(p: Promise<unknown>, code: string, exit: number, pattern: RegExp): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isImgdigestError(error), String(error)).toBe(true);
  if (!isImgdigestError(error)) return;
  expect(error.code).toBe(code);
  expect(error.exitCode).toBe(exit);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toContain('\n');
}

describe.skipIf(!haveTools('umoci', 'skopeo'))('oci: layouts written by umoci and skopeo', () => {
  let dir: string;
  let layout: string;
  beforeAll(async () => {
    dir = await tempDir('oci-layout');
    layout = join(dir, 'umoci');
    await umociLayout(layout, [
      { tag: 'v1', files: { 'etc/hello.txt': 'hello from v1\n' } },
      { tag: 'v2', files: { 'etc/hello.txt': 'hello from v2\n' }, architecture: 'arm64' },
    ]);
  });
  afterAll(cleanupTempDirs);

  it('answers head() with the digest of the manifest skopeo reads for the tag', async () => {
    const source = await openOciLayout(layout, 'v1');
    const head = await source.head();
    expect(head.digest).toBe(sha256(skopeoInspect(`oci:${layout}:v1`).manifest));
    expect(head.mediaType).toBe(MediaType.OCI_MANIFEST);
    expect(await source.tags()).toEqual(['v1', 'v2']);
  });

  it('serves the config skopeo serves, byte for byte', async () => {
    const source = await openOciLayout(layout, 'v2');
    const manifest = await source.manifest();
    expect(manifest.kind).toBe('manifest');
    if (manifest.kind !== 'manifest') return;
    const config = await blobBytes(source, manifest.value.config.digest);
    expect(config.equals(skopeoInspect(`oci:${layout}:v2`).config)).toBe(true);
    expect(JSON.parse(config.toString('utf8')).architecture).toBe('arm64');
  });

  it("streams a layer whose files are the image's files", async () => {
    const source = await openOciLayout(layout, 'v1');
    const manifest = await source.manifest();
    if (manifest.kind !== 'manifest') throw new Error('expected an image manifest');
    const reader = await source.blob(manifest.value.layers[0]!);
    const extract = tar.extract();
    reader.stream.pipe(createGunzip()).pipe(extract);
    const files: Record<string, string> = {};
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files[entry.header.name.replace(/^\.?\//, '')] = Buffer.concat(chunks).toString('utf8');
    }
    expect(files['etc/hello.txt']).toBe('hello from v1\n');
  });

  it('opens a layout holding one image without a tag, as skopeo does', async () => {
    const single = join(dir, 'single');
    skopeoCopy(`oci:${layout}:v2`, `oci:${single}:only`);
    const source = await openOciLayout(single);
    expect(source.identifier).toBe('only');
    expect((await source.head()).digest).toBe(sha256(skopeoInspect(`oci:${single}:only`).manifest));
  });

  it('needs a tag when the layout holds several images, and lists them', async () => {
    const source = await openOciLayout(layout);
    await refused(source.head(), 'INPUT_INVALID', 2, /holds 2 images.*tags: v1, v2/);
  });

  it('names the missing tag and the tags there are', async () => {
    const source = await openOciLayout(layout, 'v3');
    await refused(
      source.head(),
      'NOT_FOUND',
      3,
      new RegExp(`oci:${layout} has no tag "v3" \\(tags: v1, v2\\)`),
    );
  });

  it('is what the oci: prefix opens', async () => {
    const source = await openSource(`oci:${layout}:v2`);
    expect(source.kind).toBe('oci-layout');
    expect((await source.head()).digest).toBe(sha256(skopeoInspect(`oci:${layout}:v2`).manifest));
  });
});

describe('oci: multi-platform layouts', () => {
  let dir: string;
  let sample: Awaited<ReturnType<typeof buildSampleImages>>;
  beforeAll(async () => {
    dir = await tempDir('oci-index');
    sample = await buildSampleImages('layout');
    await writeOciLayout(dir, sample);
  });
  afterAll(cleanupTempDirs);

  it('heads an index tag with the index digest, and reads its children by digest', async () => {
    const source = await openOciLayout(dir, 'latest');
    const head = await source.head();
    expect(head.digest).toBe(sample.index.digest);
    const index = await source.manifest();
    expect(index.kind).toBe('index');
    const child = sample.images[1]!;
    const manifest = await source.manifest(child.manifest.digest);
    expect(manifest.digest).toBe(child.manifest.digest);
    expect(Buffer.from(manifest.raw).equals(Buffer.from(child.manifest.bytes))).toBe(true);
  });

  it.skipIf(!haveTools('skopeo'))('agrees with skopeo on the index bytes', async () => {
    const raw = run('skopeo', ['inspect', '--raw', `oci:${dir}:latest`]);
    const source = await openOciLayout(dir, '1.0');
    expect(Buffer.from((await source.manifest()).raw).equals(raw)).toBe(true);
  });
});

describe('oci: bad layouts', () => {
  let dir: string;
  let sample: Awaited<ReturnType<typeof buildSampleImages>>;
  beforeAll(async () => {
    dir = await tempDir('oci-bad');
    sample = await buildSampleImages('bad');
  });
  afterAll(cleanupTempDirs);

  it('names a missing directory', async () => {
    const missing = join(dir, 'missing');
    await refused(openOciLayout(missing), 'NOT_FOUND', 3, new RegExp(`oci:${missing}: no such directory`));
  });

  it('says a directory without oci-layout is not a layout', async () => {
    const plain = join(dir, 'plain');
    await mkdir(plain);
    await writeFile(join(plain, 'index.json'), '{}');
    await refused(
      openOciLayout(plain),
      'INPUT_INVALID',
      2,
      /plain is not an OCI image layout: it has no oci-layout file/,
    );
  });

  it('says a file is not a directory', async () => {
    const file = join(dir, 'file.txt');
    await writeFile(file, 'x');
    await refused(openOciLayout(file), 'INPUT_INVALID', 2, /file\.txt is not a directory/);
  });

  it('refuses an unknown imageLayoutVersion', async () => {
    const layout = join(dir, 'v2layout');
    await writeOciLayout(layout, sample);
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await refused(openOciLayout(layout), 'INPUT_INVALID', 2, /imageLayoutVersion "2\.0\.0" is not supported/);
  });

  it('refuses a layer whose bytes do not match its digest', async () => {
    const layout = join(dir, 'tampered-blob');
    await writeOciLayout(layout, sample);
    const layer = sample.single.layers[1]!;
    const path = join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
    await writeFile(path, bytes);
    const source = await openOciLayout(layout, 'single');
    await refused(blobBytes(source, layer.digest), 'DIGEST_MISMATCH', 3, /tampered-blob.*digest mismatch/);
  });

  it('refuses a manifest whose bytes do not match index.json', async () => {
    const layout = join(dir, 'tampered-manifest');
    await writeOciLayout(layout, sample);
    const path = join(layout, 'blobs', 'sha256', sample.single.manifest.digest.slice('sha256:'.length));
    await writeFile(path, (await readFile(path, 'utf8')).replace('"schemaVersion":2', '"schemaVersion": 2'));
    const source = await openOciLayout(layout, 'single');
    await refused(source.manifest(), 'DIGEST_MISMATCH', 3, /manifest from oci:.*digest mismatch/);
  });

  it('names a blob the layout lacks', async () => {
    const layout = join(dir, 'missing-blob');
    await writeOciLayout(layout, sample);
    const source = await openOciLayout(layout, 'single');
    const absent = sha256('not in the layout') as Digest;
    await refused(
      source.blob({ digest: absent }),
      'NOT_FOUND',
      3,
      /has no blob sha256:.*blobs\/sha256\/.* is missing/,
    );
  });
});
