/**
 * `imgdigest delete REPOSITORY@DIGEST` (crane delete): by digest only, asked on a terminal or
 * `--yes`, nothing sent without one of them; on the embedded registry with the demo images, and on
 * the CNCF registry with deletes on (the manifest and every tag naming it are gone, as skopeo sees
 * it) and off as it ships (405 UNSUPPORTED, reported with the registry's answer, exit 3).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addImage, buildSampleImages, createImageSet, type SampleImages } from '../../src/builder/index.js';
import { MediaType } from '../../src/core/media-types.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);

/** What skopeo says a reference names, or its error line. */
async function skopeoDigest(ref: string): Promise<string> {
  try {
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--format',
      '{{.Digest}}',
      `docker://${ref}`,
    ]);
    return stdout.trim();
  } catch (error) {
    return /manifest unknown/i.test(String((error as { stderr?: string }).stderr))
      ? 'manifest unknown'
      : String(error);
  }
}

describe('imgdigest delete on the embedded registry (demo images)', () => {
  let reg: RunningRegistry;
  const digestOf = (repo: string, tag: string) =>
    reg.loaded.find((i) => i.repository === repo && i.tag === tag)!.digest;

  beforeAll(async () => {
    reg = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
  });
  afterAll(() => reg?.close());

  it('refuses a tag alone (exit 2), naming the digest form, and deletes nothing', async () => {
    const r = await runCli(['delete', '--yes', `${reg.host}/sample/app:single`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `imgdigest: delete needs a digest: give ${reg.host}/sample/app@sha256:<hex>, not the tag single (registries delete by digest, and every tag naming it goes too; imgdigest digest --full-ref ${reg.host}/sample/app:single prints it)\n`,
    );
    expect((await runCli(['digest', `${reg.host}/sample/app:single`])).stdout).toBe(
      `${digestOf('sample/app', 'single')}\n`,
    );
  });

  it('without --yes and without a terminal it sends nothing (exit 2); --password-stdin cannot answer either', async () => {
    const target = `${reg.host}/sample/app@${digestOf('sample/app', 'single')}`;
    const r = await runCli(['delete', target], { stdin: 'y\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `imgdigest: delete asks before deleting and stdin is not a terminal: add --yes to delete ${target} without asking\n`,
    );
    const pw = await runCli(['delete', '-u', 'u', '--password-stdin', target], { stdin: 'pw\n', tty: true });
    expect(pw.code).toBe(2);
    expect(pw.stderr).toBe(
      'imgdigest: delete cannot ask for confirmation when --password-stdin takes stdin: add --yes\n',
    );
    expect((await runCli(['digest', `${reg.host}/sample/app:single`])).code).toBe(0);
  });

  it('asks on a terminal: anything but y or yes deletes nothing', async () => {
    const digest = digestOf('sample/app', 'single');
    for (const answer of ['n\n', '\n', 'yess\n']) {
      const r = await runCli(['delete', `${reg.host}/sample/app@${digest}`], { stdin: answer, tty: true });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `delete ${reg.host}/sample/app@${digest} (${MediaType.OCI_MANIFEST})? [y/N] ${answer.trim()}\nimgdigest: nothing deleted\n`,
      );
    }
    expect((await runCli(['digest', `${reg.host}/sample/app:single`])).code).toBe(0);
  });

  it('Ctrl-C or the end of input at the question cancels (exit 2) and deletes nothing', async () => {
    const target = `${reg.host}/sample/app@${digestOf('sample/app', 'single')}`;
    for (const answer of ['\u0003', 'y']) {
      const r = await runCli(['delete', target], { stdin: answer, tty: true });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/\nimgdigest: cancelled at the prompt; nothing was done\n$/);
    }
    expect((await runCli(['digest', `${reg.host}/sample/app:single`])).code).toBe(0);
  });

  it('a y on the terminal deletes the manifest, and every tag that named it goes with it', async () => {
    const digest = digestOf('sample/app', 'latest');
    expect(digestOf('sample/app', '1.0')).toBe(digest);
    const r = await runCli(['delete', `${reg.host}/sample/app@${digest}`], { stdin: 'y\r', tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`deleted ${reg.host}/sample/app@${digest}\n`);
    for (const tag of ['latest', '1.0']) {
      const gone = await runCli(['digest', `${reg.host}/sample/app:${tag}`]);
      expect(gone.code).toBe(3);
    }
    expect((await runCli(['tags', `${reg.host}/sample/app`])).stdout).toBe('1.1\nsingle\n');
  });

  it('--yes --json deletes without asking; a digest the registry lacks is exit 3 before anything is asked', async () => {
    const digest = digestOf('sample/worker', '2');
    const r = await runCli(['delete', '--yes', '--json', `${reg.host}/sample/worker:2@${digest}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      reference: `${reg.host}/sample/worker:2@${digest}`,
      repository: `${reg.host}/sample/worker`,
      digest,
      mediaType: MediaType.OCI_MANIFEST,
      deleted: true,
      referrersTagUpdated: false,
    });
    const again = await runCli(['delete', `${reg.host}/sample/worker@${digest}`], {
      stdin: 'y\n',
      tty: true,
    });
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(
      /^imgdigest: manifest unknown: .*sample\/worker@sha256:ece31a97.* not found/,
    );
    expect(again.stderr).not.toContain('[y/N]');
  });

  it('refuses a local source (exit 2)', async () => {
    const r = await runCli(['delete', '--yes', 'oci:./layout@sha256:' + 'a'.repeat(64)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^imgdigest: delete works on registries only; .* is a oci source\n$/);
  });
});

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('imgdigest delete on the CNCF registry', () => {
  let on: Distribution;
  let off: Distribution;
  let sample: SampleImages;

  beforeAll(async () => {
    [on, off] = await Promise.all([
      startDistribution({ auth: 'anonymous' }),
      startDistribution({ auth: 'anonymous', deleteEnabled: false }),
    ]);
    sample = await buildSampleImages('deleted');
    const set = createImageSet();
    addImage(set, sample.single, 'v1', 'also');
    await Promise.all([pushWithClient(on.host, 'deleted', set), pushWithClient(off.host, 'deleted', set)]);
  });
  afterAll(async () => {
    await on?.stop();
    await off?.stop();
  });

  it('deletes by digest: one DELETE of the manifest, and skopeo finds neither tag afterwards', async () => {
    const digest = sha256(sample.single.manifest.bytes);
    expect(await skopeoDigest(`${on.host}/deleted:also`)).toBe(digest);
    on.resetCounts();
    const r = await runCli(['delete', '--yes', `${on.host}/deleted@${digest}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`deleted ${on.host}/deleted@${digest}\n`);
    expect(on.counts()[`DELETE /v2/deleted/manifests/${digest}`]).toBe(1);
    expect(await skopeoDigest(`${on.host}/deleted:v1`)).toBe('manifest unknown');
    expect(await skopeoDigest(`${on.host}/deleted:also`)).toBe('manifest unknown');
  });

  it('reports the refusal of a registry with deletes off: its own 405 UNSUPPORTED answer, exit 3, nothing gone', async () => {
    const digest = sha256(sample.single.manifest.bytes);
    const r = await runCli(['delete', '--yes', `${off.host}/deleted@${digest}`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^imgdigest: registry ${off.host.replace(/\./g, '\\.')} refuses to delete: .*\\(UNSUPPORTED, DELETE ${off.url.replace(/\./g, '\\.')}/v2/deleted/manifests/${digest} 405\\); the CNCF registry deletes only with storage\\.delete\\.enabled: true in its configuration \\(REGISTRY_STORAGE_DELETE_ENABLED=true\\)\\n$`,
      ),
    );
    expect(await skopeoDigest(`${off.host}/deleted:v1`)).toBe(digest);
  });
});
