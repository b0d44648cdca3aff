/**
 * describeImage over an OCI layout written by the builder: what `inspect` summarises, for an index
 * with and without a chosen platform, and for a single image.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { buildSampleImages, type SampleImages, writeOciLayout } from '../builder/index.js';
import { describeImage } from './describe.js';
import { openOciLayout } from './local/oci-layout.js';

describe('describeImage', () => {
  let sample: SampleImages;
  let layout: string;
  beforeAll(async () => {
    sample = await buildSampleImages('described');
    layout = join(await tempDir('describe'), 'layout');
    await writeOciLayout(layout, sample);
  });
  afterAll(cleanupTempDirs);

  const describeTag = async (tag: string, options: Parameters<typeof describeImage>[1] = {}) => {
    const source = await openOciLayout(layout, tag);
    try {
      return await describeImage(source, options);
    } finally {
      await source.close?.();
    }
  };

  it('names an index as such, lists its platforms and counts its attestation, describing no image unasked', async () => {
    const d = await describeTag('1.0', { preferredPlatform: 'linux/s390x' });
    expect(d).toEqual({
      digest: sample.index.digest,
      kind: 'index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: sample.index.size,
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      attestations: 1,
      image: null,
      referrers: [],
    });
  });

  it('describes the preferred platform when the index offers it, and the asked one over it', async () => {
    const preferred = await describeTag('1.0', { preferredPlatform: 'linux/arm64' });
    expect(preferred.image?.platform).toBe('linux/arm64');
    expect(preferred.image?.digest).toBe(sample.images[1]!.manifest.digest);
    const asked = await describeTag('1.0', { platform: 'linux/arm/v7', preferredPlatform: 'linux/arm64' });
    expect(asked.digest).toBe(sample.index.digest);
    expect(asked.image).toMatchObject({
      platform: 'linux/arm/v7',
      digest: sample.images[2]!.manifest.digest,
      config: sample.images[2]!.config.digest,
      env: expect.arrayContaining(['SAMPLE_PLATFORM=linux/arm/v7']),
    });
  });

  it('describes a single image from its config: platform, runtime settings, layers and their total', async () => {
    const d = await describeTag('single');
    const layers = sample.single.layers;
    expect(d.kind).toBe('manifest');
    expect(d.platforms).toEqual(['linux/amd64']);
    expect(d.image).toEqual({
      platform: 'linux/amd64',
      digest: sample.single.manifest.digest,
      config: sample.single.config.digest,
      created: '2024-01-01T00:00:00Z',
      entrypoint: ['/bin/sh'],
      cmd: ['/app/run.sh'],
      workingDir: '/app',
      user: null,
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'SAMPLE_PLATFORM=linux/amd64',
      ],
      exposedPorts: ['8080/tcp'],
      labels: {
        'org.opencontainers.image.source': 'https://example.invalid/imgdigest/sample',
        'org.opencontainers.image.title': 'described',
        'org.opencontainers.image.version': '1.0',
      },
      layers: layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      totalSize: layers.reduce((n, l) => n + l.size, 0),
    });
  });

  it('refuses a platform the index does not offer, listing what it offers', async () => {
    await expect(describeTag('1.0', { platform: 'windows/amd64' })).rejects.toMatchObject({
      code: 'PLATFORM_NOT_FOUND',
      message: expect.stringContaining('linux/amd64, linux/arm64, linux/arm/v7'),
    });
  });
});
