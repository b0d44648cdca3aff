/**
 * `imgdigest tag SRC NEWTAG` (crane tag): the new tag names the same bytes, on the embedded
 * registry with the demo images and on the real CNCF registry, read back with skopeo.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/core/media-types.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { type SeededImages, seedRegistry } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);

async function skopeoRaw(ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`], {
    encoding: 'buffer',
  });
  return stdout;
}

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--format',
    '{{.Digest}}',
    `docker://${ref}`,
  ]);
  return stdout.trim();
}

describe.skipIf(!haveTools('skopeo'))('imgdigest tag on the embedded registry (demo images)', () => {
  let reg: RunningRegistry;
  const digestOf = (tag: string) =>
    reg.loaded.find((i) => i.repository === 'sample/app' && i.tag === tag)!.digest;

  beforeAll(async () => {
    reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
  });
  afterAll(() => reg?.close());

  it('moves a tag to another index: the tag then names those exact bytes, as skopeo reads them', async () => {
    const before = await skopeoRaw(`${reg.host}/sample/app:1.1`);
    expect(digestOf('1.0')).not.toBe(digestOf('1.1'));
    const r = await runCli(['tag', `${reg.host}/sample/app:1.1`, '1.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${reg.host}/sample/app:1.0@${digestOf('1.1')}\n`);
    expect(r.stderr).toBe('');
    const after = await skopeoRaw(`${reg.host}/sample/app:1.0`);
    expect(after.equals(before)).toBe(true);
    expect(await skopeoDigest(`${reg.host}/sample/app:1.0`)).toBe(digestOf('1.1'));
    // The old index is still there by digest, and can be tagged back.
    const back = await runCli(['tag', `${reg.host}/sample/app@${digestOf('latest')}`, '1.0']);
    expect(back.stdout).toBe(`${reg.host}/sample/app:1.0@${digestOf('latest')}\n`);
    expect(await skopeoDigest(`${reg.host}/sample/app:1.0`)).toBe(digestOf('latest'));
  });

  it('--json names the source, the new reference, digest, media type and size', async () => {
    const r = await runCli(['tag', '--json', `${reg.host}/sample/app:single`, 'copy']);
    expect(r.code, r.stderr).toBe(0);
    const raw = await skopeoRaw(`${reg.host}/sample/app:copy`);
    expect(JSON.parse(r.stdout)).toEqual({
      source: `${reg.host}/sample/app:single`,
      reference: `${reg.host}/sample/app:copy`,
      digest: sha256(raw),
      mediaType: MediaType.OCI_MANIFEST,
      size: raw.byteLength,
    });
    expect(sha256(raw)).toBe(digestOf('single'));
  });

  it('refuses bad input with exit 2 and one line, and a missing source with exit 3', async () => {
    const badTag = await runCli(['tag', `${reg.host}/sample/app:1.0`, 'other/repo:2']);
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/^imgdigest: invalid tag "other\/repo:2": .*\n$/);
    const local = await runCli(['tag', 'oci:./layout:v1', 'v2']);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(
      /^imgdigest: tag writes to registries only; "oci:.\/layout:v1" is a oci source\n$/,
    );
    const missing = await runCli(['tag', `${reg.host}/sample/app:nope`, 'x']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^imgdigest: manifest unknown: .*sample\/app:nope.*\n$/);
    expect((await runCli(['tags', `${reg.host}/sample/app`])).stdout).not.toMatch(/^x$/m);
  });
});

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('imgdigest tag on the CNCF registry', () => {
  let reg: Distribution;
  let seeded: SeededImages;

  beforeAll(async () => {
    reg = await startDistribution({ auth: 'anonymous' });
    seeded = await seedRegistry(reg);
  });
  afterAll(() => reg?.stop());

  it('tags an OCI index: one PUT of the same bytes, no blob request', async () => {
    reg.resetCounts();
    const r = await runCli(['tag', seeded.sample.ref, 'release']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${reg.host}/${seeded.sample.repo}:release@${seeded.sample.digest}\n`);
    const counts = reg.counts();
    expect(counts[`PUT /v2/${seeded.sample.repo}/manifests/release`]).toBe(1);
    expect(Object.keys(counts).filter((k) => k.includes('/blobs/'))).toEqual([]);
    expect(await skopeoDigest(`${reg.host}/${seeded.sample.repo}:release`)).toBe(seeded.sample.digest);
  });

  it('keeps a Docker manifest list a manifest list (bytes and media type)', async () => {
    const r = await runCli(['tag', '--json', seeded.dockerList.ref, 'copy']);
    expect(r.code, r.stderr).toBe(0);
    const target = `${reg.host}/${seeded.dockerList.repo}:copy`;
    const raw = await skopeoRaw(target);
    expect(sha256(raw)).toBe(seeded.dockerList.digest);
    expect(JSON.parse(r.stdout)).toMatchObject({
      digest: seeded.dockerList.digest,
      mediaType: MediaType.DOCKER_LIST,
    });
    const json = JSON.parse((await runCli(['digest', '--json', target])).stdout);
    expect(json).toMatchObject({ digest: seeded.dockerList.digest, mediaType: MediaType.DOCKER_LIST });
  });
});
