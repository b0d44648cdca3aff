/** Paths as people read them in messages and logs. */
import { describe, expect, it } from 'vitest';
import { formatPath } from './paths.js';

describe('formatPath', () => {
  it('writes plain keys with dots, indexes in brackets, and quotes keys that need it', () => {
    expect(formatPath(['spec', 'containers', 0, 'image'])).toBe('spec.containers[0].image');
    expect(formatPath(['metadata', 'annotations', 'example.com/image'])).toBe(
      'metadata.annotations["example.com/image"]',
    );
    expect(formatPath(['data', 'a[1]', "it's", 'x*', ''])).toBe(`data["a[1]"]["it's"]["x*"][""]`);
    expect(formatPath(['$ref', '_x', '-y', '/z', 'a-b_c$d/e', 'ü'])).toBe('$ref._x.-y./z.a-b_c$d/e["ü"]');
    expect(formatPath([0, 'line\nbreak'])).toBe('[0].line\nbreak');
  });
});
