/**
 * The find and explore commands against the real CNCF registry, checked against skopeo on the
 * same registry and against digests computed here from the pushed bytes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { type SeededImages, seedRegistry } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('find and explore on the CNCF registry', () => {
  let reg: Distribution;
  let seeded: SeededImages;
  let work: string;

  beforeAll(async () => {
    reg = await startDistribution({ auth: 'anonymous' });
    seeded = await seedRegistry(reg);
    work = await tempDir('explore');
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) await removeTempDir(work);
  });

  async function skopeo(...args: string[]): Promise<string> {
    const { stdout } = await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }

  it('digest prints the index digest that skopeo reports, as one line', async () => {
    const r = await runCli(['digest', seeded.sample.ref]);
    expect(r.code).toBe(0);
    const fromSkopeo = (
      await skopeo(
        'inspect',
        '--tls-verify=false',
        '--format',
        '{{.Digest}}',
        `docker://${seeded.sample.ref}`,
      )
    ).trim();
    expect(r.stdout).toBe(`${fromSkopeo}\n`);
    expect(fromSkopeo).toBe(seeded.sample.digest);
  });

  it('digest --platform picks the child for that platform, and --full-ref names the repository', async () => {
    for (const [platform, digest] of Object.entries(seeded.sample.platforms)) {
      const r = await runCli(['digest', '--platform', platform, '--full-ref', seeded.sample.ref]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`${reg.host}/${seeded.sample.repo}@${digest}`);
    }
    // containerd fallbacks: an arm/v6 request is served by nothing here, arm64/v8 is arm64
    const v8 = await runCli(['digest', '--platform', 'linux/arm64/v8', seeded.sample.ref]);
    expect(v8.stdout.trim()).toBe(seeded.sample.platforms['linux/arm64']);
  });

  it('digest --json says which kind of digest it is', async () => {
    const index = JSON.parse((await runCli(['digest', '--json', seeded.sample.ref])).stdout);
    expect(index).toMatchObject({
      digest: seeded.sample.digest,
      kind: 'index',
      mediaType: seeded.sample.mediaType,
    });
    const child = JSON.parse(
      (await runCli(['digest', '--json', '--platform', 'linux/amd64', seeded.sample.ref])).stdout,
    );
    expect(child).toMatchObject({
      kind: 'manifest',
      platform: { os: 'linux', architecture: 'amd64' },
      index: seeded.sample.digest,
    });
  });

  it('an unknown platform exits 3 and lists what the index offers', async () => {
    const r = await runCli(['digest', '--platform', 'linux/s390x', seeded.sample.ref]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no image for linux\/s390x/);
    expect(r.stderr).toContain('linux/amd64, linux/arm64, linux/arm/v7');
    expect(r.stderr).not.toContain('unknown/unknown');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('follows nested indexes and Docker manifest lists', async () => {
    for (const img of [seeded.nested, seeded.dockerList]) {
      for (const [platform, digest] of Object.entries(img.platforms)) {
        const r = await runCli(['digest', '--platform', platform, img.ref]);
        expect(r.stdout.trim(), `${img.ref} ${platform}`).toBe(digest);
      }
    }
  });

  it('manifest prints the exact bytes, so their sha256 is the digest', async () => {
    const r = await runCli(['manifest', seeded.sample.ref]);
    expect(r.stdoutBytes.equals(Buffer.from(seeded.sample.bytes))).toBe(true);
    const raw = await run(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${seeded.sample.ref}`],
      {
        encoding: 'buffer',
      },
    );
    expect(r.stdoutBytes.equals(raw.stdout)).toBe(true);
    expect(sha256(r.stdoutBytes)).toBe(seeded.sample.digest);
    const child = await runCli(['manifest', '--platform', 'linux/arm64', seeded.sample.ref]);
    expect(sha256(child.stdoutBytes)).toBe(seeded.sample.platforms['linux/arm64']);
  });

  it('index lists every child with platform, digest, media type and size, marking the attestation', async () => {
    const r = await runCli(['index', seeded.sample.ref]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PLATFORM\s+DIGEST\s+MEDIA TYPE\s+SIZE/);
    for (const [platform, digest] of Object.entries(seeded.sample.platforms)) {
      expect(lines.some((l) => l.startsWith(platform) && l.includes(digest))).toBe(true);
    }
    const att = lines.find((l) => l.includes(seeded.sample.attestation));
    expect(att).toMatch(/^unknown\/unknown .*attestation of sha256:/);
    const json = JSON.parse((await runCli(['index', '--json', seeded.sample.ref])).stdout);
    expect(json.manifests).toHaveLength(4);
    expect(json.manifests.filter((m: { attestation: boolean }) => m.attestation)).toHaveLength(1);
  });

  it('config prints the verified config blob of a platform, as skopeo --config --raw does', async () => {
    const r = await runCli(['config', '--platform', 'linux/amd64', seeded.sample.ref]);
    expect(r.code, r.stderr).toBe(0);
    const fromSkopeo = await run(
      'skopeo',
      [
        '--override-arch',
        'amd64',
        '--override-os',
        'linux',
        'inspect',
        '--config',
        '--raw',
        '--tls-verify=false',
        `docker://${seeded.sample.ref}`,
      ],
      { encoding: 'buffer' },
    );
    expect(r.stdoutBytes.equals(fromSkopeo.stdout)).toBe(true);
    const noPlatform = await runCli(['config', seeded.sample.ref]);
    expect(noPlatform.code).toBe(3);
    expect(noPlatform.stderr).toMatch(/multi-platform index; choose one with --platform/);
  });

  it('files lists gzip and zstd layers as tar --list does', async () => {
    const r = await runCli(['files', '--platform', 'linux/arm64', seeded.sample.ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('etc/os-release\n');
    expect(r.stdout).toContain('app/hello.txt\n');
    const z = await runCli(['files', seeded.zstd.ref]);
    expect(z.code, z.stderr).toBe(0);
    expect(z.stdout.length).toBeGreaterThan(0);
    // One layer by digest, compression found from its bytes.
    const one = await runCli(['files', '-l', `${reg.host}/${seeded.zstd.repo}@${seeded.zstd.layer.digest}`]);
    expect(one.code, one.stderr).toBe(0);
    const names = z.stdout.trim().split('\n');
    const longLines = one.stdout.trim().split('\n');
    expect(longLines).toHaveLength(names.length);
    longLines.forEach((line, i) => {
      expect(line.endsWith(` ${names[i]}`) || line.includes(` ${names[i]} -> `)).toBe(true);
    });
    expect(one.stdout).toMatch(/^[-dl][rwx-]{9} /m);
  });

  it('blob -o writes a verified file; the bytes hash to the digest', async () => {
    const layer = seeded.zstd.layer;
    const out = join(work, 'layer.bin');
    const r = await runCli(['blob', `${reg.host}/${seeded.zstd.repo}@${layer.digest}`, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(await readFile(out))).toBe(layer.digest);
  });

  it('tags lists what skopeo list-tags lists, and --digest finds the tags of a digest', async () => {
    const r = await runCli(['tags', `${reg.host}/${seeded.sample.repo}`]);
    const fromSkopeo = JSON.parse(
      await skopeo('list-tags', '--tls-verify=false', `docker://${reg.host}/${seeded.sample.repo}`),
    );
    expect(r.stdout.trim().split('\n')).toEqual([...fromSkopeo.Tags].sort());
    const rev = await runCli(['tags', `${reg.host}/${seeded.sample.repo}`, '--digest', seeded.sample.digest]);
    expect(rev.stdout.trim().split('\n')).toEqual(['1.0', 'latest']);
  });

  it('inspect summarises the image and names the kind of each digest', async () => {
    const r = await runCli(['inspect', '--platform', 'linux/amd64', seeded.sample.ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Digest:      ${seeded.sample.digest} (index`);
    expect(r.stdout).toContain(`Digest:      ${seeded.sample.platforms['linux/amd64']} (manifest)`);
    expect(r.stdout).toMatch(/Platforms:\s+linux\/amd64, linux\/arm64, linux\/arm\/v7/);
    expect(r.stdout).toMatch(/Layers:\s+2/);
  });

  it('inspect --json prints the summary describeImage builds, after the reference as given, platforms as objects', async () => {
    const r = await runCli(['inspect', '--json', '--platform', 'linux/arm/v7', seeded.sample.ref]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json)).toEqual([
      'reference',
      'digest',
      'kind',
      'mediaType',
      'size',
      'platforms',
      'attestations',
      'image',
      'referrers',
    ]);
    expect(json).toMatchObject({
      reference: seeded.sample.ref,
      digest: seeded.sample.digest,
      kind: 'index',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ],
      attestations: 1,
      image: {
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        digest: seeded.sample.platforms['linux/arm/v7'],
      },
    });
  });

  it.runIf(process.arch === 'x64')(
    'inspect without --platform describes the host platform when the index has it',
    async () => {
      const r = await runCli(['inspect', seeded.sample.ref]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Image for linux/amd64 (this host; --platform to choose):');
      expect(r.stdout).toContain(`Digest:      ${seeded.sample.platforms['linux/amd64']} (manifest)`);
    },
  );

  it('unknown repositories and tags exit 3 naming them; bad references exit 2', async () => {
    const tag = await runCli(['digest', `${reg.host}/${seeded.sample.repo}:nope`]);
    expect(tag.code).toBe(3);
    expect(tag.stderr).toContain(`${seeded.sample.repo}:nope`);
    const bad = await runCli(['digest', 'Bad/Ref:x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('works on an OCI layout the same way', async () => {
    if (!existsSync('/usr/bin/skopeo')) return;
    const layout = join(work, 'layout');
    await skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${seeded.sample.ref}`,
      `oci:${layout}:v1`,
    );
    const r = await runCli(['digest', `oci:${layout}:v1`]);
    expect(r.stdout.trim()).toBe(seeded.sample.digest);
    const p = await runCli(['digest', '--platform', 'linux/arm/v7', `oci:${layout}:v1`]);
    expect(p.stdout.trim()).toBe(seeded.sample.platforms['linux/arm/v7']);
  });
});
