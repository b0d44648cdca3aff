/**
 * `webhook manifests --image REF`: the Deployment names the image by digest, resolved at the
 * registry through imgdigest's own resolver (here the embedded registry, with a sample image
 * pushed to it); a digest given is kept without asking anyone; `--no-resolve` keeps the tag and
 * says so; a lookup that fails exits 3 with one line and prints no YAML.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';
import { pushWithClient } from '../support/images.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Obj = Record<string, any>;

function deploymentImage(yaml: string): string {
  const deployment = parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj)
    .find((o) => o.kind === 'Deployment')!;
  return deployment.spec.template.spec.containers[0].image;
}

describe('webhook manifests --image', () => {
  let registry: RunningRegistry;
  let images: SampleImages;
  let stopped: string; // host:port of a registry that is no longer listening

  beforeAll(async () => {
    const gone = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    stopped = gone.host;
    await gone.close();
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    images = await buildSampleImages('imgdigest');
    await pushWithClient(registry.host, 'imgdigest/webhook', images);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('resolves the tag at the registry and deploys NAME:TAG@DIGEST', async () => {
    const image = `${registry.host}/imgdigest/webhook:1.0`;
    const result = await runCli(['webhook', 'manifests', '--image', image, '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(deploymentImage(result.stdout)).toBe(`${image}@${images.tags['1.0']}`);
    // The same digest `imgdigest digest` reports.
    const digest = await runCli(['digest', image]);
    expect(deploymentImage(result.stdout)).toBe(`${image}@${digest.stdout.trim()}`);
  });

  it('resolves a name without a tag as :latest', async () => {
    const result = await runCli([
      'webhook',
      'manifests',
      '--image',
      `${registry.host}/imgdigest/webhook`,
      '-q',
    ]);
    expect(deploymentImage(result.stdout)).toBe(
      `${registry.host}/imgdigest/webhook:latest@${images.tags.latest}`,
    );
  });

  it('uses an image that has a digest as given, asking no registry', async () => {
    const pinned = `${stopped}/imgdigest/webhook:1.0@${images.tags['1.0']}`;
    const result = await runCli(['webhook', 'manifests', '--image', pinned, '-q', '--retries', '0']);
    expect(result.code).toBe(0);
    expect(deploymentImage(result.stdout)).toBe(pinned);
  });

  it('keeps the tag with --no-resolve, and warns on stderr', async () => {
    const image = `${stopped}/imgdigest/webhook:1.0`;
    const result = await runCli(['webhook', 'manifests', '--image', image, '--no-resolve']);
    expect(result.code).toBe(0);
    expect(deploymentImage(result.stdout)).toBe(image);
    expect(result.stderr).toContain(
      `imgdigest: --no-resolve: the Deployment pulls ${image} by tag, not by digest\n`,
    );
  });

  it('exits 3 with one line and no YAML when the tag is not there or the registry does not answer', async () => {
    for (const image of [`${registry.host}/imgdigest/webhook:9.9`, `${stopped}/imgdigest/webhook:1.0`]) {
      const result = await runCli(['webhook', 'manifests', '--image', image, '--retries', '0']);
      expect(result.code, image).toBe(3);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines[0]).toMatch(
        new RegExp(`^imgdigest: cannot resolve image ${image.replace(/[.:/]/g, '\\$&')}: `),
      );
      expect(lines.filter((l) => !l.includes('--debug'))).toHaveLength(1);
    }
  });

  it('exits 2 for an image that is not a reference', async () => {
    const result = await runCli(['webhook', 'manifests', '--image', 'Registry.example.com/UPPER:1']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });
});
