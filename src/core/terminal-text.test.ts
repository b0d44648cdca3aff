import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { buildTar } from '../builder/index.js';
import { escapeText, jsonText } from './terminal-text.js';

afterAll(cleanupTempDirs);

describe('escapeText', () => {
  it('escapes what a terminal would act on, as GNU tar quotes names', () => {
    expect(escapeText('a\nb')).toBe('a\\nb');
    expect(escapeText('\u001b]0;owned\u0007')).toBe('\\033]0;owned\\a');
    expect(escapeText('back\\slash\ttab\rcr\x7f')).toBe('back\\\\slash\\ttab\\rcr\\177');
    // U+009B is a one-character CSI for some terminals: each UTF-8 byte in octal.
    expect(escapeText('x\u009b2J')).toBe('x\\302\\2332J');
    expect(escapeText('café naïve 日本 space ok')).toBe('café naïve 日本 space ok');
  });

  it('leaves no control character behind, and changes nothing else', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = escapeText(s);
        expect(out).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
        if (!/[\x00-\x1f\x7f-\x9f\\]/.test(s)) expect(out).toBe(s);
      }),
    );
  });

  it.skipIf(!haveTools('tar'))('prints names exactly as tar --list does', async () => {
    const names = [
      'plain',
      'new\nline',
      'esc\u001b[31mred',
      'tab\there',
      'back\\slash',
      'bell\u0007',
      'del\x7f',
      'c1\u009bx',
    ];
    const tar = await buildTar(names.map((path) => ({ path, content: 'x' })));
    const dir = await tempDir('escape');
    writeFileSync(join(dir, 'l.tar'), tar);
    const listed = execFileSync('tar', ['-tf', join(dir, 'l.tar')], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    expect(names.map(escapeText)).toEqual(listed.trimEnd().split('\n'));
  });
});

describe('jsonText', () => {
  it('is JSON that parses back to the same value, with no raw control character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
        const value = { v, s };
        const text = jsonText(value, 2);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(text.replace(/\n */g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/);
      }),
    );
  });
});
