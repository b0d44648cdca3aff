import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../../test/support/vectors.js';
import { nextLink } from './listing.js';
import { referrersTag } from './referrers.js';

describe('referrers tag schema (vectors referrers_tag_schema)', () => {
  const cases = loadVectors().referrers_tag_schema as Array<{ digest: string; tag: string }>;
  it.each(cases.map((c) => [c.digest.slice(0, 40), c] as const))('maps %s...', (_d, c) => {
    expect(referrersTag(c.digest)).toBe(c.tag);
  });
});

describe('Link header', () => {
  const base = new URL('http://r:5000/v2/app/tags/list?n=2');
  it('finds rel="next" and resolves it against the request URL', () => {
    expect(nextLink('</v2/app/tags/list?n=2&last=b>; rel="next"', base)?.href).toBe(
      'http://r:5000/v2/app/tags/list?n=2&last=b',
    );
    expect(nextLink('<https://other/x?last=c>; rel=next', base)?.href).toBe('https://other/x?last=c');
    expect(nextLink('</a>; rel="prev", </b>; rel="next"', base)?.pathname).toBe('/b');
    expect(nextLink(['</a>; rel="prev"', '</c>; title="x"; rel="last next"'], base)?.pathname).toBe('/c');
  });

  it('ignores other relations and missing headers', () => {
    expect(nextLink('</v2/app/tags/list?last=b>; rel="nextish"', base)).toBeNull();
    expect(nextLink('</a>; rel="prev"', base)).toBeNull();
    expect(nextLink(undefined, base)).toBeNull();
  });
});
