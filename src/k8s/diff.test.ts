/**
 * The unified diff is checked with the real `patch` tool: applying our diff to the old text must
 * give the new text, whatever the edits (property test).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDirSync } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { diffLines, splitLines, unifiedDiff } from './diff.js';

describe('diffLines', () => {
  it('finds a shortest edit script', () => {
    const ops = diffLines(['a\n', 'b\n', 'c\n'], ['a\n', 'x\n', 'c\n']);
    expect(ops.map((o) => `${o.type}${o.line.trim()}`)).toEqual([' a', '-b', '+x', ' c']);
  });

  it('prints nothing for equal texts and marks a missing final newline', () => {
    expect(unifiedDiff('f', 'same\n', 'same\n')).toBe('');
    expect(unifiedDiff('f', 'a', 'b')).toBe(
      '--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n',
    );
    expect(splitLines('a\r\nb')).toEqual(['a\r\n', 'b']);
  });

  it('keeps hunks apart when changes are far from each other', () => {
    const before = Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('');
    const after = before.replace('line 2\n', 'LINE 2\n').replace('line 25\n', 'LINE 25\n');
    const diff = unifiedDiff('f', before, after);
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    expect(diff).toContain('@@ -1,6 +1,6 @@\n');
    expect(diff).toContain('@@ -23,7 +23,7 @@\n');
  });
});

describe.skipIf(!haveTools('patch'))('unified diff applies with patch(1)', () => {
  const dir = tempDirSync('diff');
  afterAll(() => removeTempDir(dir));
  const line = fc.constantFrom('a\n', 'b\n', 'c\n', 'image: x\n', '# comment\n', 'd\r\n', '\n');
  it('patch(old, diff) == new', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.array(line, { maxLength: 40 }), (a, b) => {
        const before = a.join('');
        const after = b.join('');
        const file = join(dir, 'f.txt');
        writeFileSync(file, before);
        const diff = unifiedDiff('f.txt', before, after);
        if (diff !== '') execFileSync('patch', ['-s', '-p1', '-d', dir, '--binary'], { input: diff });
        expect(readFileSync(file, 'utf8')).toBe(after);
      }),
      { numRuns: 60 },
    );
  });
});
