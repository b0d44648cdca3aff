/**
 * An interrupted copy, run again, does not send again what landed: blobs that completed are found
 * by HEAD (no POST, PUT or PATCH for them), and a blob cut in the middle of a chunked upload goes
 * on from the offset the registry reports for the upload session (its first PATCH does not start
 * at 0, and the chunks of both runs add up to the blob once). Interrupted twice over: by an abort
 * signal in-process (on the CNCF registry, counted by its proxy) and by SIGKILL of the copying
 * process (on the embedded registry, counted by its access log).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addImage, buildImage, createImageSet, type ImageSet } from '../../src/builder/index.js';
import { uploadStateDir } from '../../src/cli/copying.js';
import type { Digest } from '../../src/core/digest.js';
import { parseReference } from '../../src/core/reference.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { loadImageSet } from '../../src/registry-server/load.js';
import { Copier, registryDestination } from '../../src/sources/copy/index.js';
import { directoryStateStore, RegistryClient } from '../../src/sources/registry/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);
const KiB = 1024;

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', ref]);
  return stdout.trim();
}

interface TestImage {
  set: ImageSet;
  digest: Digest;
  config: Digest;
  small: Digest;
  big: Digest;
  bigSize: number;
}

/** A small layer, then a big one of random bytes (uncompressed, so its size is known). */
async function testImage(bytes: number): Promise<TestImage> {
  const image = await buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    compression: 'none',
    layers: [
      [{ path: 'small.txt', content: 'lands first\n' }],
      [{ path: 'big.bin', content: randomBytes(bytes) }],
    ],
  });
  const set = createImageSet();
  addImage(set, image, 'latest');
  return {
    set,
    digest: image.manifest.digest,
    config: image.config.digest,
    small: image.layers[0]!.digest,
    big: image.layers[1]!.digest,
    bigSize: image.layers[1]!.size,
  };
}

/** Content-Range `start-end` -> start. */
const rangeStart = (value: unknown) => Number(String(value).split('-')[0]);

describe.skipIf(!haveTools('docker-registry', 'skopeo'))(
  'an aborted copy resumed, on the CNCF registry',
  () => {
    let src: Distribution;
    let dst: Distribution;
    let cache: string;
    let image: TestImage;
    const CHUNK = 64 * KiB;

    beforeAll(async () => {
      [src, dst] = await Promise.all([startDistribution({ proxy: false }), startDistribution()]);
      cache = await tempDir('resume-cache');
      image = await testImage(1024 * KiB);
      await pushWithClient(src.host, 'app', image.set);
    });
    afterAll(async () => {
      await src?.stop();
      await dst?.stop();
      await cleanupTempDirs();
    });

    it('sends only what had not landed when it was stopped', async () => {
      const env = { ...process.env, XDG_CACHE_HOME: cache };
      const controller = new AbortController();
      const client = new RegistryClient({ anonymous: true, concurrency: 2 });
      const dest = registryDestination(client, parseReference(`${dst.host}/app:1`), {
        chunkedAbove: 100 * KiB,
        chunkSize: CHUNK,
        state: directoryStateStore(uploadStateDir(env)),
      });
      // Concurrency 2: one blob at a time, in plan order (config, small layer, big layer).
      const copier = new Copier({ concurrency: 2 });
      const first = copier.copy(client.openSource(parseReference(`${src.host}/app:latest`)), dest, {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'blob-progress' && e.digest === image.big && e.done >= 5 * CHUNK) controller.abort();
        },
      });
      await expect(first).rejects.toThrow();
      await client.close();
      const landed = dst.requestLog.filter((l) => l.method === 'PATCH' && l.status === 202).length;
      expect(landed).toBe(5);

      dst.resetCounts();
      const r = await runCli(
        [
          'copy',
          '--chunked-above',
          '100KiB',
          '--chunk-size',
          '64KiB',
          `${src.host}/app:latest`,
          `${dst.host}/app:1`,
        ],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${dst.host}/app:1@${image.digest}\n`);
      const writes = dst.requestLog.filter((l) => l.method !== 'GET' && l.method !== 'HEAD');
      // The config and the small layer landed: nothing is sent for them.
      for (const digest of [image.config, image.small]) {
        expect(writes.filter((l) => l.path.includes(digest) || l.query.includes(digest.slice(7)))).toEqual(
          [],
        );
      }
      expect(writes.filter((l) => l.method === 'POST')).toEqual([]);
      // The big layer goes on from the registry's offset: the chunks of both runs cover it once.
      const patches = writes.filter((l) => l.method === 'PATCH');
      expect(rangeStart(patches[0]!.headers['content-range'])).toBe(5 * CHUNK);
      expect(landed + patches.length).toBe(Math.ceil(image.bigSize / CHUNK));
      expect(dst.requestLog.some((l) => l.method === 'GET' && l.path.includes('/blobs/uploads/'))).toBe(true);
      expect(await skopeoDigest(`docker://${dst.host}/app:1`)).toBe(image.digest);
    });
  },
);

