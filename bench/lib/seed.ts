/**
 * @module bench/lib/seed
 * Put many tiny images into a registry, straight to the registry (no counting proxy): every
 * repository gets the same config and layer blobs, and every tag its own manifest (an annotation
 * names the tag), so each of the tags has a distinct digest to resolve.
 */

import { buildConfig, buildLayer, buildManifest } from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { Annotation } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient, type StaticCredentials } from '../../src/sources/registry/index.js';
import type { Distribution } from '../../test/support/distribution.js';
import { mapLimit, removeTree } from './proc.js';

export interface SeededTag {
  repo: string;
  tag: string;
  /** The digest the registry must answer for `repo:tag`. */
  digest: Digest;
}

export interface SeedOptions {
  repos: number;
  tagsPerRepo: number;
  /** Repository name prefix (default `bench/app`). */
  prefix?: string;
  auth?: StaticCredentials;
  concurrency?: number;
}

/** Repository `i` of a seeded set: `bench/app-007`. */
export function repoName(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(3, '0')}`;
}

/** Push `repos` × `tagsPerRepo` tiny images to `baseUrl` and return what each tag names. */
export async function seedTinyImages(baseUrl: string, options: SeedOptions): Promise<SeededTag[]> {
  const prefix = options.prefix ?? 'bench/app';
  const layer = await buildLayer([{ path: 'hello.txt', content: 'hello from the benchmark\n' }], {
    compression: 'gzip',
  });
  const config = buildConfig({ os: 'linux', architecture: 'amd64', diffIds: [layer.diffId] });
  const concurrency = options.concurrency ?? 8;
  const client = pushClient(options.auth, concurrency);
  const host = new URL(baseUrl).host;
  try {
    const perRepo = await mapLimit(
      Array.from({ length: options.repos }, (_, i) => repoName(prefix, i)),
      concurrency,
      async (repo) => {
        const ref = parseReference(`${host}/${repo}`);
        for (const blob of [config, layer]) await client.pushBlob(ref, blob.bytes);
        const tags: SeededTag[] = [];
        for (let t = 0; t < options.tagsPerRepo; t++) {
          const tag = `1.0.${t}`;
          const manifest = buildManifest({
            config,
            layers: [layer],
            annotations: {
              [Annotation.REF_NAME]: tag,
              'dev.imgdigest.bench': `${repo}:${tag}`,
            },
          });
          await client.pushManifest(ref.withTag(tag).withDigest(manifest.digest), manifest.bytes, {
            mediaType: manifest.mediaType,
          });
          tags.push({ repo, tag, digest: manifest.digest });
        }
        return tags;
      },
    );
    return perRepo.flat();
  } finally {
    await client.close();
  }
}

/** A registry client for seeding: the given credentials, or none (never the user's config files). */
export function pushClient(auth: StaticCredentials | undefined, concurrency = 8): RegistryClient {
  return new RegistryClient({ ...(auth ? { credentials: auth } : { anonymous: true }), concurrency });
}

/** A fixed pseudo-random order (same for every tool), so no tool benefits from repository order. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Stop a CNCF registry, removing its storage with `rm -rf` first (see {@link removeTree}). */
export async function stopDistribution(dist: Distribution): Promise<void> {
  await removeTree(dist.storageDir);
  await dist.stop();
}
