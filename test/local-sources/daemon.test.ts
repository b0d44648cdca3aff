/**
 * docker-daemon: against Podman's real Docker-compatible API service, with images pulled from the
 * real CNCF registry, compared with what Podman's API and skopeo say about the same images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { MediaType } from '../../src/core/media-types.js';
import { listDaemonImages, openDockerDaemon, pingDaemon } from '../../src/sources/local/docker-daemon.js';
import { openSource } from '../../src/sources/open.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { blobBytes } from '../support/sources.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { run } from './fixtures.js';
import { type PodmanService, startPodmanService } from './podman.js';

/** `imgdigest images ARGS...` in-process: its stdout, after checking it succeeded. */
async function imagesCommand(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCli(['images', ...args], { env });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe.skipIf(!haveTools('podman', 'skopeo', 'docker-registry'))(
  'docker-daemon: Podman API service',
  () => {
    let registry: Distribution;
    let engine: PodmanService;
    let sample: SampleImages;
    let repo: string;
    const open = (name: string) => openDockerDaemon(name, { dockerHost: engine.dockerHost });

    beforeAll(async () => {
      // Assigned one by one, so afterAll stops whatever did start when a later step fails.
      const starting = [
        startDistribution({ proxy: false }).then((r) => {
          registry = r;
        }),
        startPodmanService().then((e) => {
          engine = e;
        }),
      ];
      sample = await buildSampleImages('daemon');
      await Promise.all(starting);
      repo = `${registry.host}/sample`;
      await pushWithClient(registry.host, 'sample', sample);
      engine.podman('pull', '--quiet', '--tls-verify=false', `${repo}:single`);
      engine.podman('pull', '--quiet', '--tls-verify=false', `${repo}:latest`);
      engine.podman('tag', `${repo}:single`, 'example.com/retagged:v1');
    });
    afterAll(async () => {
      await engine?.stop();
      await registry?.stop();
      await cleanupTempDirs();
    });

    it('answers the ping with the engine it is', async () => {
      const version = await pingDaemon({ dockerHost: engine.dockerHost });
      expect(version.name).toBe('Podman Engine');
      expect(version.host).toBe(engine.dockerHost);
    });

    it('gives the registry digest of a pulled single-platform image, as skopeo reads it from the registry', async () => {
      const fromRegistry = JSON.parse(
        run('skopeo', ['inspect', '--tls-verify=false', `docker://${repo}:single`]).toString('utf8'),
      ).Digest;
      const source = await open(`${repo}:single`);
      expect((await source.head()).digest).toBe(fromRegistry);
      expect(fromRegistry).toBe(sample.single.manifest.digest);
    });

    it("gives the index digest for a tag that names an index, not the pulled platform's manifest", async () => {
      const inspect = JSON.parse((await engine.get(`/images/${repo}:latest/json`)).body);
      // Podman records both digests for the repository; the tag names the index.
      expect(inspect.RepoDigests).toEqual(
        expect.arrayContaining([
          `${repo}@${sample.index.digest}`,
          `${repo}@${sample.images[0]!.manifest.digest}`,
        ]),
      );
      const source = await open(`${repo}:latest`);
      expect((await source.head()).digest).toBe(sample.index.digest);
    });

    it('reports the image ID, RepoDigests and RepoTags that the engine reports', async () => {
      const source = await open(`${repo}:single`);
      const facts = await source.facts!();
      const inspect = JSON.parse((await engine.get(`/images/${repo}:single/json`)).body);
      expect(facts.imageId).toBe(sample.single.config.digest);
      expect(facts.imageId).toBe(inspect.Id);
      expect(facts.repoDigests).toEqual(inspect.RepoDigests);
      expect(facts.repoTags).toEqual(expect.arrayContaining([`${repo}:single`, 'example.com/retagged:v1']));
    });

    it('matches the digest to the requested repository', async () => {
      const source = await open('example.com/retagged:v1');
      const head = await source.head();
      const inspect = JSON.parse((await engine.get('/images/example.com/retagged:v1/json')).body);
      expect(inspect.RepoDigests).toContain(`example.com/retagged@${head.digest}`);
    });

    it('reads config and layers from the engine export, verified', async () => {
      const source = await open(`${repo}:single`);
      try {
        const manifest = await source.manifest();
        if (manifest.kind !== 'manifest') throw new Error('expected an image manifest');
        expect(manifest.value.config.digest).toBe(sample.single.config.digest);
        const config = await blobBytes(source, manifest.value.config.digest);
        expect(sha256(config)).toBe(sample.single.config.digest);
        const diffIds = JSON.parse(config.toString('utf8')).rootfs.diff_ids as Digest[];
        expect(manifest.value.layers.map((l) => l.digest)).toEqual(diffIds);
        expect(manifest.value.layers.every((l) => l.mediaType === MediaType.DOCKER_LAYER)).toBe(true);
        expect(sha256(await blobBytes(source, diffIds[1]!))).toBe(diffIds[1]);
      } finally {
        await source.close?.();
      }
    });

    it('lists the tags of the repository', async () => {
      const source = await open(`${repo}:single`);
      expect(await source.tags()).toEqual(['latest', 'single']);
    });

    it('lists every RepoDigest podman records, one row per (repository, tag, digest)', async () => {
      const rows = await listDaemonImages({ dockerHost: engine.dockerHost });
      const single = rows.filter((r) => r.repository === repo && r.tag === 'single');
      expect(single).toEqual([
        expect.objectContaining({ digest: sample.single.manifest.digest, id: sample.single.config.digest }),
      ]);
      // The multi-platform tag: the index (what the tag names) first, then the pulled platform's manifest.
      const latest = rows.filter((r) => r.repository === repo && r.tag === 'latest');
      expect(latest.map((r) => [r.digest, r.kind])).toEqual([
        [sample.index.digest, 'index'],
        [sample.images[0]!.manifest.digest, 'manifest'],
      ]);
      // Nothing podman records is left out, and nothing is made up.
      const podman = JSON.parse(engine.podman('images', '--format', 'json')) as Array<{
        Id: string;
        RepoDigests: string[];
      }>;
      for (const image of podman) {
        const listed = rows
          .filter((r) => r.id === `sha256:${image.Id}` && r.digest !== null)
          .map((r) => `${r.repository}@${r.digest}`);
        expect(new Set(listed)).toEqual(new Set(image.RepoDigests));
      }
    });

    it('prints the images table and JSON (imgdigest images)', async () => {
      const text = await imagesCommand([], { DOCKER_HOST: engine.dockerHost });
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
      const shortId = sample.single.config.digest.slice('sha256:'.length, 'sha256:'.length + 12);
      expect(lines.find((l) => l.startsWith(`${repo} `) && l.includes(' single '))).toMatch(
        new RegExp(`${sample.single.manifest.digest}\\s+${shortId}\\s+`),
      );
      const latestLines = lines.filter((l) => l.startsWith(`${repo} `) && l.includes(' latest '));
      expect(latestLines.map((l) => l.split(/\s+/)[2])).toEqual([
        sample.index.digest,
        sample.images[0]!.manifest.digest,
      ]);
      const json = JSON.parse(await imagesCommand(['--json', '--docker-host', engine.dockerHost], {}));
      expect(json).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ repository: repo, tag: 'single' }),
          expect.objectContaining({
            repository: repo,
            tag: 'latest',
            digest: sample.index.digest,
            kind: 'index',
          }),
        ]),
      );
    });

    it('is what the docker-daemon: prefix opens', async () => {
      const source = await openSource(`docker-daemon:${repo}:single`, { dockerHost: engine.dockerHost });
      expect(source.kind).toBe('docker-daemon');
      expect((await source.head()).digest).toBe(sample.single.manifest.digest);
      await source.close?.();
    });

    it('names the image the engine does not have', async () => {
      const source = await open(`${repo}:nope`);
      await expect(source.head()).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: `the Docker engine at ${engine.dockerHost} has no image "${repo}:nope"`,
      });
    });
  },
);