describe.skipIf(!haveTools('skopeo'))('a killed copy resumed, on the embedded registry', () => {
  let src: RunningRegistry;
  let dst: RunningRegistry;
  let cache: string;
  let image: TestImage;
  const logged: string[] = [];
  const lines = () => logged.map((l) => l.replace(/ [\d.]+ms$/, ''));

  beforeAll(async () => {
    src = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    dst = await startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      accessLog: true,
      logger: { info: (m) => logged.push(m), warn() {}, error() {} },
    });
    cache = await tempDir('kill-cache');
    image = await testImage(4096 * KiB);
    await loadImageSet(src.registry, 'app', image.set);
  });
  afterAll(async () => {
    await src?.close();
    await dst?.close();
    await cleanupTempDirs();
  });

  it('SIGKILL in the middle of a chunked upload; the second run resumes it and skips what landed', async () => {
    const env = { ...process.env, XDG_CACHE_HOME: cache, DOCKER_CONFIG: '/nonexistent-imgdigest-test' };
    const args = ['copy', '--concurrency', '2', '--chunked-above', '100KiB', '--chunk-size', '16KiB'];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'support', 'cli-process.ts'),
        ...args,
        `${src.host}/app:latest`,
        `${dst.host}/app:1`,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    const patched = () => lines().filter((l) => /^PATCH .* 202$/.test(l)).length;
    for (let waited = 0; patched() < 20; waited += 10) {
      if (waited > 60_000 || child.exitCode !== null)
        throw new Error(`no upload to interrupt: ${lines().join('; ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const firstRun = lines();
    const landed = firstRun.filter((l) => /^PATCH .* 202$/.test(l)).length;
    const chunks = Math.ceil(image.bigSize / (16 * KiB));
    expect(landed).toBeLessThan(chunks);
    // What completed in the first run: the config and the small layer.
    expect(firstRun.filter((l) => /^PUT \/v2\/app\/blobs\/uploads\/\S+ 201$/.test(l))).toHaveLength(2);

    logged.length = 0;
    const r = await runCli([...args, `${src.host}/app:latest`, `${dst.host}/app:1`], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${dst.host}/app:1@${image.digest}\n`);
    const again = lines();
    // No new upload session: the big layer goes on in the old one; the others are found by HEAD.
    expect(again.filter((l) => l.startsWith('POST '))).toEqual([]);
    expect(again).toContain(`HEAD /v2/app/blobs/${image.small} 200`);
    expect(again).toContain(`HEAD /v2/app/blobs/${image.config} 200`);
    const resumed = again.filter((l) => /^PATCH .* 202$/.test(l)).length;
    expect(landed + resumed).toBe(chunks);
    expect(await skopeoDigest(`docker://${dst.host}/app:1`)).toBe(image.digest);
  }, 120_000);
});
