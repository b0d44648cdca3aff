/**
 * A platform's digest comes from the index: `digest --platform` (and the resolver behind pin,
 * outdated and the webhook) reads the index once and answers from the chosen entry's descriptor,
 * without a HEAD or GET of the child. (`GET /v2/` is the client's ping, once per registry.) Counted on the real CNCF registry (its counting proxy logs
 * every request) and on the embedded registry (its access log), with a sparse index: one whose
 * platform manifest is gone from the registry, as a mirror that copied only the index holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { parseReference } from '../../src/core/reference.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { loadImageSet } from '../../src/registry-server/load.js';
import type { RepoName } from '../../src/registry-server/names.js';
import { openResolver } from '../../src/resolver/index.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { haveTools } from '../support/tools.js';

/** The sample index's entry for a platform, as the index itself describes it. */
function entryOf(sample: SampleImages, platform: string) {
  const index = JSON.parse(Buffer.from(sample.index.bytes).toString('utf8')) as {
    manifests: Array<{ digest: Digest; mediaType: string; size: number; platform?: Record<string, string> }>;
  };
  const found = index.manifests.find(
    (m) =>
      [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/') === platform,
  );
  if (!found) throw new Error(`no ${platform} in the sample index`);
  return found;
}

describe.skipIf(!haveTools('docker-registry'))('platform digests from the index: the CNCF registry', () => {
  let reg: Distribution;
  let sample: SampleImages;
  let ref: string;
  let gone: ReturnType<typeof entryOf>;

  beforeAll(async () => {
    reg = await startDistribution({ auth: 'anonymous' });
    sample = await buildSampleImages('sparse');
    await pushWithClient(reg.host, 'sparse', sample);
    ref = `${reg.host}/sparse:latest`;
    // Make the index sparse: its linux/arm64 manifest leaves the registry, the index stays.
    gone = entryOf(sample, 'linux/arm64');
    const res = await fetch(`${reg.registryUrl}/v2/sparse/manifests/${gone.digest}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('digest --platform sends one manifest GET (after the /v2/ ping), and answers for a child the registry no longer has', async () => {
    const child = await fetch(`${reg.registryUrl}/v2/sparse/manifests/${gone.digest}`, {
      headers: { accept: gone.mediaType },
    });
    expect(child.status).toBe(404);
    reg.resetCounts();
    const r = await runCli(['digest', '--platform', 'linux/arm64', ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${gone.digest}\n`);
    expect(reg.counts()).toEqual({ 'GET /v2/': 1, 'GET /v2/sparse/manifests/latest': 1 });
  });

  it('--json takes the media type and size from the index entry', async () => {
    reg.resetCounts();
    const r = await runCli(['digest', '--json', '--platform', 'linux/arm64', ref]);
    expect(JSON.parse(r.stdout)).toEqual({
      reference: ref,
      digest: gone.digest,
      kind: 'manifest',
      mediaType: gone.mediaType,
      size: gone.size,
      platform: { os: 'linux', architecture: 'arm64' },
      index: sample.index.digest,
    });
    expect(reg.counts()).toEqual({ 'GET /v2/': 1, 'GET /v2/sparse/manifests/latest': 1 });
  });

  it('manifest --platform still fetches the child, so it fails on the sparse index (exit 3)', async () => {
    reg.resetCounts();
    const missing = await runCli(['manifest', '--platform', 'linux/arm64', ref]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/manifest unknown|not found/i);
    expect(reg.counts()['GET /v2/sparse/manifests/latest']).toBe(1);
    expect(reg.counts()[`GET /v2/sparse/manifests/${gone.digest}`]).toBeGreaterThanOrEqual(1);

    reg.resetCounts();
    const amd64 = entryOf(sample, 'linux/amd64');
    const present = await runCli(['manifest', '--platform', 'linux/amd64', ref]);
    expect(present.code, present.stderr).toBe(0);
    expect(reg.counts()).toEqual({
      'GET /v2/': 1,
      'GET /v2/sparse/manifests/latest': 1,
      [`GET /v2/sparse/manifests/${amd64.digest}`]: 1,
    });
  });

  it('the resolver behind pin, outdated and the webhook sends the same one GET per platform digest', async () => {
    const resolver = await openResolver({ registry: { anonymous: true } });
    try {
      reg.resetCounts();
      const answer = await resolver.resolve(parseReference(ref), { platform: 'linux/arm64' });
      expect(answer.digest).toBe(gone.digest);
      expect(reg.counts()).toEqual({ 'GET /v2/': 1, 'GET /v2/sparse/manifests/latest': 1 });
    } finally {
      await resolver.close();
    }
  });
});

describe('platform digests from the index: the embedded registry', () => {
  let reg: RunningRegistry;
  let sample: SampleImages;
  const logged: string[] = [];
  const requests = () => logged.map((line) => line.replace(/ [\d.]+ms$/, ''));

  beforeAll(async () => {
    reg = await startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      accessLog: true,
      logger: { info: (m) => logged.push(m), warn() {}, error() {} },
    });
    sample = await buildSampleImages('sparse');
    await loadImageSet(reg.registry, 'sparse', sample);
    await reg.registry.deleteManifest('sparse' as RepoName, entryOf(sample, 'linux/arm/v7').digest, true);
  });
  afterAll(async () => {
    await reg?.close();
  });

  it('digest --platform is one GET of the index; the deleted child is not asked for', async () => {
    logged.length = 0;
    const r = await runCli(['digest', '--platform', 'linux/arm/v7', `${reg.host}/sparse:1.0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${entryOf(sample, 'linux/arm/v7').digest}\n`);
    expect(requests()).toEqual(['GET /v2/ 200', 'GET /v2/sparse/manifests/1.0 200']);
  });

  it('files --platform needs the child and says it is unknown', async () => {
    logged.length = 0;
    const r = await runCli(['files', '--platform', 'linux/arm/v7', `${reg.host}/sparse:1.0`]);
    expect(r.code).toBe(3);
    expect(requests().slice(0, 2)).toEqual(['GET /v2/ 200', 'GET /v2/sparse/manifests/1.0 200']);
    expect(requests()).toContain(`GET /v2/sparse/manifests/${entryOf(sample, 'linux/arm/v7').digest} 404`);
  });
});

