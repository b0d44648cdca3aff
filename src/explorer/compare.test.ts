import { describe, expect, it } from 'vitest';
import { mergeLayers } from './compare.js';
import type { FileEntry } from './layer-cache.js';

function entry(path: string, extra: Partial<FileEntry> = {}): FileEntry {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const whiteout = base === '.wh..wh..opq' ? 'opaque' : base.startsWith('.wh.') ? 'file' : null;
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
    whiteout,
    target:
      whiteout === 'file' ? `${dir}${base.slice(4)}` : whiteout === 'opaque' ? dir.replace(/\/$/, '') : null,
    ...extra,
  };
}

describe('mergeLayers', () => {
  it('applies whiteouts: a file, a directory with its contents, and an opaque directory', () => {
    const fs = mergeLayers([
      [
        entry('etc', { type: 'directory' }),
        entry('etc/a'),
        entry('etc/b'),
        entry('var/cache/x'),
        entry('opt/old/1'),
      ],
      [entry('etc/.wh.a'), entry('var/.wh.cache'), entry('opt/old/.wh..wh..opq'), entry('opt/old/2')],
    ]);
    expect([...fs.keys()].sort()).toEqual(['etc', 'etc/b', 'opt/old/2']);
  });

  it('lets a later layer replace an entry of the same path', () => {
    const fs = mergeLayers([[entry('app/x', { size: 1 })], [entry('app/x', { size: 2 })]]);
    expect(fs.get('app/x')?.size).toBe(2);
  });
});
