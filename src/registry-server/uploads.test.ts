import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { isRegistryError, type RegistryError } from './errors.js';
import { FsStorage } from './fs-storage.js';
import type { RepoName } from './names.js';
import { Registry } from './registry.js';
import { UploadManager } from './uploads.js';

const repo = 'up/app' as RepoName;

async function registryIn(): Promise<{ registry: Registry; uploadsDir: string }> {
  const root = await tempDir('uploads');
  const storage = new FsStorage(root);
  await storage.init();
  return { registry: new Registry(storage), uploadsDir: join(root, '_uploads') };
}

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    if (isRegistryError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

afterEach(() => {
  vi.useRealTimers();
});
afterAll(cleanupTempDirs);

describe('upload session limits', () => {
  it('refuses a client beyond its maximum with 429 and everyone beyond the total with 503, with Retry-After', async () => {
    const { registry } = await registryIn();
    let now = 0;
    const uploads = new UploadManager(registry, {
      maxSessions: 4,
      maxPerClient: 2,
      idleMs: 60_000,
      now: () => now,
    });
    try {
      const a1 = await uploads.create(repo, 'sha256', '10.0.0.1');
      now = 20_000;
      await uploads.create(repo, 'sha256', '10.0.0.1');
      const perClient = await refusal(uploads.create(repo, 'sha256', '10.0.0.1'));
      expect(perClient.status).toBe(429);
      expect(perClient.code).toBe('TOOMANYREQUESTS');
      expect(perClient.message).toMatch(/this client has 2 upload sessions open, the maximum per client/);
      // Its oldest session may expire 40 s from now.
      expect(perClient.headers['Retry-After']).toBe('40');

      await uploads.create(repo, 'sha256', '10.0.0.2');
      await uploads.create(repo, 'sha256', '10.0.0.3');
      const total = await refusal(uploads.create(repo, 'sha256', '10.0.0.4'));
      expect(total.status).toBe(503);
      expect(total.code).toBe('UNAVAILABLE');
      expect(total.message).toMatch(/the registry has 4 upload sessions open, its maximum/);

      await uploads.cancel(a1);
      expect((await uploads.create(repo, 'sha256', '10.0.0.4')).client).toBe('10.0.0.4');
    } finally {
      await uploads.close();
    }
  });

  it('cannot be overshot by concurrent creations', async () => {
    const { registry } = await registryIn();
    const uploads = new UploadManager(registry, { maxSessions: 100, maxPerClient: 5 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => uploads.create(repo, 'sha256', '10.0.0.1')),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      expect(uploads.size).toBe(5);
    } finally {
      await uploads.close();
    }
  });
});

describe('idle upload sessions', () => {
  it('are dropped with their temporary files after ten minutes unused by default, and a used one lives on', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const { registry, uploadsDir } = await registryIn();
    const uploads = new UploadManager(registry);
    try {
      const kept = await uploads.create(repo);
      const abandoned = [await uploads.create(repo), await uploads.create(repo)];
      expect((await readdir(uploadsDir)).sort()).toEqual([kept.id, ...abandoned.map((s) => s.id)].sort());

      await vi.advanceTimersByTimeAsync(6 * 60_000);
      uploads.get(repo, kept.id); // the client asks for its status: the session is in use
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(async () => expect(await readdir(uploadsDir)).toEqual([kept.id]));
      expect(uploads.size).toBe(1);
      expect(() => uploads.get(repo, abandoned[0]!.id)).toThrow(/blob upload unknown/);

      await vi.advanceTimersByTimeAsync(11 * 60_000);
      await vi.waitFor(async () => expect(await readdir(uploadsDir)).toEqual([]));
      expect(uploads.size).toBe(0);
    } finally {
      await uploads.close();
    }
  });

  it('expire after the configured time and free the places of their client', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const { registry, uploadsDir } = await registryIn();
    const uploads = new UploadManager(registry, { idleMs: 30_000, maxPerClient: 1 });
    try {
      await uploads.create(repo, 'sha256', '10.0.0.1');
      expect((await refusal(uploads.create(repo, 'sha256', '10.0.0.1'))).status).toBe(429);
      await vi.advanceTimersByTimeAsync(45_000);
      await vi.waitFor(async () => expect(await readdir(uploadsDir)).toEqual([]));
      expect((await uploads.create(repo, 'sha256', '10.0.0.1')).client).toBe('10.0.0.1');
    } finally {
      await uploads.close();
    }
  });
});