describe.skipIf(!haveTools('docker-registry'))(
  'platform digests from the index: a CNCF registry mirror that cached only the index',
  () => {
    let upstream: Distribution;
    let mirror: Distribution;
    let sample: SampleImages;
    let ref: string;
    let upstreamStopped = false;

    beforeAll(async () => {
      upstream = await startDistribution({ proxy: false });
      mirror = await startDistribution({ mirrorOf: upstream.registryUrl });
      sample = await buildSampleImages('mirrored');
      await pushWithClient(upstream.host, 'mirrored', sample);
      ref = `${mirror.host}/mirrored:latest`;
      // One pull of the index through the mirror caches the index alone; then the upstream goes away.
      const primed = await runCli(['manifest', ref]);
      expect(primed.code, primed.stderr).toBe(0);
      await upstream.stop();
      upstreamStopped = true;
    });
    afterAll(async () => {
      await mirror?.stop();
      if (!upstreamStopped) await upstream?.stop();
    });

    it('answers every platform from the cached index with one manifest GET each', async () => {
      for (const image of sample.images) {
        mirror.resetCounts();
        const r = await runCli(['digest', '--platform', image.platformName, ref]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`${entryOf(sample, image.platformName).digest}\n`);
        expect(mirror.counts()).toEqual({ 'GET /v2/': 1, 'GET /v2/mirrored/manifests/latest': 1 });
      }
    });

    it('cannot give the platform manifest itself, which the mirror never cached (exit 3)', async () => {
      const r = await runCli(['manifest', '--platform', 'linux/arm64', ref]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(entryOf(sample, 'linux/arm64').digest);
    });
  },
);
