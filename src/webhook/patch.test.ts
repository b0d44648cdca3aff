import { describe, expect, it } from 'vitest';
import { encodePatch, escapePointerToken, jsonPointer, replaceAt } from './patch.js';

describe('JSON Patch for admission answers', () => {
  it('escapes JSON Pointer tokens as RFC 6901 says (~ first, then /), and leaves plain names alone', () => {
    expect(escapePointerToken('image')).toBe('image');
    expect(escapePointerToken('a/b')).toBe('a~1b');
    expect(escapePointerToken('m~n')).toBe('m~0n');
    expect(escapePointerToken('~1')).toBe('~01');
    expect(escapePointerToken('/~')).toBe('~1~0');
    expect(jsonPointer(['spec', 'template', 'spec', 'containers', 0, 'image'])).toBe(
      '/spec/template/spec/containers/0/image',
    );
    expect(jsonPointer(['metadata', 'annotations', 'example.com/image~tag'])).toBe(
      '/metadata/annotations/example.com~1image~0tag',
    );
  });

  it('encodes the operations as base64 of the JSON array', () => {
    const ops = [
      replaceAt(['spec', 'containers', 0, 'image'], 'nginx:1.27@sha256:abc'),
      replaceAt(['spec', 'volumes', 1, 'image', 'reference'], 'data:"quoted"'),
    ];
    const decoded = JSON.parse(Buffer.from(encodePatch(ops), 'base64').toString('utf8'));
    expect(decoded).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.27@sha256:abc' },
      { op: 'replace', path: '/spec/volumes/1/image/reference', value: 'data:"quoted"' },
    ]);
  });
});
