import { describe, expect, it } from 'vitest';
import { nextLink, paginate, parseContentRange, resolveRange } from './http.js';

describe('resolveRange (RFC 9110 byte ranges)', () => {
  it('resolves closed, open-ended and suffix ranges against the size', () => {
    expect(resolveRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(resolveRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(resolveRange('bytes=-4', 10)).toEqual({ start: 6, end: 9 });
    expect(resolveRange('bytes=-40', 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 });
  });

  it('ignores what it does not serve: no header, several ranges, other units, reversed ranges', () => {
    for (const header of [undefined, '', 'bytes=0-1,4-5', 'items=0-1', 'bytes=-', 'bytes=5-2', 'garbage']) {
      expect(resolveRange(header, 10)).toBeNull();
    }
  });

  it('refuses ranges outside the blob with 416 and the size in Content-Range', () => {
    for (const header of ['bytes=10-', 'bytes=10-20', 'bytes=-0']) {
      expect(() => resolveRange(header, 10)).toThrow(
        expect.objectContaining({
          status: 416,
          code: 'RANGE_INVALID',
          headers: { 'Content-Range': 'bytes */10' },
        }),
      );
    }
    expect(() => resolveRange('bytes=0-', 0)).toThrow(expect.objectContaining({ status: 416 }));
  });
});

describe('parseContentRange (chunk uploads)', () => {
  it('reads the spec form and the bytes form', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(undefined)).toBeUndefined();
  });

  it('refuses anything else with 416', () => {
    expect(() => parseContentRange('0-')).toThrow(expect.objectContaining({ status: 416 }));
    expect(() => parseContentRange('a-b')).toThrow(expect.objectContaining({ code: 'RANGE_INVALID' }));
  });
});

describe('paginate (n and last)', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const page = (query: string) => paginate(items, new URLSearchParams(query));

  it('returns everything after last, n at a time, with the next page', () => {
    expect(page('')).toEqual({ page: items });
    expect(page('n=2')).toEqual({ page: ['a', 'b'], next: { n: 2, last: 'b' } });
    expect(page('n=2&last=b')).toEqual({ page: ['c', 'd'], next: { n: 2, last: 'd' } });
    expect(page('n=2&last=d')).toEqual({ page: ['e'] });
    expect(page('n=5')).toEqual({ page: items });
    expect(page('last=bb')).toEqual({ page: ['c', 'd', 'e'] });
    expect(page('last=z')).toEqual({ page: [] });
  });

  it('gives an empty page without a next page for n=0', () => {
    expect(page('n=0')).toEqual({ page: [] });
  });

  it('refuses a non-numeric or negative n', () => {
    for (const n of ['x', '-1', '1.5']) {
      expect(() => page(`n=${n}`)).toThrow(expect.objectContaining({ code: 'PAGINATION_NUMBER_INVALID' }));
    }
  });

  it('writes the RFC 8288 Link of the next page', () => {
    expect(nextLink('/v2/a/tags/list', { n: 2, last: 'v1.0' })).toBe(
      '</v2/a/tags/list?n=2&last=v1.0>; rel="next"',
    );
  });
});
