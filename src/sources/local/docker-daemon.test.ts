/**
 * docker-daemon against engines that answer the way Docker does where Podman differs (a locally
 * built image has no RepoDigests; API 1.46+ sends a Descriptor), and against sockets that do not
 * answer. The real engine (Podman) is exercised in test/local-sources/daemon.test.ts.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../test/support/tmp.js';
import { listDaemonImages, openDockerDaemon, pingDaemon } from './docker-daemon.js';

const ID = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;
const OTHER = `sha256:${'c'.repeat(64)}`;
const INDEX = `sha256:${'d'.repeat(64)}`;
const PLATFORM = `sha256:${'e'.repeat(64)}`;
const PODMAN_ID = `sha256:${'f'.repeat(64)}`;
const STORE_ID = `sha256:${'1'.repeat(64)}`;

/** What Docker answers, by request path (the engine routes `{name:.*}`, so the name keeps its slashes). */
const ANSWERS: Record<string, unknown> = {
  // `docker build -t app:dev .`: never pushed, so no RepoDigests.
  '/images/docker.io/library/app:dev/json': { Id: ID, RepoTags: ['app:dev'], RepoDigests: [] },
  // Pulled as registry.example/app, then tagged mirror.example/app:v1 (Docker records no digest for it).
  '/images/mirror.example/app:v1/json': {
    Id: ID,
    RepoTags: ['mirror.example/app:v1', 'registry.example/app:v1'],
    RepoDigests: [`registry.example/app@${DIGEST}`],
  },
  // Docker 27 with the containerd store: the image's target descriptor (an index).
  '/images/registry.example/app:v1/json': {
    Id: DIGEST,
    RepoTags: ['registry.example/app:v1'],
    RepoDigests: [`registry.example/app@${DIGEST}`],
    Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: DIGEST, size: 1234 },
  },
  '/images/json': [
    {
      Id: ID,
      RepoTags: ['registry.example/app:v1', 'mirror.example/app:v1'],
      RepoDigests: [`registry.example/app@${DIGEST}`, `old.example/app@${OTHER}`],
      Created: 1_700_000_000,
      Size: 1000,
    },
    { Id: OTHER, RepoTags: ['<none>:<none>'], RepoDigests: [], Created: 1_700_000_000, Size: 5 },
    // Podman after pulling a multi-platform tag: the index and the platform manifest, and in
    // `Digest` the one it pulled (the index), listed second here.
    {
      Id: PODMAN_ID,
      RepoTags: ['registry.example/multi:1'],
      RepoDigests: [`registry.example/multi@${PLATFORM}`, `registry.example/multi@${INDEX}`],
      Digest: INDEX,
      Created: 1_700_000_000,
      Size: 7,
    },
    // Docker with the containerd image store: the image's target descriptor names an index.
    {
      Id: STORE_ID,
      RepoTags: ['registry.example/store:1'],
      RepoDigests: [`registry.example/store@${INDEX}`],
      Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: INDEX, size: 500 },
      Created: 1_700_000_000,
      Size: 9,
    },
  ],
};

describe('docker-daemon against a Docker-like engine', () => {
  let dir: string;
  let server: Server;
  let dockerHost: string;

  beforeAll(async () => {
    dir = await tempDir('fake-engine');
    const socket = join(dir, 'docker.sock');
    server = createHttpServer((req, res) => {
      const answer = ANSWERS[req.url ?? ''];
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer ?? { message: `No such image: ${req.url}` }));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    dockerHost = `unix://${socket}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanupTempDirs();
  });

  it('says a locally built image has no registry digest, and offers the image ID', async () => {
    const source = await openDockerDaemon('app:dev', { dockerHost });
    await expect(source.head()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `docker-daemon:app:dev (image ${ID}) has no registry digest: it was never pushed to or pulled from a registry; use --image-id to print its image ID`,
    });
    expect((await source.facts!()).imageId).toBe(ID);
    await source.close?.();
  });

  it('does not pass off another repository’s digest as this one’s', async () => {
    const source = await openDockerDaemon('mirror.example/app:v1', { dockerHost });
    await expect(source.head()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(`has digests only for registry.example/app@${DIGEST}`),
    });
  });

  it('uses the descriptor an engine reports for the recorded digest', async () => {
    const source = await openDockerDaemon('registry.example/app:v1', { dockerHost });
    expect(await source.head()).toEqual({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: DIGEST,
      size: 1234,
    });
  });

  it('lists one row per (repository, tag, digest), and untagged images', async () => {
    const rows = await listDaemonImages({ dockerHost });
    const created = '2023-11-14T22:13:20.000Z';
    expect(rows).toEqual([
      {
        repository: 'registry.example/app',
        tag: 'v1',
        digest: DIGEST,
        kind: 'unknown',
        id: ID,
        created,
        size: 1000,
      },
      { repository: 'mirror.example/app', tag: 'v1', digest: null, kind: null, id: ID, created, size: 1000 },
      {
        repository: 'old.example/app',
        tag: null,
        digest: OTHER,
        kind: 'unknown',
        id: ID,
        created,
        size: 1000,
      },
      { repository: null, tag: null, digest: null, kind: null, id: OTHER, created, size: 5 },
      // Every digest of the repository, the pulled one (the index) first.
      {
        repository: 'registry.example/multi',
        tag: '1',
        digest: INDEX,
        kind: 'index',
        id: PODMAN_ID,
        created,
        size: 7,
      },
      {
        repository: 'registry.example/multi',
        tag: '1',
        digest: PLATFORM,
        kind: 'manifest',
        id: PODMAN_ID,
        created,
        size: 7,
      },
      {
        repository: 'registry.example/store',
        tag: '1',
        digest: INDEX,
        kind: 'index',
        id: STORE_ID,
        created,
        size: 9,
      },
    ]);
  });
});

describe('docker-daemon when the engine is not there', () => {
  let dir: string;
  let hung: NetServer;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    dir = await tempDir('hung-engine');
    // Accepts connections and never answers.
    hung = createNetServer((s) => {
      sockets.add(s);
    });
    await new Promise<void>((resolve) => hung.listen(join(dir, 'hung.sock'), resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
    await cleanupTempDirs();
  });

  it('names a socket that does not exist', async () => {
    const dockerHost = `unix://${join(dir, 'absent.sock')}`;
    await expect(pingDaemon({ dockerHost })).rejects.toMatchObject({
      code: 'SOURCE_ERROR',
      message: expect.stringMatching(
        new RegExp(`^cannot reach the Docker engine at ${dockerHost}: no such socket`),
      ),
    });
  });

  it('gives up on a socket that never answers, naming it', async () => {
    const dockerHost = `unix://${join(dir, 'hung.sock')}`;
    const source = await openDockerDaemon('app:v1', { dockerHost, timeoutMs: 300 });
    await expect(source.head()).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining(
        `cannot reach the Docker engine at ${dockerHost}: no answer within 300 ms`,
      ),
    });
    await source.close?.();
  });

  it('refuses a DOCKER_HOST it cannot speak to', async () => {
    await expect(openDockerDaemon('app', { dockerHost: 'ssh://user@host' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining('unsupported DOCKER_HOST "ssh://user@host"'),
    });
  });
});
