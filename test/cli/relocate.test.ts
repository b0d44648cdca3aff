/**
 * `imgdigest relocate -f PATH --to REGISTRY[/PREFIX]` (kbld relocate): the images of the example
 * manifests copied by digest into another registry and the manifests rewritten to them, byte-exact.
 * On the embedded registry (the demo images; the target's access log counts what was written) and
 * on the CNCF registry (its counting proxy), with skopeo reading back every relocated reference:
 * the digest it finds is the one the manifests now name.
 */
import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addImage, buildImage, createImageSet } from '../../src/builder/index.js';
import { parseReference } from '../../src/core/reference.js';
import type { RunningRegistry } from '../../src/registry-server/index.js';
import { parseLock } from '../../src/resolver/lock.js';
import { planCopy } from '../../src/sources/copy/index.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { type CliResult, runCli } from '../support/cli.js';
import type { Distribution } from '../support/distribution.js';
import { pushWithClient, type SeededImages } from '../support/images.js';
import {
  type CncfPair,
  type EmbeddedPair,
  skopeoSees as skopeoSeesAt,
  startCncfPair,
  startEmbeddedPair,
  WRITES,
} from '../support/registry-pairs.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

/** What skopeo finds in a registry at HOST/REPO:TAG or HOST/REPO@DIGEST. */
const skopeoSees = (ref: string) => skopeoSeesAt(`docker://${ref}`);

/** `relocate -f FILES --to TARGET FLAGS...` */
const relocating = (files: string, to: string, ...flags: string[]) => [
  'relocate',
  '-f',
  files,
  '--to',
  to,
  ...flags,
];

/** Every file of a folder, by name. */
async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

/** The text with every `from` replaced by its `to`, nothing else changed. */
function replaced(text: string, map: ReadonlyArray<[string, string]>): string {
  let out = text;
  for (const [from, to] of map) out = out.split(from).join(to);
  return out;
}

