/**
 * The client reads nothing without a bound: a tag list or catalog that pages forever is refused
 * as cut (exit 3, the flag that raises the limit named), and a blob body that runs past its size
 * stops `blob -o` with nothing left on disk.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startEndlessBlobRegistry, startEndlessListRegistry } from '../support/awkward-servers.js';
import { runCli } from '../support/cli.js';
import { sha256 } from '../support/sha256.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

const servers: Array<{ close(): Promise<void> }> = [];
function track<T extends { close(): Promise<void> }>(s: T): T {
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
let work: string;
beforeAll(async () => {
  work = await tempDir('read-bounds');
});
afterAll(cleanupTempDirs);

describe('paged lists that never end', () => {
  it('tags stops past --max-tags: exit 3, nothing on stdout, the flag named', async () => {
    const reg = track(await startEndlessListRegistry(1000));
    const r = await runCli(['tags', '--max-tags', '5000', `${reg.host}/app`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `imgdigest: the tag list of ${reg.host}/app was cut: registry ${reg.host} sent more than 5000 tags; --max-tags raises the limit of 5000\n`,
    );
    expect(reg.pages()).toBe(6);
  });

  it('tags --digest is bounded the same way', async () => {
    const reg = track(await startEndlessListRegistry(1000));
    const r = await runCli([
      'tags',
      '--max-tags',
      '2000',
      '--digest',
      `sha256:${'0'.repeat(64)}`,
      `${reg.host}/app`,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/was cut: .* more than 2000 tags; --max-tags raises the limit/);
  });

  it('the default limit stops an endless list too (1,000,000 tags)', async () => {
    const reg = track(await startEndlessListRegistry(10_000));
    const r = await runCli(['tags', `${reg.host}/app`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/more than 1000000 tags; --max-tags raises the limit of 1000000/);
    expect(reg.pages()).toBe(101);
  }, 120_000);

  it('catalog stops past --max-repositories', async () => {
    const reg = track(await startEndlessListRegistry(1000));
    const r = await runCli(['catalog', '--max-repositories', '3000', reg.host]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^imgdigest: the catalog of \S+ was cut: .* more than 3000 repositories; --max-repositories raises the limit of 3000\n$/,
    );
  });

  it('the library bounds the bytes of all pages too', async () => {
    const reg = track(await startEndlessListRegistry(1000));
    const client = new RegistryClient({ anonymous: true });
    try {
      await expect(
        client.tags(parseReference(`${reg.host}/app`), { maxBytes: 100_000 }),
      ).rejects.toMatchObject({
        code: 'REGISTRY_ERROR',
        details: { limit: { bytes: 100_000 } },
      });
    } finally {
      await client.close();
    }
  });
});

describe('blob bodies that run past their size', () => {
  it('blob -o with a digest ref: the HEAD size bounds the body; exit 3, no file, no partial file', async () => {
    const reg = track(await startEndlessBlobRegistry());
    const digest = sha256(reg.image.layer);
    const out = join(work, 'blob.bin');
    const r = await runCli(['blob', `${reg.host}/app@${digest}`, '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `imgdigest: blob ${digest} from ${reg.host}/app size mismatch: expected ${reg.image.layer.length} bytes, got more than ${reg.image.layer.length}\n`,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
    // The download stopped near the bound, not at the server's cap.
    expect(reg.sent()).toBeLessThan(64 * 1024 * 1024);
  });

  it('a registry that tells no size at all is refused before anything is written', async () => {
    const reg = track(await startEndlessBlobRegistry({ headLength: false }));
    const digest = sha256(reg.image.layer);
    const out = join(work, 'blob.bin');
    const r = await runCli(['blob', `${reg.host}/app@${digest}`, '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/tells no size \(no Content-Length on GET or HEAD\).*refused\n$/);
    expect(readdirSync(work)).toEqual([]);
  });
});
