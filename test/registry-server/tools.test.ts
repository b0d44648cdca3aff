/**
 * Real clients against the embedded registry: skopeo pushes an OCI layout in and pulls it back out
 * with identical digests, and podman (with throw-away storage) pulls from it.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages, writeOciLayout } from '../../src/builder/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { call } from './client.js';

const run = promisify(execFile);

let dir: string;
let samples: SampleImages;
let reg: RunningRegistry;
let layout: string;

beforeAll(async () => {
  dir = await tempDir('regtools');
  samples = await buildSampleImages('tools');
  layout = join(dir, 'layout');
  await writeOciLayout(layout, samples);
  reg = await startRegistry({ addr: '127.0.0.1:0', root: join(dir, 'root') });
});
afterAll(async () => {
  await reg?.close();
  await removeTempDir(dir);
});

interface LayoutIndex {
  manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
}

describe.skipIf(!haveTools('skopeo'))('skopeo', () => {
  it('pushes an OCI layout (index, platforms, attestation) and pulls it back with identical digests', async () => {
    for (const tag of ['latest', 'single']) {
      await run('skopeo', [
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${layout}:${tag}`,
        `docker://${reg.host}/sample:${tag}`,
      ]);
    }
    for (const [tag, digest] of Object.entries({
      latest: samples.tags.latest,
      single: samples.tags.single,
    })) {
      const head = await call(reg.url, 'HEAD', `/v2/sample/manifests/${tag}`);
      expect(head.headers['docker-content-digest']).toBe(digest);
    }
    const out = join(dir, 'out');
    await run('skopeo', [
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${reg.host}/sample:latest`,
      `oci:${out}:latest`,
    ]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as LayoutIndex;
    expect(index.manifests.map((m) => m.digest)).toEqual([samples.tags.latest]);
    // Every object pulled back is a sample object, byte for byte, and the whole index came back.
    const pulled = await readdir(join(out, 'blobs', 'sha256'));
    const known = new Map<string, Uint8Array>([
      ...[...samples.blobs].map(([d, b]): [string, Uint8Array] => [d, b]),
      ...samples.manifests.map((m): [string, Uint8Array] => [m.digest, m.bytes]),
    ]);
    for (const hex of pulled) {
      const original = known.get(`sha256:${hex}`);
      expect(original, `unexpected object ${hex}`).toBeDefined();
      expect(Buffer.from(original!).equals(await readFile(join(out, 'blobs', 'sha256', hex)))).toBe(true);
    }
    for (const image of [...samples.images, samples.attestation]) {
      for (const digest of [
        image.manifest.digest,
        image.config.digest,
        ...image.layers.map((l) => l.digest),
      ]) {
        expect(pulled).toContain(digest.slice(7));
      }
    }
    const raw = await run(
      'skopeo',
      ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/sample:latest`],
      {
        encoding: 'buffer',
      },
    );
    const index0 = samples.manifests.find((m) => m.digest === samples.tags.latest)!;
    expect(Buffer.from(index0.bytes).equals(raw.stdout)).toBe(true);
  });
});

describe.skipIf(!haveTools('skopeo', 'podman') || process.getuid?.() !== 0)('podman', () => {
  it('pulls an image and an index from the embedded registry', async () => {
    await run('skopeo', [
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${layout}:single`,
      `docker://${reg.host}/podman:single`,
    ]);
    await run('skopeo', [
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${layout}:latest`,
      `docker://${reg.host}/podman:latest`,
    ]);
    const storage = [
      '--root',
      join(dir, 'podman-root'),
      '--runroot',
      join(dir, 'podman-run'),
      '--storage-driver',
      'vfs',
    ];
    for (const tag of ['single', 'latest']) {
      await run('podman', [...storage, 'pull', '--quiet', '--tls-verify=false', `${reg.host}/podman:${tag}`]);
    }
    const { stdout } = await run('podman', [
      ...storage,
      'image',
      'inspect',
      '--format',
      '{{.Digest}}',
      `${reg.host}/podman:single`,
    ]);
    expect(stdout.trim()).toBe(samples.tags.single);
  });
});