describe.skipIf(!haveTools('skopeo'))('relocate on the embedded registry (the example manifests)', () => {
  let pair: EmbeddedPair;
  let src: RunningRegistry;
  let dst: RunningRegistry;
  let work: string;
  let logged: string[];
  let writes: EmbeddedPair['writes'];
  let demo: EmbeddedPair['demo'];
  let cli: (args: string[]) => Promise<CliResult>;
  let original: Record<string, string>;
  /** The image values the examples hold, and what relocation to `DST/air` turns them into. */
  let mapping: Array<[string, string]>;

  beforeAll(async () => {
    pair = await startEmbeddedPair('relocate');
    ({ src, dst, work, logged, writes, demo, cli } = pair);
    const made = await runCli(['demo', '--manifests', join(work, 'original'), '--registry', src.host]);
    expect(made.code, made.stderr).toBe(0);
    original = await readTree(join(work, 'original'));
    const single = demo('sample/app', 'single');
    mapping = [
      [`${src.host}/sample/app@${single}`, `${dst.host}/air/sample/app@${single}`],
      [`${src.host}/sample/app:1.0`, `${dst.host}/air/sample/app:1.0@${demo('sample/app', '1.0')}`],
      [`${src.host}/sample/worker:2`, `${dst.host}/air/sample/worker:2@${demo('sample/worker', '2')}`],
    ];
  });
  afterAll(async () => {
    await pair?.close();
    await cleanupTempDirs();
  });

  /** A fresh copy of the example manifests in `name/`. */
  async function fresh(name: string): Promise<string> {
    const dir = join(work, name);
    await rm(dir, { recursive: true, force: true });
    await cp(join(work, 'original'), dir, { recursive: true });
    return dir;
  }

  it('--dry-run --diff shows the rewrite and what would be sent, and writes nothing anywhere', async () => {
    const dir = await fresh('dry');
    const r = await cli(relocating('dry', `${dst.host}/air`, '--dry-run', '--diff'));
    expect(r.code, r.stderr).toBe(0);
    expect(writes()).toEqual([]);
    expect(await readTree(dir)).toEqual(original);
    const lines = r.stdout.split('\n');
    for (const [from, to] of mapping) {
      expect(lines.some((l) => l.startsWith('-') && l.includes(from))).toBe(true);
      expect(lines.some((l) => l.startsWith('+') && l.includes(to))).toBe(true);
    }
    expect(r.stderr).toContain(`would relocate 3 image(s) to ${dst.host}/air, would rewrite 5 in 4 file(s)`);
    expect(r.stderr).toMatch(
      /^\d+ blob\(s\) to send \(.+\), 0 to mount, \d+ already there; 7 manifest\(s\) to write, 0 already there$/m,
    );
  });

  it('copies every image by digest, rewrites only the image values and records old -> new in the lock', async () => {
    const dir = await fresh('deploy');
    const r = await cli(relocating('deploy', `${dst.host}/air`, '--write', '--lock-file', 'relocated.lock'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    // Each blob went up once, though two images share one and were copied at the same time.
    const client = new RegistryClient({ anonymous: true });
    const blobs = new Set<string>();
    for (const [from] of mapping) {
      const plan = await planCopy(client.openSource(parseReference(from)));
      for (const b of plan.blobs) blobs.add(b.digest);
    }
    await client.close();
    expect(writes().filter((l) => /^PUT \/v2\/air\/\S+\/blobs\/uploads\/\S+ 201 /.test(l))).toHaveLength(
      blobs.size,
    );
    const after = await readTree(dir);
    for (const [name, text] of Object.entries(original)) expect(after[name]).toBe(replaced(text, mapping));
    // skopeo reads each relocated reference back (by digest, and by the tag kept): the digest named.
    for (const [, to] of mapping) {
      const [name, digest] = to.split('@') as [string, string];
      const tag = /:([\w.-]+)$/.exec(name.slice(dst.host.length))?.[1];
      const repository = tag ? name.slice(0, -tag.length - 1) : name;
      expect(await skopeoSees(`${repository}@${digest}`)).toEqual({ raw: digest, digest });
      if (tag) expect((await skopeoSees(name)).digest).toBe(digest);
    }
    const lock = parseLock(await readFile(join(work, 'relocated.lock'), 'utf8'), 'relocated.lock');
    expect(lock.map((e) => [e.image, e.digest, e.relocatedTo])).toEqual([
      [`${src.host}/sample/app:1.0`, demo('sample/app', '1.0'), mapping[1]![1]],
      [mapping[0]![0], demo('sample/app', 'single'), mapping[0]![1]],
      [`${src.host}/sample/worker:2`, demo('sample/worker', '2'), mapping[2]![1]],
    ]);
    expect(lock[0]!.foundIn).toEqual(['deploy/nightly.yaml:15', 'deploy/web.yaml:18', 'deploy/web.yaml:22']);
  });

  it('run again on the relocated manifests: nothing is asked of any registry, no file changes', async () => {
    const dir = join(work, 'deploy');
    const before = await readTree(dir);
    const lockBefore = await readFile(join(work, 'relocated.lock'), 'utf8');
    const r = await cli(relocating('deploy', `${dst.host}/air`, '--write', '--lock-file', 'relocated.lock'));
    expect(r.code, r.stderr).toBe(0);
    expect(logged).toEqual([]);
    expect(await readTree(dir)).toEqual(before);
    expect(await readFile(join(work, 'relocated.lock'), 'utf8')).toBe(lockBefore);
    expect(r.stderr).toBe(
      `relocated 0 image(s) to ${dst.host}/air, rewrote 0 in 0 file(s); 5 image(s) already under ${dst.host}/air\n`,
    );
  });

  it('run again on the original manifests: the same files, and nothing sent (every blob and manifest found)', async () => {
    await fresh('again');
    const r = await cli(relocating('again', `${dst.host}/air`));
    expect(r.code, r.stderr).toBe(0);
    expect(writes()).toEqual([]);
    expect(r.stderr).toMatch(
      /^0 blob\(s\) sent \(0 B\), 0 mounted, \d+ already there; 0 manifest\(s\) written, 7 already there$/m,
    );
    const expected = Object.values(original)
      .map((t) => replaced(t, mapping))
      .map((t, i) => (i > 0 && !t.startsWith('---') ? `---\n${t}` : t))
      .join('');
    expect(r.stdout).toBe(expected);
  });

  it('all or nothing: an image that cannot be resolved leaves every file as it was, copies nothing, writes no lock', async () => {
    const dir = await fresh('broken');
    const extra = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: gone\nspec:\n  containers:\n    - name: x\n      image: ${src.host}/sample/app:nope\n`;
    await writeFile(join(dir, 'zz-gone.yaml'), extra);
    const r = await cli(relocating('broken', `${dst.host}/other`, '-w', '--lock-file', 'broken.lock'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`broken/zz-gone.yaml:8: ${src.host}/sample/app:nope: manifest unknown`);
    expect(r.stderr).toMatch(/imgdigest: 1 image could not be relocated, nothing written\n$/);
    expect(writes()).toEqual([]);
    expect(await readTree(dir)).toEqual({ ...original, 'zz-gone.yaml': extra });
    await expect(readFile(join(work, 'broken.lock'))).rejects.toThrow();
  });

  it('refuses two images that would share one tag with different digests (exit 2), before copying', async () => {
    const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: clash\nspec:\n  containers:\n    - name: a\n      image: ${src.host}/sample/app:1.0\n    - name: b\n      image: ${src.host}/sample/app:1.0@${demo('sample/app', '1.1')}\n`;
    await cp(join(work, 'original', 'worker.yaml'), join(work, 'clash-worker.yaml'));
    await writeFile(join(work, 'clash.yaml'), text);
    const r = await cli([
      'relocate',
      '-f',
      'clash.yaml',
      '-f',
      'clash-worker.yaml',
      '--to',
      `${dst.host}/clash`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `clash.yaml:8: ${src.host}/sample/app:1.0: ${src.host}/sample/app:1.0 (${demo('sample/app', '1.0')}) and ${src.host}/sample/app:1.0@${demo('sample/app', '1.1')} (${demo('sample/app', '1.1')}) would both be relocated to ${dst.host}/clash/sample/app:1.0`,
    );
    expect(r.stderr).toContain('clash.yaml:10: ');
    expect(writes()).toEqual([]);
  });

  it('--platform copies and names only that platform manifest; --drop-tag writes REPO@DIGEST', async () => {
    await fresh('arm');
    const child = (
      await runCli(['digest', '--platform', 'linux/arm64', `${src.host}/sample/app:1.0`])
    ).stdout.trim();
    const r = await cli(
      relocating('arm/web.yaml', `${dst.host}/arm`, '--platform', 'linux/arm64', '--drop-tag', '--json'),
    );
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.relocations).toEqual([
      expect.objectContaining({
        from: `${src.host}/sample/app:1.0`,
        to: `${dst.host}/arm/sample/app@${child}`,
        digest: child,
        kind: 'manifest',
        platform: 'linux/arm64',
        foundIn: ['arm/web.yaml:18', 'arm/web.yaml:22'],
        manifests: { total: 1, written: 1, existing: 0 },
      }),
    ]);
    expect(record.changes.map((c: { to: string }) => c.to)).toEqual([
      `${dst.host}/arm/sample/app@${child}`,
      `${dst.host}/arm/sample/app@${child}`,
    ]);
    expect(await skopeoSees(`${dst.host}/arm/sample/app@${child}`)).toEqual({ raw: child, digest: child });
    // The tag at the target names the platform manifest too (the index was not copied).
    expect((await skopeoSees(`${dst.host}/arm/sample/app:1.0`)).digest).toBe(child);
  });

  it('refuses a target that is not a registry, and nothing without --to', async () => {
    const bad = await cli(relocating('deploy', 'team/images'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'imgdigest: --to "team/images" must start with a registry host (registry.example.com, localhost:5000), then an optional path\n',
    );
    const none = await cli(['relocate', '-f', 'deploy']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('imgdigest: relocate needs --to REGISTRY[/PREFIX]\n');
  });
});

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('relocate between two CNCF registries', () => {
  let pair: CncfPair;
  let a: Distribution;
  let b: Distribution;
  let seeded: SeededImages;
  let work: string;
  let cli: (args: string[]) => Promise<CliResult>;

  beforeAll(async () => {
    pair = await startCncfPair('relocate-cncf');
    ({ a, b, seeded, work, cli } = pair);
  });
  afterAll(async () => {
    await pair?.close();
    await cleanupTempDirs();
  });

  const pod = (images: string[]) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n${images
      .map((image, i) => `    - name: c${i}\n      image: "${image}"  # keep me\n`)
      .join('')}`;

  it('copies the index, the nested index and the schema 2 list whole, digests kept, as skopeo reads them back', async () => {
    const images = [seeded.sample.ref, seeded.nested.ref, seeded.dockerList.ref];
    await writeFile(join(work, 'pod.yaml'), pod(images));
    b.resetCounts();
    const r = await cli(relocating('pod.yaml', `${b.host}/mirror`, '-w'));
    expect(r.code, r.stderr).toBe(0);
    const expected = pod(
      [seeded.sample, seeded.nested, seeded.dockerList].map(
        (s) => `${b.host}/mirror/${s.repo}:${s.tag}@${s.digest}`,
      ),
    );
    expect(await readFile(join(work, 'pod.yaml'), 'utf8')).toBe(expected);
    for (const s of [seeded.sample, seeded.nested, seeded.dockerList]) {
      const at = `${b.host}/mirror/${s.repo}:${s.tag}`;
      expect(await skopeoSees(at)).toEqual({ raw: s.digest, digest: s.digest });
    }
    expect(b.requestLog.some((l) => l.method === 'PUT')).toBe(true);

    // Again, from the original text: every blob and manifest is found by HEAD, nothing is written.
    await writeFile(join(work, 'pod2.yaml'), pod(images));
    b.resetCounts();
    const again = await cli(relocating('pod2.yaml', `${b.host}/mirror`, '-w'));
    expect(again.code, again.stderr).toBe(0);
    expect(b.requestLog.filter((l) => WRITES.test(`${l.method} `))).toEqual([]);
    expect(await readFile(join(work, 'pod2.yaml'), 'utf8')).toBe(expected);
  });

  it('a copy that fails half-way (a blob gone from the source) changes no file and writes no lock', async () => {
    const image = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      compression: 'none',
      layers: [[{ path: 'lost.bin', content: randomBytes(4096) }]],
    });
    const set = createImageSet();
    addImage(set, image, '1');
    await pushWithClient(a.host, 'lost', set);
    const hex = image.layers[0]!.digest.slice('sha256:'.length);
    await rm(join(a.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), {
      recursive: true,
    });
    const text = pod([seeded.single.ref, `${a.host}/lost:1`]);
    await writeFile(join(work, 'half.yaml'), text);
    const r = await cli(relocating('half.yaml', `${b.host}/half`, '-w', '--lock-file', 'half.lock'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`half\\.yaml:10: ${a.host}/lost:1: .*not found`));
    expect(r.stderr).not.toContain('half.yaml:8:');
    expect(await readFile(join(work, 'half.yaml'), 'utf8')).toBe(text);
    await expect(readFile(join(work, 'half.lock'))).rejects.toThrow();
  });
});
