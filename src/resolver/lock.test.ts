/** Lock files and build outputs: formats, mapping rules, merging, and the offline resolver. */
import { describe, expect, it } from 'vitest';
import { parseReference } from '../core/reference.js';
import { entryOf, formatLock, lockResolver, mergeLock, parseLock } from './lock.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('parseLock', () => {
  it('reads REF@DIGEST lines as pack build --quiet and crane digest --full-ref print them', async () => {
    const entries = parseLock(`# built\nghcr.io/o/app:v1@${D1}\n\nghcr.io/o/other@${D2}\n`, 'built.txt');
    const r = lockResolver(entries);
    expect((await r.resolve(parseReference('ghcr.io/o/app:v1'))).digest).toBe(D1);
    // repo@digest maps the untagged reference and :latest only
    expect((await r.resolve(parseReference('ghcr.io/o/other'))).digest).toBe(D2);
    expect((await r.resolve(parseReference('ghcr.io/o/other:latest'))).digest).toBe(D2);
    await expect(r.resolve(parseReference('ghcr.io/o/other:v2'))).rejects.toMatchObject({
      code: 'LOCK_MISSING',
    });
    // build outputs carry no platform: they answer any
    expect((await r.resolve(parseReference('ghcr.io/o/app:v1'), { platform: 'linux/arm64' })).digest).toBe(
      D1,
    );
  });

  it('reads gcloud builds describe JSON', async () => {
    const json = JSON.stringify({
      id: 'b',
      results: {
        images: [
          { name: 'gcr.io/p/app:1.2', digest: D1 },
          { name: 'gcr.io/p/web', digest: D2 },
        ],
      },
    });
    const r = lockResolver(parseLock(json, 'build.json'));
    expect((await r.resolve(parseReference('gcr.io/p/app:1.2'))).digest).toBe(D1);
    expect((await r.resolve(parseReference('gcr.io/p/web:latest'))).digest).toBe(D2);
  });

  it('rejects malformed lines with file:line', () => {
    expect(() => parseLock('nginx:1.27\n', 'x.txt')).toThrow(/^x\.txt:1: invalid lock: expected REF@DIGEST/);
    expect(() => parseLock('nginx@sha256:abc\n', 'x.txt')).toThrow(/x\.txt:1/);
  });
});

describe('ImageLock', () => {
  const res = (ref: string, digest: string, platform?: string) => ({
    reference: parseReference(ref),
    digest: digest as `${string}:${string}`,
    kind: platform ? ('manifest' as const) : ('index' as const),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1,
    resolvedAt: '2025-01-01T00:00:00.000Z',
    via: 'registry' as const,
    ...(platform ? { platform } : {}),
  });

  it('is sorted, versioned, and round-trips through the lock resolver per platform', async () => {
    const text = formatLock([
      entryOf(res('nginx:1.27', D2, 'linux/arm64'), ['b.yaml:3', 'a.yaml:10', 'a.yaml:2']),
      entryOf(res('busybox', D1), ['a.yaml:1']),
    ]);
    expect(
      text.startsWith(
        'apiVersion: imgdigest.dev/v1alpha1\nkind: ImageLock\nimages:\n  - image: docker.io/library/busybox:latest\n',
      ),
    ).toBe(true);
    expect(text).toContain('    foundIn:\n      - a.yaml:2\n      - a.yaml:10\n      - b.yaml:3\n');
    const r = lockResolver(parseLock(text, 'images.lock'));
    const arm = await r.resolve(parseReference('docker.io/library/nginx:1.27'), { platform: 'linux/arm64' });
    expect(arm).toMatchObject({ digest: D2, platform: 'linux/arm64', via: 'lock', kind: 'manifest' });
    await expect(r.resolve(parseReference('nginx:1.27'))).rejects.toMatchObject({ code: 'LOCK_MISSING' });
    expect(formatLock(parseLock(text, 'images.lock'))).toBe(text);
  });

  it('keeps resolvedAt for unchanged digests when merging', () => {
    const old = [{ ...entryOf(res('nginx:1.27', D1), ['a:1']), resolvedAt: '2020-01-01T00:00:00.000Z' }];
    expect(mergeLock(old, [entryOf(res('nginx:1.27', D1), ['a:1'])])[0]!.resolvedAt).toBe(
      '2020-01-01T00:00:00.000Z',
    );
    expect(mergeLock(old, [entryOf(res('nginx:1.27', D2), ['a:1'])])[0]!.resolvedAt).toBe(
      '2025-01-01T00:00:00.000Z',
    );
  });

  it('records where relocate moved an image, and keys an image named by digest alone by that digest', async () => {
    const moved = `registry.internal/mirror/library/busybox@${D1}`;
    const text = formatLock([
      { ...entryOf(res(`busybox@${D1}`, D1), ['a.yaml:4']), relocatedTo: moved },
      {
        ...entryOf(res('busybox', D2), ['a.yaml:1']),
        relocatedTo: `registry.internal/mirror/library/busybox:latest@${D2}`,
      },
    ]);
    const entries = parseLock(text, 'relocated.lock');
    expect(entries.map((e) => [e.image, e.digest, e.relocatedTo])).toEqual([
      ['docker.io/library/busybox:latest', D2, `registry.internal/mirror/library/busybox:latest@${D2}`],
      [`docker.io/library/busybox@${D1}`, D1, moved],
    ]);
    // `busybox:latest` is answered by its own entry, not by the one that names a digest.
    expect((await lockResolver(entries).resolve(parseReference('busybox'))).digest).toBe(D2);
    expect(formatLock(entries)).toBe(text);
  });
});
