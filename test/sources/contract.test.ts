/**
 * One contract, four implementations: the same behaviour tests run against every `ImageSource`
 * (a registry, here the embedded one; an OCI image layout; a `docker save` archive written by
 * skopeo; a Docker-compatible engine, Podman's API service with storage of its own, which pulls
 * from the CNCF registry), each opened
 * through `openSource` as the CLI opens them, all holding the same sample image.
 *
 * What may differ between them is said per source (`expected`): an archive knows its image by the
 * config digest (it holds no registry manifest), an engine knows the registry digest but not whether
 * it names a manifest or an index, and an engine's own store cannot be tampered with from outside,
 * so that one case does not exist for it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages, writeOciLayout } from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { isImgdigestError } from '../../src/core/errors.js';
import { startRegistry } from '../../src/registry-server/index.js';
import { imageConfig, imageManifest, resolveDigest } from '../../src/sources/image.js';
import { openSource } from '../../src/sources/open.js';
import type { ImageSource } from '../../src/sources/source.js';
import { skopeoCopy } from '../local-sources/fixtures.js';
import { type PodmanService, startPodmanService } from '../local-sources/podman.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { blobBytes } from '../support/sources.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

/** One implementation under test. */
interface Fixture {
  /** What `openSource` is given for the sample's `single` tag, and for a tag nobody pushed. */
  input: string;
  unknown: string;
  options?: Parameters<typeof openSource>[1];
  expected: { digest: 'manifest' | 'config'; kind: 'manifest' | 'config' | 'unknown' };
  /** Change the stored bytes of the app layer so they no longer match their digest (null: cannot). */
  tamper: (() => Promise<void>) | null;
  close(): Promise<void>;
}

let sample: SampleImages;
/** The text of the sample's app layer; found inside uncompressed layers to tamper with them. */
const APP_TEXT = 'hello from contract on single platform\n';

/** Flip one byte of `file` at the first occurrence of `needle` (keeps the length, breaks the digest). */
async function flipByteAt(file: string, needle: string | Buffer): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(needle);
  if (at < 0) throw new Error(`${file} does not contain what should be tampered with`);
  bytes[at] = bytes[at]! ^ 0x01;
  await writeFile(file, bytes);
}

/** The app layer blob of the single image (the last layer), as the registry and layout store it. */
function appLayer(): Digest {
  return sample.single.layers.at(-1)!.digest;
}

const blobFile = (root: string, digest: Digest, fanOut: boolean) => {
  const hex = digest.slice('sha256:'.length);
  return fanOut ? join(root, 'blobs', 'sha256', hex.slice(0, 2), hex) : join(root, 'blobs', 'sha256', hex);
};

const FIXTURES: Record<string, () => Promise<Fixture>> = {
  async registry() {
    const root = await tempDir('contract-registry');
    const registry = await startRegistry({ addr: '127.0.0.1:0', root });
    await pushWithClient(registry.host, 'sample', sample);
    return {
      input: `${registry.host}/sample:single`,
      unknown: `${registry.host}/sample:no-such-tag`,
      expected: { digest: 'manifest', kind: 'manifest' },
      tamper: () => flipByteAt(blobFile(root, appLayer(), true), Buffer.from([0x1f, 0x8b])),
      close: () => registry.close(),
    };
  },

  async 'oci-layout'() {
    const dir = await tempDir('contract-layout');
    await writeOciLayout(dir, sample);
    return {
      input: `oci:${dir}:single`,
      unknown: `oci:${dir}:no-such-tag`,
      expected: { digest: 'manifest', kind: 'manifest' },
      tamper: () => flipByteAt(blobFile(dir, appLayer(), false), Buffer.from([0x1f, 0x8b])),
      close: async () => {},
    };
  },

  async 'docker-archive'() {
    const dir = await tempDir('contract-archive');
    await writeOciLayout(join(dir, 'layout'), sample);
    const archive = join(dir, 'sample.tar');
    skopeoCopy(`oci:${join(dir, 'layout')}:single`, `docker-archive:${archive}:example.com/sample:single`);
    return {
      input: `docker-archive:${archive}:example.com/sample:single`,
      unknown: `docker-archive:${archive}:example.com/sample:no-such-tag`,
      // An archive holds no registry manifest: its identity is the image ID, the config digest.
      expected: { digest: 'config', kind: 'config' },
      // The archive keeps layers uncompressed: the app layer's text is there as written.
      tamper: () => flipByteAt(archive, APP_TEXT),
      close: async () => {},
    };
  },

  async 'docker-daemon'() {
    // The CNCF registry in a process of its own: `podman pull` is run synchronously, which an
    // in-process registry could not answer.
    let registry: Distribution | undefined;
    let engine: PodmanService | undefined;
    try {
      [registry, engine] = await Promise.all([startDistribution({ proxy: false }), startPodmanService()]);
      await pushWithClient(registry.host, 'sample', sample);
      engine.podman('pull', '--quiet', '--tls-verify=false', `${registry.host}/sample:single`);
    } catch (error) {
      await Promise.all([registry?.stop(), engine?.stop()]);
      throw error;
    }
    const running = { registry, engine };
    return {
      input: `docker-daemon:${registry.host}/sample:single`,
      unknown: `docker-daemon:${registry.host}/sample:no-such-tag`,
      options: { dockerHost: engine.dockerHost },
      // The engine knows the registry digest it pulled (RepoDigests), not what that digest names.
      expected: { digest: 'manifest', kind: 'unknown' },
      tamper: null,
      close: async () => {
        await Promise.all([running.registry.stop(), running.engine.stop()]);
      },
    };
  },
};

