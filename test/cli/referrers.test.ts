/**
 * `imgdigest referrers REF` (oras discover, regctl artifact list): the OCI 1.1 referrers API on
 * the embedded registry (the demo's SBOM of sample/worker:2), the referrers tag schema on the CNCF
 * registry 2.8 (which has no referrers API: the client keeps the `sha256-<hex>` index as it pushes
 * and deletes referrers, and skopeo reads that index back), cosign's legacy `.sig`/`.att`/`.sbom`
 * tags, `--artifact-type`, `--json` and `--fetch`.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addImage,
  type BuiltImage,
  blobOf,
  buildArtifact,
  buildManifest,
  buildSampleImages,
  buildSampleSbom,
  createImageSet,
  jsonBlob,
  SPDX_JSON,
} from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { MediaType } from '../../src/core/media-types.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);
const COSIGN_SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SIGNATURE = 'application/vnd.example.signature.v1';

/** The referrers tag index as skopeo reads it, or null when the tag does not exist. */
async function skopeoTagIndex(host: string, repo: string, subject: Digest): Promise<unknown> {
  const tag = `sha256-${subject.slice('sha256:'.length)}`;
  try {
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${host}/${repo}:${tag}`,
    ]);
    return JSON.parse(stdout);
  } catch (error) {
    if (/manifest unknown/i.test(String((error as { stderr?: string }).stderr))) return null;
    throw error;
  }
}

/** A signature-like artifact about `subject` (one layer), as `oras attach` would push it. */
function signatureFor(subject: BuiltImage, text: string): BuiltImage {
  return buildArtifact({
    artifactType: SIGNATURE,
    subject: subject.manifest,
    files: [{ name: 'signature.txt', mediaType: 'text/plain', content: text }],
    annotations: { 'org.opencontainers.image.title': text },
  });
}

/** A manifest shaped as cosign's legacy signatures are (no subject, no artifactType). */
function cosignLegacySignature(subject: Digest): BuiltImage {
  const payload = blobOf(
    Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': subject } } })),
    'application/vnd.dev.cosign.simplesigning.v1+json',
  );
  const layer = {
    ...payload,
    diffId: payload.digest,
    annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' },
  };
  const config = jsonBlob(
    { architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [payload.digest] } },
    MediaType.OCI_CONFIG,
  );
  return { config, layers: [layer], manifest: buildManifest({ config, layers: [layer] }) };
}

afterAll(cleanupTempDirs);

describe('imgdigest referrers on the embedded registry (referrers API)', () => {
  let reg: RunningRegistry;
  let subject: Digest;
  let sbom: BuiltImage;

  beforeAll(async () => {
    reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
    subject = reg.loaded.find((i) => i.repository === 'sample/worker' && i.tag === '2')!.digest;
    const worker = await buildSampleImages('worker');
    sbom = buildSampleSbom(worker.single.manifest, 'worker');
  });
  afterAll(() => reg?.close());

  it("lists the demo SBOM of sample/worker:2, found through the registry's referrers API", async () => {
    expect(JSON.parse(Buffer.from(sbom.manifest.bytes).toString()).subject.digest).toBe(subject);
    const r = await runCli(['referrers', `${reg.host}/sample/worker:2`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DIGEST\s+ARTIFACT TYPE\s+SIZE\s+ANNOTATIONS$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${sha256(sbom.manifest.bytes)}\\s+application/spdx\\+json\\s+${sbom.manifest.size}\\s+created=2024-01-01T00:00:00Z$`,
        ),
      ),
    ]);
    const json = JSON.parse(
      (await runCli(['referrers', '--json', `${reg.host}/sample/worker@${subject}`])).stdout,
    );
    expect(json).toEqual({
      reference: `${reg.host}/sample/worker@${subject}`,
      subject: `${reg.host}/sample/worker@${subject}`,
      digest: subject,
      via: 'referrers-api',
      referrers: [
        {
          mediaType: MediaType.OCI_MANIFEST,
          digest: sha256(sbom.manifest.bytes),
          size: sbom.manifest.bytes.length,
          artifactType: SPDX_JSON,
          annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
          source: 'referrers-api',
        },
      ],
    });
  });

  it('--artifact-type keeps only that type, and an image nothing refers to lists nothing', async () => {
    const other = await runCli([
      'referrers',
      '--artifact-type',
      'application/vnd.cyclonedx+json',
      `${reg.host}/sample/worker:2`,
    ]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toBe('');
    expect(other.stderr).toMatch(
      /^imgdigest: nothing of type application\/vnd\.cyclonedx\+json refers to .*sample\/worker@sha256:/,
    );
    const same = await runCli([
      'referrers',
      '--json',
      '--artifact-type',
      SPDX_JSON,
      `${reg.host}/sample/worker:2`,
    ]);
    expect(JSON.parse(same.stdout).referrers.map((r: { digest: string }) => r.digest)).toEqual([
      sha256(sbom.manifest.bytes),
    ]);
    const none = await runCli(['referrers', `${reg.host}/sample/app:single`]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^imgdigest: nothing refers to .*sample\/app@sha256:5d7188d6/);
  });

  it('--fetch DIR saves the manifest bytes and each file under its title, verified against their digests', async () => {
    const dir = await tempDir('referrers-fetch');
    const r = await runCli(['referrers', '--fetch', 'out', `${reg.host}/sample/worker:2`], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const folder = `sha256-${sha256(sbom.manifest.bytes).slice(7)}`;
    expect(await readdir(join(dir, 'out'))).toEqual([folder]);
    expect((await readdir(join(dir, 'out', folder))).sort()).toEqual(['manifest.json', 'sbom.spdx.json']);
    const manifest = await readFile(join(dir, 'out', folder, 'manifest.json'));
    expect(sha256(manifest)).toBe(sha256(sbom.manifest.bytes));
    const file = await readFile(join(dir, 'out', folder, 'sbom.spdx.json'));
    expect(sha256(file)).toBe(sbom.layers[0]!.digest);
    expect(JSON.parse(file.toString()).spdxVersion).toBe('SPDX-2.3');
    expect(r.stderr).toBe(
      `imgdigest: wrote out/${folder}/manifest.json\nimgdigest: wrote out/${folder}/sbom.spdx.json\n`,
    );
    const json = JSON.parse(
      (await runCli(['referrers', '--json', '--fetch', 'again', `${reg.host}/sample/worker:2`], { cwd: dir }))
        .stdout,
    );
    expect(json.referrers[0].files).toEqual([
      `again/${folder}/manifest.json`,
      `again/${folder}/sbom.spdx.json`,
    ]);
  });

  it('a referrer pushed by the client to a registry with the API leaves no referrers tag behind', async () => {
    const app = await buildSampleImages('tagless');
    const set = createImageSet();
    addImage(set, app.single, 'v1');
    addImage(set, signatureFor(app.single, 'signed'));
    await pushWithClient(reg.host, 'tagless', set);
    const tags = await runCli(['tags', `${reg.host}/tagless`]);
    expect(tags.stdout).toBe('v1\n');
    const r = await runCli(['referrers', '--json', `${reg.host}/tagless:v1`]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      via: 'referrers-api',
      referrers: [{ artifactType: SIGNATURE }],
    });
  });

  it('refuses a local source (exit 2) and reports a missing tag (exit 3)', async () => {
    const local = await runCli(['referrers', 'oci:./layout:v1']);
    expect(local.code).toBe(2);
    expect(local.stderr).toBe(
      'imgdigest: referrers reads registries only; "oci:./layout:v1" is a oci source\n',
    );
    const missing = await runCli(['referrers', `${reg.host}/sample/worker:nope`]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^imgdigest: manifest unknown: .*sample\/worker:nope not found/);
  });
});

