import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skopeoCopy, skopeoInspect, umociLayout } from '../../../test/local-sources/fixtures.js';
import { sha256 } from '../../../test/support/sha256.js';
import { blobBytes } from '../../../test/support/sources.js';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import type { Digest } from '../../core/digest.js';
import { isImgdigestError } from '../../core/errors.js';
import { MediaType } from '../../core/media-types.js';
import { openSource } from '../open.js';
import { openDockerArchive } from './docker-archive.js';

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isImgdigestError(error), String(error)).toBe(true);
  if (!isImgdigestError(error)) return;
  expect(error.code).toBe(code);
  expect([2, 3]).toContain(error.exitCode);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toContain('\n');
}

/** The temporary copies a gzip archive made (named imgdigest-archive-*). */
async function inflatedCopies(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('imgdigest-archive-'));
}

describe.skipIf(!haveTools('umoci', 'skopeo', 'gzip', 'tar'))(
  'docker-archive: tarballs written by skopeo',
  () => {
    let dir: string;
    let layout: string;
    let archive: string;
    let inspected: ReturnType<typeof skopeoInspect>;

    beforeAll(async () => {
      dir = await tempDir('docker-archive');
      layout = join(dir, 'layout');
      await umociLayout(layout, [
        // Over the 4 MiB that a gzip archive keeps in memory, so reading it needs the inflated copy.
        { tag: 'v1', files: { 'etc/hello.txt': 'hello\n', 'data/random.bin': randomBytes(5 * 1024 * 1024) } },
        { tag: 'v2', files: { 'etc/hello.txt': 'second\n' }, architecture: 'arm64' },
      ]);
      archive = join(dir, 'app.tar');
      skopeoCopy(`oci:${layout}:v1`, `docker-archive:${archive}:example.com/app:v1`);
      run('sh', ['-c', `gzip -c '${archive}' > '${archive}.gz'`]);
      inspected = skopeoInspect(`docker-archive:${archive}`);
    });
    afterAll(cleanupTempDirs);

    for (const suffix of ['', '.gz']) {
      describe(suffix ? 'gzip-compressed' : 'uncompressed', () => {
        it('heads the image with its config digest (the image ID), the identity the archive has', async () => {
          const source = await openDockerArchive(archive + suffix);
          try {
            const head = await source.head();
            expect(head.digest).toBe(sha256(inspected.config));
            expect(head.mediaType).toBe(MediaType.DOCKER_CONFIG);
            expect(head.size).toBe(inspected.config.length);
            expect(source.identifier).toBe('example.com/app:v1');
          } finally {
            await source.close?.();
          }
        });

        it('synthesises a manifest whose layers are the layers skopeo reports, honestly typed', async () => {
          const source = await openDockerArchive(archive + suffix, 'example.com/app:v1');
          try {
            const manifest = await source.manifest();
            if (manifest.kind !== 'manifest') throw new Error('expected an image manifest');
            expect(manifest.mediaType).toBe(MediaType.DOCKER_MANIFEST);
            expect(manifest.value.config.digest).toBe(sha256(inspected.config));
            expect(manifest.value.layers.map((l) => l.digest)).toEqual(inspected.summary.Layers);
            // docker save stores layers uncompressed, so they are typed as uncompressed tars.
            expect(manifest.value.layers.map((l) => l.mediaType)).toEqual([MediaType.DOCKER_LAYER]);
            // The config's diff IDs are the layer digests of an uncompressed layer.
            const config = JSON.parse(
              (await blobBytes(source, manifest.value.config.digest)).toString('utf8'),
            );
            expect(config.rootfs.diff_ids).toEqual(inspected.summary.Layers);
          } finally {
            await source.close?.();
          }
        });

        it('streams a 5 MiB layer verified against its digest', async () => {
          const source = await openDockerArchive(archive + suffix);
          try {
            const layer = inspected.summary.Layers[0] as Digest;
            const bytes = await blobBytes(source, layer);
            expect(sha256(bytes)).toBe(layer);
            expect(bytes.length).toBeGreaterThan(5 * 1024 * 1024);
          } finally {
            await source.close?.();
          }
        });

        it('reports image ID, tags, and that the registry digest is not in an archive', async () => {
          const source = await openDockerArchive(archive + suffix);
          try {
            const facts = await source.facts!();
            expect(facts.imageId).toBe(sha256(inspected.config));
            expect(facts.repoTags).toEqual(['example.com/app:v1']);
            expect(facts.repoDigests).toBeUndefined();
            expect(facts.notes?.join(' ')).toMatch(/not the digest of a registry manifest/);
          } finally {
            await source.close?.();
          }
        });
      });
    }

    it('removes the inflated copy of a gzip archive on close', async () => {
      const before = await inflatedCopies();
      const source = await openDockerArchive(`${archive}.gz`);
      await blobBytes(source, inspected.summary.Layers[0] as Digest);
      expect((await inflatedCopies()).length).toBeGreaterThan(before.length);
      await source.close?.();
      expect((await inflatedCopies()).filter((n) => !before.includes(n))).toEqual([]);
    });

    it('matches REF the way Docker names images, or by @N', async () => {
      for (const ref of ['example.com/app:v1', '@0']) {
        const source = await openDockerArchive(archive, ref);
        expect((await source.head()).digest).toBe(sha256(inspected.config));
        await source.close?.();
      }
      const source = await openDockerArchive(archive, 'example.com/app:v2');
      await refused(
        source.head(),
        'NOT_FOUND',
        /has no image named "example\.com\/app:v2" \(it holds example\.com\/app:v1\)/,
      );
      await source.close?.();
    });

    it('is what the docker-archive: prefix opens', async () => {
      const source = await openSource(`docker-archive:${archive}:example.com/app:v1`);
      expect(source.kind).toBe('docker-archive');
      expect((await source.head()).digest).toBe(sha256(inspected.config));
      await source.close?.();
    });

    it('needs a REF when the archive holds several images, and picks the named one', async () => {
      // skopeo writes one image per archive; docker save writes several into one manifest.json.
      const second = join(dir, 'second.tar');
      skopeoCopy(`oci:${layout}:v2`, `docker-archive:${second}:example.com/other:v2`);
      const merged = join(dir, 'merged');
      await mkdir(merged);
      run('tar', ['-C', merged, '-xf', archive]);
      const first = JSON.parse(await readFile(join(merged, 'manifest.json'), 'utf8'));
      run('tar', ['-C', merged, '-xf', second]);
      const other = JSON.parse(await readFile(join(merged, 'manifest.json'), 'utf8'));
      await writeFile(join(merged, 'manifest.json'), JSON.stringify([...first, ...other]));
      const both = join(dir, 'both.tar');
      run('tar', ['-C', merged, '-cf', both, '.']);

      const unnamed = await openDockerArchive(both);
      await refused(
        unnamed.head(),
        'INPUT_INVALID',
        /holds 2 images.*example\.com\/app:v1, example\.com\/other:v2/,
      );
      expect(await unnamed.tags()).toEqual(['example.com/app:v1', 'example.com/other:v2']);
      await unnamed.close?.();
      const named = await openDockerArchive(both, 'example.com/other:v2');
      expect((await named.head()).digest).toBe(sha256(skopeoInspect(`docker-archive:${second}`).config));
      await named.close?.();
    });

    it('reads the OCI layout newer docker save writes inside the tarball', async () => {
      // Docker 25+ writes index.json, oci-layout and blobs/ beside manifest.json, whose paths point
      // into blobs/. Here the layers stay gzip-compressed, as a containerd image store saves them.
      const oci = join(dir, 'oci-in-tar');
      skopeoCopy(`oci:${layout}:v2`, `oci:${oci}:v2`);
      const raw = skopeoInspect(`oci:${oci}:v2`).manifest;
      const ociManifest = JSON.parse(raw.toString('utf8'));
      const path = (d: string) => `blobs/sha256/${d.slice('sha256:'.length)}`;
      await writeFile(
        join(oci, 'manifest.json'),
        JSON.stringify([
          {
            Config: path(ociManifest.config.digest),
            RepoTags: ['example.com/app:v2'],
            Layers: ociManifest.layers.map((l: { digest: string }) => path(l.digest)),
          },
        ]),
      );
      const file = join(dir, 'oci-in.tar');
      run('tar', ['-C', oci, '-cf', file, '.']);

      const source = await openDockerArchive(file);
      expect((await source.head()).digest).toBe(ociManifest.config.digest);
      const synthesised = await source.manifest();
      if (synthesised.kind !== 'manifest') throw new Error('expected an image manifest');
      expect(synthesised.value.layers.map((l) => [l.digest, l.mediaType])).toEqual(
        ociManifest.layers.map((l: { digest: string }) => [l.digest, MediaType.DOCKER_LAYER_GZIP]),
      );
      const original = await source.manifest(sha256(raw) as Digest);
      expect(Buffer.from(original.raw).equals(raw)).toBe(true);
      expect((await source.facts!()).notes?.join(' ')).toContain(sha256(raw));
      await source.close?.();
    });

    it('reads an archive that holds only an OCI layout as that layout', async () => {
      const file = join(dir, 'only-oci.tar');
      skopeoCopy(`oci:${layout}:v2`, `oci-archive:${file}:v2`);
      const source = await openDockerArchive(file, 'v2');
      expect((await source.head()).digest).toBe(sha256(skopeoInspect(`oci-archive:${file}:v2`).manifest));
      await source.close?.();
    });
  },
);

