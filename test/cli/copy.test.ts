/**
 * `imgdigest copy SRC DST` (crane copy, skopeo copy): on the embedded registry with the demo images
 * and on the real CNCF registry (its counting proxy logs every request), to registries and OCI
 * layouts, with skopeo reading back what was written: the digests are the source's (or, narrowed
 * to platforms, what the command printed).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addImage,
  blobOf,
  buildImage,
  buildManifest,
  createImageSet,
  type ImageSet,
  jsonBlob,
} from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { Copier, registryDestination } from '../../src/sources/copy/index.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function skopeoRaw(ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', ref], {
    encoding: 'buffer',
  });
  return stdout;
}

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', ref]);
  return stdout.trim();
}

/** The environment of every CLI run: no docker config, and the upload state in a folder of the test's. */
function cliEnv(cache: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test', XDG_CACHE_HOME: cache };
}

/** Requests that write (what a copy that sends nothing must not make). */
const WRITES = /^(PUT|POST|PATCH|DELETE) /;

describe.skipIf(!haveTools('skopeo'))('copy on the embedded registry (demo images)', () => {
  let reg: RunningRegistry;
  let other: RunningRegistry;
  let cache: string;
  let work: string;
  const logged: string[] = [];
  const otherLogged: string[] = [];
  const requests = () => logged.map((line) => line.replace(/ [\d.]+ms$/, ''));
  const demo = (tag: string) =>
    reg.loaded.find((i) => i.repository === 'sample/app' && i.tag === tag)!.digest;
  const cli = (args: string[]) => runCli(args, { env: cliEnv(cache), cwd: work });

  beforeAll(async () => {
    reg = await startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      demo: true,
      accessLog: true,
      logger: { info: (m) => logged.push(m), warn() {}, error() {} },
    });
    other = await startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      accessLog: true,
      logger: { info: (m) => otherLogged.push(m), warn() {}, error() {} },
    });
    cache = await tempDir('copy-cache');
    work = await tempDir('copy-work');
  });
  afterAll(async () => {
    await reg?.close();
    await other?.close();
    await cleanupTempDirs();
  });

  it('copies an index whole between repositories: same digest, blobs mounted, not sent', async () => {
    logged.length = 0;
    const r = await cli(['copy', `${reg.host}/sample/app:1.0`, `${reg.host}/mirror/app`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${reg.host}/mirror/app:1.0@${demo('1.0')}\n`);
    expect(r.stderr).toMatch(
      /^0 blob\(s\) sent \(0 B\), 9 mounted, 0 already there; 5 manifest\(s\) written/m,
    );
    const raw = await skopeoRaw(`docker://${reg.host}/mirror/app:1.0`);
    expect(sha256(raw)).toBe(demo('1.0'));
    expect(await skopeoDigest(`docker://${reg.host}/mirror/app:1.0`)).toBe(demo('1.0'));
    // Every blob came by a mount (POST answered 201); no blob upload went through PUT or PATCH.
    expect(requests().filter((l) => l.startsWith('POST '))).toEqual(
      Array(9).fill('POST /v2/mirror/app/blobs/uploads/ 201'),
    );
    expect(requests().filter((l) => /^(PUT|PATCH) \/v2\/mirror\/app\/blobs/.test(l))).toEqual([]);
  });

  it('a second copy sends nothing: every blob and manifest is found by HEAD', async () => {
    logged.length = 0;
    const r = await cli(['copy', `${reg.host}/sample/app:1.0`, `${reg.host}/mirror/app`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /0 blob\(s\) sent \(0 B\), 0 mounted, 9 already there; 0 manifest\(s\) written, 5 already there/,
    );
    expect(requests().filter((l) => WRITES.test(l))).toEqual([]);
  });

  it('--platform with one platform copies that manifest: the destination names the child digest', async () => {
    const child = (
      await runCli(['digest', '--platform', 'linux/arm64', `${reg.host}/sample/app:1.0`])
    ).stdout.trim();
    const r = await cli([
      'copy',
      '--platform',
      'linux/arm64',
      `${reg.host}/sample/app:1.0`,
      `${reg.host}/arm/app:1.0`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${reg.host}/arm/app:1.0@${child}\n`);
    expect(await skopeoDigest(`docker://${reg.host}/arm/app:1.0`)).toBe(child);
  });

  it('--platform with several makes a new index of just those (and their attestation), and says its digest differs', async () => {
    const r = await cli([
      'copy',
      '--platform',
      'linux/arm/v7',
      '--platform',
      'linux/amd64',
      `${reg.host}/sample/app:1.0`,
      `${reg.host}/two/app:1.0`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const digest = r.stdout.trim().split('@')[1]!;
    expect(digest).not.toBe(demo('1.0'));
    expect(r.stderr).toContain(
      `imgdigest: note: the new index holds linux/amd64, linux/arm/v7 (2 of 3 platforms): its digest ${digest} differs from the source index ${demo('1.0')}`,
    );
    const raw = await skopeoRaw(`docker://${reg.host}/two/app:1.0`);
    expect(sha256(raw)).toBe(digest);
    const index = JSON.parse(raw.toString()) as { manifests: Array<{ platform: { architecture: string } }> };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm', 'unknown']);
  });

  it('copies into an OCI layout that skopeo reads, and adds tags to it', async () => {
    const layout = join(work, 'layout');
    const a = await cli(['copy', `${reg.host}/sample/app:1.0`, `oci:${layout}:v1`]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(`oci:${layout}:v1@${demo('1.0')}\n`);
    const b = await cli(['copy', `${reg.host}/sample/app:1.1`, `oci:${layout}:v2`]);
    expect(b.code, b.stderr).toBe(0);
    expect(await skopeoDigest(`oci:${layout}:v1`)).toBe(demo('1.0'));
    expect(sha256(await skopeoRaw(`oci:${layout}:v2`))).toBe(demo('1.1'));
    expect((await runCli(['digest', `oci:${layout}:v1`])).stdout.trim()).toBe(demo('1.0'));
    // From the layout back to a registry: the digest is still the same.
    const back = await cli(['copy', `oci:${layout}:v2`, `${reg.host}/fromlayout/app`]);
    expect(back.stdout).toBe(`${reg.host}/fromlayout/app:v2@${demo('1.1')}\n`);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual([
      'v1',
      'v2',
    ]);
  });

  it('--dry-run writes nothing and lists what would be mounted, sent and skipped', async () => {
    logged.length = 0;
    const r = await cli(['copy', '--dry-run', `${reg.host}/sample/app:1.1`, `${reg.host}/mirror/app`]);
    expect(r.code, r.stderr).toBe(0);
    expect(requests().filter((l) => WRITES.test(l))).toEqual([]);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ACTION +KIND +DIGEST +SIZE +NOTE$/);
    // 1.0 is there already: the shared base layers exist, the rest would be mounted.
    expect(rows.filter((l) => l.startsWith('exists'))).toHaveLength(4);
    expect(rows.filter((l) => l.startsWith('mount')).every((l) => l.endsWith('from sample/app'))).toBe(true);
    expect(rows.at(-1)).toMatch(new RegExp(`^send +index +${demo('1.1')} +1\\.2 KiB +tag 1\\.1$`));
    expect(r.stderr).toContain(`dry run, would write ${reg.host}/mirror/app:1.1@${demo('1.1')}`);
    expect((await runCli(['tags', `${reg.host}/mirror/app`])).stdout).toBe('1.0\n');
  });

  it('--json gives the record of the copy', async () => {
    const r = await cli(['copy', '--json', `${reg.host}/sample/app:single`, `${reg.host}/json/app:one`]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record).toMatchObject({
      destination: `${reg.host}/json/app:one@${demo('single')}`,
      tag: 'one',
      digest: demo('single'),
      sourceDigest: demo('single'),
      dryRun: false,
      blobs: { total: 3, sent: 0, mounted: 3, existing: 0 },
      manifests: { total: 1, written: 1, existing: 0 },
    });
    expect(record.items).toBeUndefined();
  });

  it('refuses what it cannot write or find, in one line with the exit code', async () => {
    const daemon = await cli(['copy', `${reg.host}/sample/app:1.0`, 'docker-daemon:app:1.0']);
    expect(daemon.code).toBe(2);
    expect(daemon.stderr).toBe(
      'imgdigest: "docker-daemon:app:1.0": cannot write docker-daemon: destinations; write to a registry, an OCI layout (oci:DIR[:TAG]) or a docker archive (docker-archive:FILE[:REF])\n',
    );
    const both = await cli([
      'copy',
      '--all',
      '--platform',
      'linux/amd64',
      `${reg.host}/sample/app:1.0`,
      `${reg.host}/x/y`,
    ]);
    expect(both.code).toBe(2);
    const platform = await cli([
      'copy',
      '--platform',
      'linux/s390x',
      `${reg.host}/sample/app:1.0`,
      `${reg.host}/x/y`,
    ]);
    expect(platform.code).toBe(3);
    expect(platform.stderr).toBe(
      `imgdigest: no image for linux/s390x in ${reg.host}/sample/app; the index offers linux/amd64, linux/arm64, linux/arm/v7\n`,
    );
    const single = await cli([
      'copy',
      '--platform',
      'linux/arm64',
      `${reg.host}/sample/app:single`,
      `${reg.host}/x/y`,
    ]);
    expect(single.code).toBe(3);
    expect(single.stderr).toContain('is a single-platform image for linux/amd64, not linux/arm64');
    const missing = await cli(['copy', `${reg.host}/sample/app:nope`, `${reg.host}/x/y`]);
    expect(missing.code).toBe(3);
    const wrongDigest = await cli(['copy', `${reg.host}/sample/app:1.0`, `${reg.host}/x/y@${demo('1.1')}`]);
    expect(wrongDigest.code).toBe(3);
    expect(wrongDigest.stderr).toContain('was asked for, but the copy names');
    const lowConcurrency = await cli([
      'copy',
      '--concurrency',
      '1',
      `${reg.host}/sample/app:1.0`,
      `${reg.host}/x/y`,
    ]);
    expect(lowConcurrency.code).toBe(2);
    expect((await runCli(['catalog', reg.host])).stdout).not.toContain('x/y');
  });

  it('two images sharing a layer, copied at once by one copier, send that layer once', async () => {
    const layer = [{ path: 'shared.bin', content: randomBytes(2 * 1024 * 1024) }];
    const images = await Promise.all(
      ['amd64', 'arm64'].map((architecture) =>
        buildImage({ platform: { os: 'linux', architecture }, compression: 'none', layers: [layer] }),
      ),
    );
    expect(images[0]!.layers[0]!.digest).toBe(images[1]!.layers[0]!.digest);
    const set = createImageSet();
    for (const [i, image] of images.entries()) addImage(set, image, `v${i}`);
    await pushWithClient(reg.host, 'shared/src', set);
    const client = new RegistryClient({ anonymous: true });
    try {
      const copier = new Copier({ concurrency: 8 });
      const results = await Promise.all(
        ['v0', 'v1'].map((tag) =>
          copier.copy(
            client.openSource(parseReference(`${reg.host}/shared/src:${tag}`)),
            registryDestination(client, parseReference(`${other.host}/shared/dst:${tag}`)),
          ),
        ),
      );
      // Two configs and the layer: three uploads, not four.
      expect(
        otherLogged.filter((l) => /^PUT \/v2\/shared\/dst\/blobs\/uploads\/\S+ 201 /.test(l)),
      ).toHaveLength(3);
      expect(results.map((r) => r.blobs.sent + r.blobs.existing)).toEqual([2, 2]);
      for (const [i, image] of images.entries()) {
        expect(await skopeoDigest(`docker://${other.host}/shared/dst:v${i}`)).toBe(image.manifest.digest);
      }
    } finally {
      await client.close();
    }
  });

  it('writes a docker archive that skopeo loads: one platform, tagged, the manifest and its digest inside', async () => {
    const file = join(work, 'arm64.tar');
    const r = await cli([
      'copy',
      '--platform',
      'linux/arm64',
      `${reg.host}/sample/app:1.0`,
      `docker-archive:${file}:sample/app:1.0`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const armDigest = r.stdout.trim().split('@')[1]!;
    expect(r.stdout).toBe(`docker-archive:${file}:sample/app:1.0@${armDigest}\n`);
    // The digest is the arm64 manifest of the index, as the registry serves it.
    const index = JSON.parse((await skopeoRaw(`docker://${reg.host}/sample/app:1.0`)).toString('utf8')) as {
      manifests: Array<{ digest: string; platform: { architecture: string } }>;
    };
    expect(armDigest).toBe(index.manifests.find((m) => m.platform.architecture === 'arm64')!.digest);
    // skopeo (containers/image, what podman load uses) reads the archive: the arm64 image, tagged.
    const inspected = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${file}`])).stdout) as {
      Architecture: string;
      Os: string;
    };
    expect(inspected).toMatchObject({ Architecture: 'arm64', Os: 'linux' });
    const saved = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout) as Array<{
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }>;
    expect(saved).toHaveLength(1);
    expect(saved[0]!.RepoTags).toEqual(['sample/app:1.0']);
    // The image ID (config digest) read back is the registry's arm64 config.
    const armManifest = JSON.parse(
      (await skopeoRaw(`docker://${reg.host}/sample/app@${armDigest}`)).toString('utf8'),
    );
    const id = await runCli(['digest', '--image-id', `docker-archive:${file}`]);
    expect(id.stdout.trim()).toBe(armManifest.config.digest);
    expect(saved[0]!.Config).toBe(`blobs/${armManifest.config.digest.replace(':', '/')}`);
    // The OCI layout inside holds the manifest itself: skopeo copies it on, digest kept.
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `docker-archive:${file}`,
      `docker://${other.host}/loaded/app:1.0`,
    ]);
    const loaded = JSON.parse((await skopeoRaw(`docker://${other.host}/loaded/app:1.0`)).toString('utf8'));
    expect(loaded.config.digest).toBe(armManifest.config.digest);
  });

  it("an index copied to an archive without --platform gives this machine's platform, and says so", async () => {
    const file = join(work, 'host.tar');
    const r = await cli(['copy', `${reg.host}/sample/app:1.0`, `docker-archive:${file}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('is an index; the archive holds its linux/amd64 image (--platform chooses)');
    const inspected = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${file}`])).stdout) as {
      Architecture: string;
    };
    expect(inspected.Architecture).toBe('amd64');
    const saved = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout) as Array<{
      RepoTags: string[] | null;
    }>;
    expect(saved[0]!.RepoTags).toBeNull();
  });

  it('an archive is whole or untouched: refusals and failures leave the file as it was and nothing beside it', async () => {
    const dir = await tempDir('copy-archive');
    const file = join(dir, 'kept.tar');
    await writeFile(file, 'the previous archive');
    const runs = [
      ['copy', '--all', `${reg.host}/sample/app:1.0`, `docker-archive:${file}`],
      ['copy', '-p', 'linux/amd64,linux/arm64', `${reg.host}/sample/app:1.0`, `docker-archive:${file}`],
      ['copy', '--referrers', `${reg.host}/sample/app:single`, `docker-archive:${file}`],
      ['copy', `${reg.host}/sample/app:1.0`, `docker-archive:${file}:app@sha256:${'a'.repeat(64)}`],
      // The archive is a plain tar: a name that says compressed is refused, not written.
      ['copy', `${reg.host}/sample/app:single`, `docker-archive:${join(dir, 'kept.tar.gz')}`],
      ['copy', `${reg.host}/sample/app:single`, `docker-archive:${join(dir, 'app.tgz')}:app:1`],
      ['copy', `${reg.host}/sample/app:single`, `docker-archive:${join(dir, 'kept.tar.ZST')}`],
    ];
    for (const args of runs) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const compressed = await cli(['copy', `${reg.host}/sample/app:single`, `docker-archive:${dir}/x.tgz`]);
    expect(compressed.stderr).toBe(
      `imgdigest: docker-archive:${dir}/x.tgz: the archive is an uncompressed tar (as docker save writes it), not .tgz; name it .tar and compress it afterwards if you need to (docker load reads gzip, bzip2, xz and zstd)\n`,
    );
    const missing = await cli(['copy', `${reg.host}/sample/app:nope`, `docker-archive:${file}`]);
    expect(missing.code).toBe(3);
    const dry = await cli(['copy', '--dry-run', `${reg.host}/sample/app:single`, `docker-archive:${file}`]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('the previous archive');
    expect(await readdir(dir)).toEqual(['kept.tar']);
    // A copy that succeeds replaces it.
    const ok = await cli(['copy', `${reg.host}/sample/app:single`, `docker-archive:${file}:app:single`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readdir(dir)).toEqual(['kept.tar']);
    expect(JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout)[0].RepoTags).toEqual([
      'app:single',
    ]);
  });

  it('copies a docker save archive (written by skopeo) into a registry, as skopeo reads it back', async () => {
    const archive = join(work, 'app.tar');
    await run('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${reg.host}/sample/app:single`,
      `docker-archive:${archive}:sample/app:single`,
    ]);
    const r = await cli(['copy', `docker-archive:${archive}`, `${reg.host}/imported/app`]);
    expect(r.code, r.stderr).toBe(0);
    const [name, digest] = r.stdout.trim().split('@');
    expect(name).toBe(`${reg.host}/imported/app:single`);
    expect(await skopeoDigest(`docker://${reg.host}/imported/app:single`)).toBe(digest);
    // The image is the same image: skopeo sees the same config (image ID) as in the demo.
    const config = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--config',
      '--raw',
      `docker://${reg.host}/imported/app:single`,
    ]);
    const demoConfig = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--config',
      '--raw',
      `docker://${reg.host}/sample/app:single`,
    ]);
    expect(config.stdout).toBe(demoConfig.stdout);
  });
});

