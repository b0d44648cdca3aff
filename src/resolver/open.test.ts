/**
 * `openResolver` against real servers: the CNCF registry, a registry that holds some answers
 * (test/support/awkward-servers.ts), and lock files on disk.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHoldingRegistry } from '../../test/support/awkward-servers.js';
import { type Distribution, startDistribution } from '../../test/support/distribution.js';
import { type SeededImages, seedRegistry } from '../../test/support/images.js';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { isImgdigestError } from '../core/errors.js';
import { parseReference } from '../core/reference.js';
import { openResolver } from './open.js';
import type { CachingResolver } from './resolver.js';
import type { Resolution } from './types.js';

const D1 = `sha256:${'1'.repeat(64)}`;

afterAll(cleanupTempDirs);

/**
 * A resolver allowed one resolution per registry, and a registry whose only slot is already
 * taken by `app:stuck` (held until `release()`); everything is released and closed afterwards.
 */
async function withStuckRegistry(
  test: (
    registry: Awaited<ReturnType<typeof startHoldingRegistry>>,
    resolver: CachingResolver,
    stuck: Promise<Resolution>,
  ) => Promise<void>,
): Promise<void> {
  const registry = await startHoldingRegistry(['stuck']);
  const resolver = await openResolver({ registry: { anonymous: true }, concurrency: 1 });
  try {
    await test(registry, resolver, resolver.resolve(parseReference(`${registry.host}/app:stuck`)));
  } finally {
    registry.release();
    await resolver.close();
    await registry.close();
  }
}

describe('openResolver from lock files', () => {
  it('answers from the locks alone, for a registry that does not exist, and names what is missing', async () => {
    const dir = await tempDir('locks');
    const built = join(dir, 'built.txt');
    await writeFile(built, `registry.invalid.test/team/app:1.0@${D1}\n`);
    const resolver = await openResolver({ locks: [built] });
    try {
      const answer = await resolver.resolve(parseReference('registry.invalid.test/team/app:1.0'), {
        platform: 'linux/arm64',
      });
      expect(answer).toMatchObject({ digest: D1, via: 'lock', platform: 'linux/arm64' });
      const missing = await resolver
        .resolve(parseReference('registry.invalid.test/team/app:2.0'))
        .catch((e: unknown) => e);
      expect(isImgdigestError(missing) && missing.code).toBe('LOCK_MISSING');
    } finally {
      await resolver.close();
    }
  });

  it('refuses a lock it cannot read with INPUT_INVALID', async () => {
    const dir = await tempDir('locks');
    await expect(openResolver({ locks: [join(dir, 'absent.lock')] })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
  });
});

describe.skipIf(!haveTools('docker-registry'))('openResolver from registries', () => {
  let registry: Distribution;
  let seeded: SeededImages;

  beforeAll(async () => {
    registry = await startDistribution({ auth: 'anonymous' });
    seeded = await seedRegistry(registry);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('resolves a tag to its index, and to one platform when asked, with one request each', async () => {
    const resolver = await openResolver({ registry: { anonymous: true } });
    try {
      registry.resetCounts();
      const ref = parseReference(seeded.sample.ref);
      const index = await resolver.resolve(ref);
      expect(index).toMatchObject({ digest: seeded.sample.digest, kind: 'index', via: 'registry' });
      expect((await resolver.resolve(ref)).via).toBe('cache');
      expect(registry.counts()[`HEAD /v2/sample/manifests/latest`]).toBe(1);
      const arm = await resolver.resolve(ref, { platform: 'linux/arm64' });
      expect(arm).toMatchObject({
        digest: seeded.sample.platforms['linux/arm64'],
        kind: 'manifest',
        platform: 'linux/arm64',
      });
    } finally {
      await resolver.close();
    }
  });

  it('limits per registry: a registry that hangs does not hold another registry’s resolution', async () => {
    await withStuckRegistry(async (hanging, resolver, stuck) => {
      // More work queues behind the hanging registry's taken slot.
      const queued = resolver.resolve(parseReference(`${hanging.host}/app:next`));
      // Bounded so that a shared limit fails this test instead of waiting for the client's timeout.
      const other = await resolver.resolve(parseReference(seeded.sample.ref), {
        signal: AbortSignal.timeout(10_000),
      });
      expect(other.digest).toBe(seeded.sample.digest);
      expect(hanging.manifestRequests('next')).toBe(0);
      hanging.release();
      expect((await stuck).digest).toBe(hanging.image.digest);
      expect((await queued).digest).toBe(hanging.image.digest);
    });
  });
});

describe('openResolver queueing', () => {
  it('drops queued work when every caller waiting for it has given up before it started', async () => {
    await withStuckRegistry(async (registry, resolver, stuck) => {
      const first = new AbortController();
      const second = new AbortController();
      const ref = parseReference(`${registry.host}/app:abandoned`);
      const waits = [first, second].map((c) =>
        resolver.resolve(ref, { signal: c.signal }).catch((e: unknown) => e),
      );
      first.abort();
      second.abort();
      for (const e of await Promise.all(waits)) expect(isImgdigestError(e) && e.code).toBe('TIMEOUT');
      registry.release();
      await stuck;
      // The slot is free again: later work runs, the abandoned work never reached the registry.
      expect((await resolver.resolve(parseReference(`${registry.host}/app:later`))).via).toBe('registry');
      expect(registry.manifestRequests('later')).toBe(1);
      expect(registry.manifestRequests('abandoned')).toBe(0);
      expect(resolver.stats.dropped).toBe(1);
    });
  });

  it('still runs queued work while one caller waits for it', async () => {
    await withStuckRegistry(async (registry, resolver, stuck) => {
      const gaveUp = new AbortController();
      const ref = parseReference(`${registry.host}/app:wanted`);
      const hurried = resolver.resolve(ref, { signal: gaveUp.signal }).catch((e: unknown) => e);
      const patient = resolver.resolve(ref, { signal: new AbortController().signal });
      gaveUp.abort();
      expect(isImgdigestError(await hurried)).toBe(true);
      registry.release();
      await stuck;
      expect((await patient).digest).toBe(registry.image.digest);
      expect(registry.manifestRequests('wanted')).toBe(1);
      expect(resolver.stats.dropped).toBe(0);
    });
  });
});