describe.skipIf(!haveTools('skopeo', 'podman', 'docker-registry'))(
  'every ImageSource keeps the same contract',
  () => {
    beforeAll(async () => {
      sample = await buildSampleImages('contract');
    });
    afterAll(cleanupTempDirs);

    describe.each(Object.keys(FIXTURES))('%s', (name) => {
      let fixture: Fixture;
      const open = (input = fixture.input) => openSource(input, fixture.options);
      const withSource = async <T>(fn: (source: ImageSource) => Promise<T>, input?: string): Promise<T> => {
        const source = await open(input);
        try {
          return await fn(source);
        } finally {
          await source.close?.();
        }
      };

      beforeAll(async () => {
        fixture = await FIXTURES[name]!();
      }, 120_000);
      afterAll(() => fixture?.close());

      it('resolves the digest of the tag', async () => {
        const answer = await withSource((s) => resolveDigest(s));
        const want = fixture.expected.digest === 'manifest' ? sample.single.manifest : sample.single.config;
        expect(answer.digest).toBe(want.digest);
        expect(answer.kind).toBe(fixture.expected.kind);
      });

      it('reads the manifest and the config, the config byte for byte', async () => {
        await withSource(async (source) => {
          const { manifest } = await imageManifest(source);
          expect(manifest.value.config.digest).toBe(sample.single.config.digest);
          const config = await imageConfig(source);
          expect(sha256(config.raw)).toBe(sample.single.config.digest);
          expect(config.config.architecture).toBe('amd64');
          expect(config.config.os).toBe('linux');
        });
      });

      it('lists one layer per diff_id and reads each, verified against its digest', async () => {
        await withSource(async (source) => {
          const { manifest } = await imageManifest(source);
          const config = await imageConfig(source);
          const layers = manifest.value.layers;
          expect(layers).toHaveLength(sample.single.layers.length);
          expect(config.config.rootfs?.diff_ids).toEqual(sample.single.layers.map((l) => l.diffId));
          for (const layer of layers) {
            const bytes = await blobBytes(source, layer.digest as Digest);
            expect(sha256(bytes)).toBe(layer.digest);
            expect(bytes.length).toBe(layer.size);
          }
        });
      });

      it('answers a tag nobody pushed with NOT_FOUND, naming it, exit code 3', async () => {
        const error = await withSource((s) => s.head(), fixture.unknown).catch((e: unknown) => e);
        expect(isImgdigestError(error), String(error)).toBe(true);
        if (!isImgdigestError(error)) return;
        expect(error.code).toBe('NOT_FOUND');
        expect(error.exitCode).toBe(3);
        expect(error.message).toContain('no-such-tag');
        expect(error.message).not.toContain('\n');
      });

      // An engine's store is its own: nothing outside it can change the bytes, so no such case there.
      if (name === 'docker-daemon') return;
      it('refuses a blob whose stored bytes no longer match its digest', async () => {
        await fixture.tamper!();
        await withSource(async (source) => {
          const { manifest } = await imageManifest(source);
          const app = manifest.value.layers.at(-1)!;
          const error = await blobBytes(source, app.digest as Digest).catch((e: unknown) => e);
          expect(isImgdigestError(error), String(error)).toBe(true);
          expect(error).toMatchObject({ code: 'DIGEST_MISMATCH' });
        });
      });
    });
  },
);
