/**
 * A blob over 100 MiB through the real CNCF registry: streamed and verified, never held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { type SeededImages, seedRegistry } from '../support/images.js';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const SIZE = 110 * 1024 * 1024;

describe.skipIf(!haveTools('docker-registry'))('a 110 MiB blob', () => {
  let reg: Distribution;
  let seeded: SeededImages;
  let work: string;
  beforeAll(async () => {
    reg = await startDistribution({ auth: 'anonymous', proxy: false });
    seeded = await seedRegistry(reg, { largeBlobBytes: SIZE });
    work = await tempDir('large');
  }, 180_000);
  afterAll(async () => {
    await reg?.stop();
    if (work) await removeTempDir(work);
  });

  it('blob -o streams it to disk, verified, with memory that does not grow with its size', async () => {
    const large = seeded.large!;
    const out = join(work, 'large.bin');
    global.gc?.();
    const before = process.memoryUsage().rss;
    const r = await runCli(['blob', `${reg.host}/${large.repo}@${large.blob.digest}`, '-o', out]);
    const grew = process.memoryUsage().rss - before;
    if (process.env.IMGDIGEST_TEST_VERBOSE) console.log(`rss growth ${grew}`);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(out)).size).toBe(SIZE);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(out)) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest('hex')}`).toBe(large.blob.digest);
    // Buffering the blob would add at least its 110 MiB; streaming keeps the growth well below.
    expect(grew).toBeLessThan(SIZE / 2);
  }, 120_000);
});