describe.skipIf(!haveTools('umoci', 'skopeo', 'tar'))('docker-archive: bad archives', () => {
  let dir: string;
  let archive: string;
  beforeAll(async () => {
    dir = await tempDir('docker-archive-bad');
    const layout = join(dir, 'layout');
    await umociLayout(layout, [{ tag: 'v1', files: { 'etc/hello.txt': 'hello\n' } }]);
    archive = join(dir, 'app.tar');
    skopeoCopy(`oci:${layout}:v1`, `docker-archive:${archive}:example.com/app:v1`);
  });
  afterAll(cleanupTempDirs);

  it('names a missing file', async () => {
    await refused(openDockerArchive(join(dir, 'absent.tar')), 'NOT_FOUND', /absent\.tar: no such file/);
  });

  it('says a file that is not a tar is not one', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'just some text, long enough to fill a header block? no.\n'.repeat(20));
    await refused(openDockerArchive(file), 'INPUT_INVALID', /notes\.txt is not a tar archive/);
  });

  it('says where a truncated archive ends', async () => {
    const file = join(dir, 'truncated.tar');
    const bytes = await readFile(archive);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await refused(openDockerArchive(file), 'SOURCE_ERROR', /truncated\.tar is truncated/);
  });

  it('says a tar without manifest.json is not a docker save archive', async () => {
    const file = join(dir, 'plain.tar');
    run('tar', ['-C', dir, '-cf', file, 'layout/oci-layout']);
    await refused(openDockerArchive(file), 'INPUT_INVALID', /plain\.tar is not a docker save archive/);
  });

  it('refuses a layer whose bytes were changed', async () => {
    const tree = join(dir, 'tree');
    await mkdir(tree);
    run('tar', ['-C', tree, '-xf', archive]);
    const manifest = JSON.parse(await readFile(join(tree, 'manifest.json'), 'utf8'));
    const layerPath = join(tree, manifest[0].Layers[0]);
    const layer = await readFile(layerPath);
    const at = layer.indexOf('hello\n');
    layer.write('HELLO\n', at);
    await writeFile(layerPath, layer);
    const file = join(dir, 'tampered.tar');
    run('tar', ['-C', tree, '-cf', file, '.']);
    const source = await openDockerArchive(file);
    const synthesised = await source.manifest();
    if (synthesised.kind !== 'manifest') throw new Error('expected an image manifest');
    await refused(
      blobBytes(source, synthesised.value.layers[0]!.digest),
      'DIGEST_MISMATCH',
      /tampered\.tar.*digest mismatch/,
    );
    await source.close?.();
  });
});
