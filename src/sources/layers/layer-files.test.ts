import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';
import { buildLayer, type FileSpec } from '../../builder/index.js';
import { isImgdigestError } from '../../core/errors.js';
import { MediaType } from '../../core/media-types.js';
import { peek, sniffCompression } from './compression.js';
import { formatEntry, type LayerEntry, walkLayer } from './layer-files.js';

const run = promisify(execFile);

const files: FileSpec[] = [
  { path: 'etc', type: 'dir' },
  { path: 'etc/hostname', content: 'box\n' },
  { path: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
  { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
];

async function list(bytes: Uint8Array, mediaType: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  await walkLayer(Readable.from([Buffer.from(bytes)]), mediaType, (e) => entries.push(e));
  return entries;
}

describe.skipIf(!haveTools('tar'))('walkLayer', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`lists a ${compression} layer in the order tar --list prints it`, async () => {
      const layer = await buildLayer(files, { compression });
      const entries = await list(layer.bytes, layer.mediaType);
      const dir = await tempDir('layers-');
      const plain = await buildLayer(files, { compression: 'none' });
      await writeFile(join(dir, 'l.tar'), plain.bytes);
      const { stdout } = await run('tar', ['-tf', join(dir, 'l.tar')]);
      expect(entries.map((e) => formatEntry(e))).toEqual(stdout.trim().split('\n'));
    });
  }

  it('finds the compression from the bytes when asked to sniff', async () => {
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const layer = await buildLayer(files, { compression });
      expect((await list(layer.bytes, 'sniff')).map((e) => e.name)).toContain('etc/hostname');
    }
  });

  it('prints modes, owners, sizes and link targets as tar --list --verbose does', async () => {
    const layer = await buildLayer(files, { compression: 'gzip' });
    const lines = (await list(layer.bytes, layer.mediaType)).map((e) => formatEntry(e, true));
    const dir = await tempDir('layers-');
    await writeFile(join(dir, 'l.tgz'), layer.bytes);
    const { stdout } = await run('tar', ['-tvzf', join(dir, 'l.tgz')], { env: { TZ: 'UTC' } });
    const theirs = stdout.trim().split('\n');
    // GNU tar pads the size column to the widest entry; compare the fields, not the spacing.
    const fields = (l: string) => l.split(/\s+/);
    expect(lines.map(fields)).toEqual(theirs.map(fields));
  });

  it('refuses a blob that is not a tar layer with one readable error', async () => {
    const e = await list(Buffer.from('not a tar at all'.repeat(100)), MediaType.OCI_LAYER).catch(
      (x: unknown) => x,
    );
    expect(isImgdigestError(e) && e.code).toBe('SOURCE_ERROR');
    const bad = await list(Buffer.from([0x1f, 0x8b, 1, 2, 3]), MediaType.OCI_LAYER_GZIP).catch(
      (x: unknown) => x,
    );
    expect(isImgdigestError(bad) && bad.message).toMatch(/not valid gzip|could not be read/);
    const notLayer = await list(Buffer.from('{}'), MediaType.OCI_CONFIG).catch((x: unknown) => x);
    expect(isImgdigestError(notLayer) && notLayer.code).toBe('INPUT_INVALID');
  });
});

describe('peek and sniffCompression', () => {
  it('look at the first bytes across small chunks without consuming them', async () => {
    const stream = Readable.from([Buffer.from([0x28]), Buffer.from([0xb5, 0x2f]), Buffer.from([0xfd, 9, 9])]);
    const { compression } = await sniffCompression(stream);
    expect(compression).toBe('zstd');
    const rest: Buffer[] = [];
    for await (const c of stream) rest.push(c as Buffer);
    expect([...Buffer.concat(rest)]).toEqual([0x28, 0xb5, 0x2f, 0xfd, 9, 9]);
  });

  it('returns what there is from a short stream', async () => {
    expect([...(await peek(Readable.from([Buffer.from([1])]), 4))]).toEqual([1]);
  });
});