describe.skipIf(!haveTools('docker-registry', 'skopeo'))(
  'imgdigest referrers on the CNCF registry 2.8 (no referrers API: the tag schema and cosign tags)',
  () => {
    let reg: Distribution;
    let image: BuiltImage;
    let first: BuiltImage;
    let second: BuiltImage;
    let legacy: BuiltImage;
    let subject: Digest;

    beforeAll(async () => {
      reg = await startDistribution({ auth: 'anonymous' });
      const app = await buildSampleImages('signed');
      image = app.single;
      subject = sha256(image.manifest.bytes);
      first = signatureFor(image, 'first');
      second = signatureFor(image, 'second');
      legacy = cosignLegacySignature(subject);
      const set = createImageSet();
      addImage(set, image, 'v1');
      addImage(set, first);
      await pushWithClient(reg.host, 'signed', set);
      // cosign's legacy signature: an ordinary manifest under the tag sha256-<hex>.sig.
      const cosign = createImageSet();
      addImage(cosign, legacy, `sha256-${subject.slice(7)}.sig`);
      await pushWithClient(reg.host, 'signed', cosign);
    });
    afterAll(() => reg?.stop());

    it('the registry has no referrers API (404), so the push kept the referrers tag, as skopeo reads it', async () => {
      const api = await fetch(`${reg.url}/v2/signed/referrers/${subject}`);
      expect(api.status).toBe(404);
      expect(await skopeoTagIndex(reg.host, 'signed', subject)).toEqual({
        schemaVersion: 2,
        mediaType: MediaType.OCI_INDEX,
        manifests: [
          {
            mediaType: MediaType.OCI_MANIFEST,
            digest: sha256(first.manifest.bytes),
            size: first.manifest.bytes.length,
            artifactType: SIGNATURE,
            annotations: { 'org.opencontainers.image.title': 'first' },
          },
        ],
      });
    });

    it('lists the tag-schema referrer and the cosign .sig tag, saying where each was found', async () => {
      const r = await runCli(['referrers', '--json', `${reg.host}/signed:v1`]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        reference: `${reg.host}/signed:v1`,
        subject: `${reg.host}/signed@${subject}`,
        digest: subject,
        via: 'referrers-tag',
        referrers: [
          {
            mediaType: MediaType.OCI_MANIFEST,
            digest: sha256(first.manifest.bytes),
            size: first.manifest.bytes.length,
            artifactType: SIGNATURE,
            annotations: { 'org.opencontainers.image.title': 'first' },
            source: 'referrers-tag',
            tag: `sha256-${subject.slice(7)}`,
          },
          {
            mediaType: MediaType.OCI_MANIFEST,
            digest: sha256(legacy.manifest.bytes),
            size: legacy.manifest.bytes.length,
            artifactType: COSIGN_SIG,
            source: 'cosign-tag',
            tag: `sha256-${subject.slice(7)}.sig`,
          },
        ],
      });
      const table = await runCli(['referrers', `${reg.host}/signed:v1`]);
      expect(table.stderr).toBe(
        `imgdigest: ${reg.host} has no referrers API; read the referrers tag ${reg.host}/signed:sha256-${subject.slice(7)}\n`,
      );
      expect(table.stdout).toMatch(
        new RegExp(
          `${sha256(legacy.manifest.bytes)}\\s+${COSIGN_SIG.replace(/[.+]/g, '\\$&')}\\s+\\d+\\s+cosign legacy tag \\.sig\\n$`,
        ),
      );
    });

    it('--artifact-type applies to both, and --no-cosign-tags leaves the legacy tags out', async () => {
      const sig = await runCli([
        'referrers',
        '--json',
        '--artifact-type',
        COSIGN_SIG,
        `${reg.host}/signed:v1`,
      ]);
      expect(JSON.parse(sig.stdout).referrers.map((r: { source: string }) => r.source)).toEqual([
        'cosign-tag',
      ]);
      const mine = await runCli([
        'referrers',
        '--json',
        '--artifact-type',
        SIGNATURE,
        `${reg.host}/signed:v1`,
      ]);
      expect(JSON.parse(mine.stdout).referrers.map((r: { source: string }) => r.source)).toEqual([
        'referrers-tag',
      ]);
      const noCosign = await runCli(['referrers', '--json', '--no-cosign-tags', `${reg.host}/signed:v1`]);
      expect(JSON.parse(noCosign.stdout).referrers.map((r: { source: string }) => r.source)).toEqual([
        'referrers-tag',
      ]);
    });

    it('a second referrer joins the tag index; deleting one takes it out of the index', async () => {
      const set = createImageSet();
      addImage(set, second);
      await pushWithClient(reg.host, 'signed', set);
      const both = (await skopeoTagIndex(reg.host, 'signed', subject)) as {
        manifests: Array<{ digest: string }>;
      };
      expect(both.manifests.map((m) => m.digest)).toEqual([
        sha256(first.manifest.bytes),
        sha256(second.manifest.bytes),
      ]);

      const del = await runCli([
        'delete',
        '--yes',
        '--json',
        `${reg.host}/signed@${sha256(first.manifest.bytes)}`,
      ]);
      expect(del.code, del.stderr).toBe(0);
      expect(JSON.parse(del.stdout)).toMatchObject({ deleted: true, referrersTagUpdated: true });
      const after = (await skopeoTagIndex(reg.host, 'signed', subject)) as {
        manifests: Array<{ digest: string }>;
      };
      expect(after.manifests.map((m) => m.digest)).toEqual([sha256(second.manifest.bytes)]);
      const listed = JSON.parse(
        (await runCli(['referrers', '--json', '--no-cosign-tags', `${reg.host}/signed:v1`])).stdout,
      );
      expect(listed.referrers.map((r: { digest: string }) => r.digest)).toEqual([
        sha256(second.manifest.bytes),
      ]);
    });

    it('--fetch works on the fallback path too, a file without a title saved under its digest', async () => {
      const dir = await tempDir('referrers-fetch-28');
      const r = await runCli([
        'referrers',
        '--fetch',
        dir,
        '--artifact-type',
        COSIGN_SIG,
        `${reg.host}/signed:v1`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const folder = join(dir, `sha256-${sha256(legacy.manifest.bytes).slice(7)}`);
      const payload = legacy.layers[0]!;
      expect((await readdir(folder)).sort()).toEqual(['manifest.json', `sha256-${payload.digest.slice(7)}`]);
      expect(sha256(await readFile(join(folder, `sha256-${payload.digest.slice(7)}`)))).toBe(payload.digest);
    });

    it('--fetch of a blob whose bytes the registry altered fails (exit 3) and leaves nothing in DIR', async () => {
      const report = buildArtifact({
        artifactType: 'application/vnd.example.report',
        subject: image.manifest,
        files: [{ name: 'report.txt', mediaType: 'text/plain', content: 'all good\n' }],
      });
      const set = createImageSet();
      addImage(set, report);
      await pushWithClient(reg.host, 'signed', set);
      const hex = report.layers[0]!.digest.slice(7);
      await writeFile(
        join(reg.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'),
        'all b4d!\n',
      );
      const dir = await tempDir('referrers-tampered');
      const r = await runCli([
        'referrers',
        '--fetch',
        dir,
        '--artifact-type',
        'application/vnd.example.report',
        `${reg.host}/signed:v1`,
      ]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(
          `^imgdigest: blob ${report.layers[0]!.digest} from .* digest mismatch: expected ${report.layers[0]!.digest}, got sha256:[0-9a-f]{64}\\n$`,
        ),
      );
      expect(await readdir(dir)).toEqual([]);
    });
  },
);