/** An image with one layer of random bytes (large enough to be chunked) and one small layer. */
async function bigImage(
  bytes: number,
): Promise<{ set: ImageSet; digest: Digest; big: Digest; small: Digest }> {
  const image = await buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    compression: 'none',
    layers: [
      [{ path: 'small.txt', content: 'small layer\n' }],
      [{ path: 'big.bin', content: randomBytes(bytes) }],
    ],
  });
  const set = createImageSet();
  addImage(set, image, 'latest');
  return { set, digest: image.manifest.digest, small: image.layers[0]!.digest, big: image.layers[1]!.digest };
}

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('copy on the CNCF registry', () => {
  let a: Distribution;
  let b: Distribution;
  let cache: string;
  let image: Awaited<ReturnType<typeof bigImage>>;
  const cli = (args: string[]) => runCli(args, { env: cliEnv(cache) });

  beforeAll(async () => {
    [a, b] = await Promise.all([startDistribution(), startDistribution()]);
    cache = await tempDir('copy-cncf-cache');
    image = await bigImage(300 * 1024);
    await pushWithClient(a.host, 'big', image.set);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cleanupTempDirs();
  });

  it('within one registry, mounts every blob (POST ?mount=&from=) and sends none', async () => {
    a.resetCounts();
    const r = await cli(['copy', `${a.host}/big:latest`, `${a.host}/other/big`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${a.host}/other/big:latest@${image.digest}\n`);
    const posts = a.requestLog.filter((l) => l.method === 'POST');
    expect(posts).toHaveLength(3);
    for (const p of posts) {
      expect(p.path).toBe('/v2/other/big/blobs/uploads/');
      expect(new URLSearchParams(p.query).get('from')).toBe('big');
      expect(p.status).toBe(201);
    }
    expect(
      a.requestLog.filter((l) => l.method === 'PATCH' || (l.method === 'PUT' && l.path.includes('/blobs/'))),
    ).toEqual([]);
    expect(await skopeoDigest(`docker://${a.host}/other/big:latest`)).toBe(image.digest);
  });

  it('between registries, sends a blob above --chunked-above in PATCH chunks with Content-Range', async () => {
    b.resetCounts();
    const r = await cli([
      'copy',
      '--chunked-above',
      '100KiB',
      '--chunk-size',
      '64KiB',
      `${a.host}/big:latest`,
      `${b.host}/copied/big:1`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${b.host}/copied/big:1@${image.digest}\n`);
    const patches = b.requestLog.filter((l) => l.method === 'PATCH');
    const size = (await new RegistryClient({ anonymous: true }).headBlob(
      parseReference(`${a.host}/big`),
      image.big,
    ))!;
    expect(patches.map((p) => p.headers['content-range'])).toEqual(
      Array.from(
        { length: Math.ceil(size / 65536) },
        (_, i) => `${i * 65536}-${Math.min(size, (i + 1) * 65536) - 1}`,
      ),
    );
    expect(patches.every((p) => p.status === 202)).toBe(true);
    // The small blobs went in one PUT each.
    expect(b.requestLog.filter((l) => l.method === 'PUT' && l.path.includes('/blobs/uploads/'))).toHaveLength(
      3,
    );
    expect(sha256(await skopeoRaw(`docker://${b.host}/copied/big:1`))).toBe(image.digest);
    expect(await skopeoDigest(`docker://${b.host}/copied/big:1`)).toBe(image.digest);
  });

  it('copies referrers with --referrers, through the referrers tag schema (distribution 2.8 has no referrers API)', async () => {
    const config = jsonBlob({}, 'application/vnd.oci.empty.v1+json');
    const sbom = blobOf(Buffer.from('{"spdxVersion":"SPDX-2.3"}'), 'application/spdx+json');
    const subject = {
      mediaType: MediaType.OCI_MANIFEST,
      digest: image.digest,
      size: image.set.manifests[0]!.size,
    };
    const referrer = buildManifest({
      config,
      layers: [sbom],
      artifactType: 'application/spdx+json',
      subject,
    });
    const client = new RegistryClient({ anonymous: true });
    try {
      const repo = parseReference(`${a.host}/big`);
      for (const blob of [config, sbom]) await client.pushBlob(repo, blob.bytes);
      await client.pushManifest(repo.withDigest(referrer.digest), referrer.bytes);
      // distribution 2.8 does not index subjects: a pusher keeps the referrers tag itself.
      const listing = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_INDEX,
          manifests: [
            {
              mediaType: MediaType.OCI_MANIFEST,
              digest: referrer.digest,
              size: referrer.size,
              artifactType: 'application/spdx+json',
            },
          ],
        }),
      );
      await client.pushManifest(repo.withTag(`sha256-${image.digest.slice(7)}`), listing);
      const plain = await cli(['copy', `${a.host}/big:latest`, `${b.host}/plain/big`]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(await client.referrers(parseReference(`${b.host}/plain/big`), image.digest)).toEqual([]);
      const r = await cli(['copy', '--referrers', '--json', `${a.host}/big:latest`, `${b.host}/signed/big`]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ referrers: 1, manifests: { total: 2, written: 2 } });
      const found = await client.referrers(parseReference(`${b.host}/signed/big`), image.digest);
      expect(found.map((d) => [d.digest, d.artifactType])).toEqual([
        [referrer.digest, 'application/spdx+json'],
      ]);
      expect(sha256(await skopeoRaw(`docker://${b.host}/signed/big@${referrer.digest}`))).toBe(
        referrer.digest,
      );
      // Again: nothing new, nothing written.
      b.resetCounts();
      const again = await cli(['copy', '--referrers', `${a.host}/big:latest`, `${b.host}/signed/big`]);
      expect(again.code, again.stderr).toBe(0);
      expect(b.requestLog.filter((l) => WRITES.test(`${l.method} `))).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
