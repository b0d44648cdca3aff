/**
 * pin and outdated against the real CNCF registry (docker-registry), through the real resolver:
 * the digests written are the ones computed from the pushed bytes (test/support/images.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { type SeededImages, seedRegistry } from '../support/images.js';
import { removeTempDir, tempDirSync } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

describe.skipIf(!haveTools('docker-registry'))('pin and outdated against a real registry', () => {
  let registry: Distribution;
  let seeded: SeededImages;
  const dir = tempDirSync('k8s-registry');

  beforeAll(async () => {
    registry = await startDistribution();
    seeded = await seedRegistry(registry);
  });
  afterAll(async () => {
    await registry?.stop();
    await removeTempDir(dir);
  });

  const manifest = (images: string[]) =>
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # comment kept
spec:
  template:
    spec:
      containers:
${images.map((image, i) => `      - name: c${i}\n        image: "${image}"\n`).join('')}`;

  it('pins the index digest by default and the platform manifest with --platform, each reference resolved once', async () => {
    const file = join(dir, 'deploy.yaml');
    const sample = seeded.sample.ref;
    writeFileSync(file, manifest([sample, seeded.single.ref, sample]));
    registry.resetCounts();
    const r = await runCli(['pin', '-f', file, '--lock-file', join(dir, 'images.lock')]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      readFileSync(file, 'utf8')
        .replaceAll(`"${sample}"`, `"${sample}@${seeded.sample.digest}"`)
        .replace(`"${seeded.single.ref}"`, `"${seeded.single.ref}@${seeded.single.digest}"`),
    );
    const manifestRequests = Object.entries(registry.counts())
      .filter(([k]) => k.includes(`/v2/${seeded.sample.repo}/manifests/${seeded.sample.tag}`))
      .reduce((n, [, c]) => n + c, 0);
    expect(manifestRequests).toBe(1);
    expect(readFileSync(join(dir, 'images.lock'), 'utf8')).toContain(
      `digest: ${seeded.sample.digest}\n    digestKind: index\n`,
    );

    const arm = await runCli(['pin', '-f', file, '--platform', 'linux/arm64', '--drop-tag']);
    const repo = sample.slice(0, sample.lastIndexOf(':'));
    expect(arm.stdout).toContain(`"${repo}@${seeded.sample.platforms['linux/arm64']}"`);
  });

  it('fails with exit 3 listing the missing tag, and writes nothing', async () => {
    const file = join(dir, 'missing.yaml');
    const text = manifest([`${registry.host}/sample:does-not-exist`, seeded.sample.ref]);
    writeFileSync(file, text);
    const r = await runCli(['pin', '-f', file, '--write']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:10: ${registry.host}/sample:does-not-exist: manifest unknown`);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('outdated reports a tag that moved away from the pinned digest (exit 1), and nothing for fresh pins', async () => {
    const file = join(dir, 'outdated.yaml');
    const stale = `${seeded.sample.ref}@${seeded.single.digest}`;
    const fresh = `${seeded.single.ref}@${seeded.single.digest}`;
    writeFileSync(file, manifest([stale, fresh]));
    const r = await runCli(['outdated', '-f', file, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.checked).toBe(2);
    expect(out.outdated).toEqual([
      expect.objectContaining({
        image: stale,
        tag: seeded.sample.ref,
        pinned: seeded.single.digest,
        current: seeded.sample.digest,
        line: 10,
      }),
    ]);
    writeFileSync(file, manifest([fresh]));
    expect((await runCli(['outdated', '-f', file])).code).toBe(0);
  });

  it('pin --update replaces a stale digest byte for byte, pins the rest, and updates the lock in the same write', async () => {
    const file = join(dir, 'update.yaml');
    const stale = `${seeded.sample.ref}@${seeded.single.digest}`;
    const text = manifest([stale, seeded.single.ref]).replace(`"${stale}"`, `'${stale}' # keep me`);
    writeFileSync(file, text);
    const lock = join(dir, 'update.lock');
    const r = await runCli(['pin', '-f', file, '--update', '--write', '--lock-file', lock]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(
      text
        .replace(`'${stale}'`, `'${seeded.sample.ref}@${seeded.sample.digest}'`)
        .replace(`"${seeded.single.ref}"`, `"${seeded.single.ref}@${seeded.single.digest}"`),
    );
    expect(r.stderr).toBe(
      `${file}:10: ${seeded.sample.ref} moved ${seeded.single.digest} -> ${seeded.sample.digest}\n` +
        'pinned 1 image(s), updated 1 in 1 file(s); 2 unique reference(s) resolved\n',
    );
    const recorded = readFileSync(lock, 'utf8');
    expect(recorded).toContain(`digest: ${seeded.sample.digest}\n`);
    expect(recorded).toContain(`${file}:10`);
    const again = await runCli(['pin', '-f', file, '--update', '--check']);
    expect(again.code).toBe(0);
  });

  it('pin --update --platform compares and writes platform manifest digests; --json lists old and new', async () => {
    const file = join(dir, 'update-arm.yaml');
    const stale = `${seeded.sample.ref}@${seeded.sample.platforms['linux/amd64']}`;
    writeFileSync(file, manifest([stale]));
    const r = await runCli(['pin', '-f', file, '--update', '--platform', 'linux/arm64', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.changes).toEqual([
      expect.objectContaining({
        file,
        line: 10,
        image: stale,
        to: `${seeded.sample.ref}@${seeded.sample.platforms['linux/arm64']}`,
        previous: seeded.sample.platforms['linux/amd64'],
        digest: seeded.sample.platforms['linux/arm64'],
        object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: undefined },
      }),
    ]);
    expect(out.files).toEqual([{ path: file, changed: true }]);
    expect(readFileSync(file, 'utf8')).toBe(manifest([stale])); // --json without --write writes nothing
  });

  it('outdated --write updates only the stale pins and leaves unpinned images alone', async () => {
    const file = join(dir, 'outdated-write.yaml');
    const stale = `${seeded.sample.ref}@${seeded.single.digest}`;
    writeFileSync(file, manifest([stale, seeded.single.ref]));
    const r = await runCli(['outdated', '-f', file, '--write']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `${file}:10: ${seeded.sample.ref} moved ${seeded.single.digest} -> ${seeded.sample.digest}\n`,
    );
    expect(r.stderr).toBe('1 of 1 pinned image(s) outdated, updated\n');
    expect(readFileSync(file, 'utf8')).toBe(
      manifest([`${seeded.sample.ref}@${seeded.sample.digest}`, seeded.single.ref]),
    );
    expect((await runCli(['outdated', '-f', file])).code).toBe(0);

    writeFileSync(file, manifest([`${registry.host}/sample:gone@${seeded.single.digest}`, stale]));
    const gone = await runCli(['outdated', '-f', file, '--write']);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain(
      `${file}:10: ${registry.host}/sample:gone@${seeded.single.digest}: manifest unknown`,
    );
    expect(readFileSync(file, 'utf8')).toContain(stale);
  });

  it('checks and pins a kustomization images entry and Helm values, and updates them when the tag moves', async () => {
    const work = join(dir, 'outside-workloads');
    mkdirSync(work, { recursive: true });
    const [repo, tag] = [seeded.sample.ref.slice(0, seeded.sample.ref.lastIndexOf(':')), seeded.sample.tag];
    const kustomization = `resources: [deploy.yaml]\nimages:\n  - name: app\n    newName: ${repo}\n    newTag: "${tag}" # release\n`;
    const values = `image:\n  registry: ${registry.host}\n  repository: sample\n  tag: single\n  digest: ""\n`;
    writeFileSync(join(work, 'kustomization.yaml'), kustomization);
    writeFileSync(join(work, 'values.yaml'), values);
    writeFileSync(join(work, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 0.1.0\n');

    const check = await runCli(['check', '-f', '.'], { cwd: work });
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(
      `kustomization.yaml:5:13: Kustomization kustomization.yaml: images entry <app> uses an image without a digest <${seeded.sample.ref}>\n` +
        `values.yaml:4:8: Values values.yaml: value <image> uses an image without a digest <${seeded.single.ref}>\n`,
    );

    const pin = await runCli(['pin', '-f', '.', '--write'], { cwd: work });
    expect(pin.code, pin.stderr).toBe(0);
    expect(readFileSync(join(work, 'kustomization.yaml'), 'utf8')).toBe(
      `${kustomization}    digest: ${seeded.sample.digest}\n`,
    );
    expect(readFileSync(join(work, 'values.yaml'), 'utf8')).toBe(
      values.replace('digest: ""', `digest: "${seeded.single.digest}"`),
    );
    expect(pin.stderr).toContain(
      'imgdigest: note: Chart.yaml: no Kubernetes object or image path, skipped\n',
    );
    expect((await runCli(['check', '-f', '.'], { cwd: work })).code).toBe(0);

    // The values pin the single-platform image's digest under the sample tag: stale, so updated.
    writeFileSync(
      join(work, 'values.yaml'),
      values.replace('tag: single', `tag: ${tag}`).replace('""', seeded.single.digest),
    );
    const update = await runCli(['outdated', '-f', 'values.yaml', '--write'], { cwd: work });
    expect(update.code, update.stderr).toBe(0);
    expect(readFileSync(join(work, 'values.yaml'), 'utf8')).toBe(
      values.replace('tag: single', `tag: ${tag}`).replace('""', seeded.sample.digest),
    );
  });
});
