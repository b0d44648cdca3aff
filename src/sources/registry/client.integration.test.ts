/**
 * The registry client against the real CNCF registry (Debian's docker-registry 2.8) with images
 * pushed by test/support/images.ts, cross-checked with skopeo.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Distribution, startDistribution } from '../../../test/support/distribution.js';
import { type SeededImages, seedRegistry } from '../../../test/support/images.js';
import { sha256 } from '../../../test/support/sha256.js';
import { haveTools } from '../../../test/support/tools.js';
import type { Digest } from '../../core/digest.js';
import { MediaType } from '../../core/media-types.js';
import { parseReference } from '../../core/reference.js';
import { RegistryClient } from './client.js';
import { referrersTag } from './referrers.js';

const run = promisify(execFile);

// skopeo runs asynchronously: the counting proxy lives in this process and must keep serving.
async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['--override-os', 'linux', '--override-arch', 'amd64', ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
async function skopeoRaw(ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`], {
    encoding: 'buffer',
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

describe.skipIf(!haveTools('docker-registry', 'skopeo'))(
  'registry client against the CNCF registry (anonymous)',
  () => {
    let registry: Distribution;
    let seeded: SeededImages;
    let client: RegistryClient;

    beforeAll(async () => {
      registry = await startDistribution({ auth: 'anonymous' });
      seeded = await seedRegistry(registry);
      client = new RegistryClient({ anonymous: true });
    });
    afterAll(async () => {
      await client?.close();
      await registry?.stop();
    });

    it('resolves tags to the digest skopeo reports, which is the sha256 of the raw bytes', async () => {
      for (const seed of [seeded.sample, seeded.single, seeded.nested, seeded.dockerList, seeded.zstd]) {
        const ref = parseReference(seed.ref);
        const [resolved, fromSkopeo, raw] = await Promise.all([
          client.resolve(ref),
          skopeo(
            'inspect',
            '--tls-verify=false',
            '--no-tags',
            '--format',
            '{{.Digest}}',
            `docker://${seed.ref}`,
          ),
          skopeoRaw(seed.ref),
        ]);
        expect(resolved.via).toBe('head');
        expect(resolved.descriptor.digest).toBe(fromSkopeo.trim());
        expect(resolved.descriptor.digest).toBe(sha256(raw));
        expect(resolved.descriptor.size).toBe(raw.length);
        expect(resolved.descriptor.digest).toBe(seed.digest);
      }
    });

    it('returns the exact manifest bytes skopeo --raw returns, for indexes, lists and manifests', async () => {
      for (const seed of [seeded.sample, seeded.single, seeded.nested, seeded.dockerList]) {
        const manifest = await client.getManifest(parseReference(seed.ref));
        const raw = await skopeoRaw(seed.ref);
        expect(Buffer.from(manifest.raw).equals(raw)).toBe(true);
        expect(manifest.digest).toBe(seed.digest);
        expect(manifest.mediaType).toBe(seed.mediaType);
      }
      const list = await client.getManifest(parseReference(seeded.dockerList.ref));
      expect(list.kind).toBe('index');
      expect(list.mediaType).toBe(MediaType.DOCKER_LIST);
    });

    it('verifies by-digest reads and streams blobs that match their descriptors', async () => {
      const index = await client.getManifest(parseReference(seeded.sample.ref));
      if (index.kind !== 'index') throw new Error('sample:latest should be an index');
      const arm = seeded.sample.platforms['linux/arm64']!;
      const child = await client.getManifest(parseReference(`${registry.host}/sample@${arm}`));
      expect(child.digest).toBe(arm);
      if (child.kind !== 'manifest') throw new Error('expected an image manifest');
      for (const d of [child.value.config, ...child.value.layers]) {
        const blob = await client.getBlob(parseReference(`${registry.host}/sample`), d);
        const chunks: Buffer[] = [];
        for await (const c of blob.stream) chunks.push(c as Buffer);
        const bytes = Buffer.concat(chunks);
        expect(sha256(bytes)).toBe(d.digest);
        expect(bytes.length).toBe(d.size);
      }
      const zstdBlob = await client.getBlob(parseReference(`${registry.host}/zstd`), seeded.zstd.layer);
      expect(zstdBlob.size).toBe(seeded.zstd.layer.size);
      zstdBlob.stream.resume();
      await new Promise((resolve, reject) => zstdBlob.stream.on('end', resolve).on('error', reject));
    });

    it('lists the tags skopeo lists, in the same order, also with a small page size', async () => {
      const repo = parseReference(`${registry.host}/sample`);
      const expected = JSON.parse(
        await skopeo('list-tags', '--tls-verify=false', `docker://${registry.host}/sample`),
      ).Tags;
      expect(await client.tags(repo)).toEqual(expected);
      // distribution 2.8 ignores n for tags; the client must neither loop nor repeat.
      expect(await client.tags(repo, { n: 1 })).toEqual(expected);
      expect([...(await client.openSource(repo).tags())]).toEqual([...expected].sort());
    });

    it('pages the catalog with n and Link, in order', async () => {
      const all = await client.catalog(registry.host);
      expect(all).toEqual(['dockerlist', 'nested', 'sample', 'zstd']);
      registry.resetCounts();
      expect(await client.catalog(registry.host, { n: 1 })).toEqual(all);
      expect(registry.counts()['GET /v2/_catalog']).toBe(all.length + 1);
      const first = await client.catalogPage(registry.host, { n: 2 });
      expect(first.items).toEqual(all.slice(0, 2));
      expect(first.next?.last).toBe(all[1]);
    });

    it('sends one HEAD per tag once the registry is known, and pings once for concurrent resolves', async () => {
      const fresh = new RegistryClient({ anonymous: true });
      try {
        registry.resetCounts();
        const tags = ['latest', 'single', '1.0'];
        const refs = Array.from({ length: 30 }, (_, i) =>
          parseReference(`${registry.host}/sample:${tags[i % 3]}`),
        );
        const results = await Promise.all(refs.map((r) => fresh.resolve(r)));
        expect(results.every((r) => r.via === 'head')).toBe(true);
        const counts = registry.counts();
        expect(counts['GET /v2/']).toBe(1);
        expect(counts['HEAD /v2/sample/manifests/latest']).toBe(10);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(31);
      } finally {
        await fresh.close();
      }
    });

    it('names repository and tag when a tag does not exist', async () => {
      const ref = parseReference(`${registry.host}/sample:nope`);
      const error = await client.resolve(ref).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'NOT_FOUND',
        details: { status: 404, registryCode: 'MANIFEST_UNKNOWN', method: 'GET' },
      });
      expect((error as Error).message).toBe(
        `manifest unknown: ${registry.host}/sample:nope not found (MANIFEST_UNKNOWN, GET ${registry.url}/v2/sample/manifests/nope 404)`,
      );
      expect(await client.headManifest(ref)).toBeNull();
      const noRepo = await client.tags(parseReference(`${registry.host}/missing`)).catch((e: unknown) => e);
      expect(noRepo).toMatchObject({ code: 'NOT_FOUND', details: { registryCode: 'NAME_UNKNOWN' } });
    });

    it('pushes blobs and manifests, finds referrers through the tag schema, and deletes', async () => {
      const repo = parseReference(`${registry.host}/pushed`);
      const config = await client.pushBlob(repo, new TextEncoder().encode('{}'), {
        mediaType: MediaType.OCI_EMPTY,
      });
      const layer = await client.pushBlob(repo, new TextEncoder().encode('a signature'), {
        mediaType: 'text/plain',
      });
      // Pushing again is a no-op (HEAD finds the blob).
      registry.resetCounts();
      await client.pushBlob(repo, new TextEncoder().encode('a signature'));
      expect(registry.counts()['POST /v2/pushed/blobs/uploads/']).toBeUndefined();

      const subject = {
        mediaType: seeded.single.mediaType,
        digest: seeded.single.digest,
        size: seeded.single.bytes.length,
      };
      const artifact = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_MANIFEST,
          artifactType: 'application/vnd.example.sig',
          config,
          layers: [layer],
          subject,
        }),
      );
      const pushed = await client.pushManifest(repo.withDigest(sha256(artifact)), artifact);
      expect(pushed).toEqual({
        mediaType: MediaType.OCI_MANIFEST,
        digest: sha256(artifact),
        size: artifact.length,
      });
      const fallbackIndex = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_INDEX,
          manifests: [{ ...pushed, artifactType: 'application/vnd.example.sig' }],
        }),
      );
      await client.pushManifest(repo.withTag(referrersTag(seeded.single.digest)), fallbackIndex);

      expect(await client.referrers(repo, seeded.single.digest)).toEqual([
        { ...pushed, artifactType: 'application/vnd.example.sig' },
      ]);
      expect(
        await client.referrers(repo, seeded.single.digest, { artifactType: 'application/other' }),
      ).toEqual([]);
      expect(await client.referrers(repo, seeded.sample.digest)).toEqual([]);

      const byDigest = repo.withDigest(pushed.digest);
      expect((await client.getManifest(byDigest)).digest).toBe(pushed.digest);
      await client.deleteManifest(byDigest);
      await expect(client.getManifest(byDigest)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('streams a blob it does not hold in memory, and the registry refuses a stream whose bytes lie', async () => {
      const repo = parseReference(`${registry.host}/streamed`);
      const chunks = [Buffer.alloc(300_000, 1), Buffer.alloc(200_000, 2), Buffer.from('end')];
      const bytes = Buffer.concat(chunks);
      const digest = sha256(bytes) as Digest;
      let opened = 0;
      async function* open() {
        opened++;
        yield* chunks;
      }
      const pushed = await client.pushBlob(repo, { digest, size: bytes.length, open });
      expect(pushed).toEqual({
        mediaType: 'application/octet-stream',
        digest: sha256(bytes),
        size: bytes.length,
      });
      expect(opened).toBe(1);
      // Read back past the client, straight from the registry.
      const served = await request(`${registry.registryUrl}/v2/streamed/blobs/${sha256(bytes)}`);
      expect(served.statusCode).toBe(200);
      expect(Buffer.from(await served.body.arrayBuffer()).equals(bytes)).toBe(true);

      const wrong = sha256(Buffer.from('other bytes')) as Digest;
      const error = await client
        .pushBlob(repo, { digest: wrong, size: bytes.length, open })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'REGISTRY_ERROR', details: { registryCode: 'DIGEST_INVALID' } });
      const missing = await request(`${registry.registryUrl}/v2/streamed/blobs/${wrong}`, { method: 'HEAD' });
      expect(missing.statusCode).toBe(404);
    });

    it('serves the ImageSource interface for one repository', async () => {
      const source = client.openSource(parseReference(seeded.sample.ref));
      expect(source.kind).toBe('registry');
      expect(source.name).toBe(`${registry.host}/sample`);
      expect(source.identifier).toBe('latest');
      expect((await source.head()).digest).toBe(seeded.sample.digest);
      expect((await source.head('single')).digest).toBe(seeded.single.digest);
      expect((await source.manifest(seeded.sample.attestation)).digest).toBe(seeded.sample.attestation);
      await source.close();
    });
  },
);
