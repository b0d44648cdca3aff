import { describe, expect, it } from 'vitest';
import { type FileEntry, LayerCache } from './layer-cache.js';

function file(path: string): FileEntry {
  return {
    path,
    type: 'file',
    size: 1,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: null,
    linkname: null,
    whiteout: null,
    target: null,
  };
}

describe('LayerCache', () => {
  it('shares a listing being read and keeps finished ones by digest', async () => {
    const cache = new LayerCache(1024 * 1024);
    let reads = 0;
    const read = async (l: { add(e: FileEntry): void }) => {
      reads++;
      l.add(file('a'));
    };
    const first = cache.obtain('sha256:a', read);
    const second = cache.obtain('sha256:a', read);
    expect(second).toBe(first);
    await first.finished;
    expect(cache.obtain('sha256:a', read)).toBe(first);
    expect(reads).toBe(1);
  });

  it('drops the least recently used listings past its byte bound', async () => {
    const cache = new LayerCache(64 * 1024);
    const fill = (n: number) => async (l: { add(e: FileEntry): void }) => {
      for (let i = 0; i < n; i++) l.add(file(`dir/file-${i}`));
    };
    for (const d of ['sha256:1', 'sha256:2', 'sha256:3']) await cache.obtain(d, fill(150)).finished;
    expect(cache.get('sha256:1')).toBeNull();
    expect(cache.get('sha256:3')).not.toBeNull();
  });

  it('does not keep a failed listing', async () => {
    const cache = new LayerCache(1024 * 1024);
    const failed = cache.obtain('sha256:x', async () => {
      throw new Error('registry went away');
    });
    await failed.finished;
    expect(failed.error?.message).toBe('registry went away');
    expect(cache.get('sha256:x')).toBeNull();
  });
});
