import { describe, expect, it } from 'vitest';
import {
  boundedLines,
  boundedWarnings,
  fitText,
  MAX_LINE_LENGTH,
  MAX_LISTED,
  MAX_WARNING_LENGTH,
  MAX_WARNINGS_TOTAL,
} from './messages.js';

const items = (n: number, width = 60) => Array.from({ length: n }, (_, i) => `item ${i} `.padEnd(width, 'x'));

describe('fitText', () => {
  it('keeps both ends (middle) or the start (end), at exactly the limit', () => {
    const text = `start-${'m'.repeat(200)}-end`;
    expect(fitText(text, 20)).toBe('start-mmm...mmmm-end');
    expect(fitText(text, 20, 'end')).toBe('start-mmmmmmmmmmm...');
    expect(fitText('short', 20)).toBe('short');
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(100);
    for (const cut of ['middle', 'end'] as const) {
      for (let max = 5; max < 20; max++) {
        const fitted = fitText(text, max, cut);
        expect(fitted.length).toBeLessThanOrEqual(max);
        expect(fitted).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }
    }
  });
});

describe('boundedWarnings', () => {
  it('keeps every warning when they fit, each at most 120 characters', () => {
    const out = boundedWarnings(items(3, 200), 'violations');
    expect(out).toHaveLength(3);
    for (const w of out) expect(w.length).toBe(MAX_WARNING_LENGTH);
  });

  it('stops within 4096 characters and counts the rest in a last warning', () => {
    const out = boundedWarnings(items(1000, 200), 'violations');
    expect(out.reduce((n, w) => n + w.length, 0)).toBeLessThanOrEqual(MAX_WARNINGS_TOTAL);
    expect(out.at(-1)).toBe(`... and ${(1000 - out.length + 1).toLocaleString('en-US')} more violations`);
    expect(out.length).toBeGreaterThan(30);
  });

  it('uses the room of the count for the last item itself', () => {
    // 34 warnings of 120 fill 4080: the 34th is the last item, so no count is needed.
    const out = boundedWarnings(items(34, 120), 'violations');
    expect(out).toHaveLength(34);
    expect(out.at(-1)).toMatch(/^item 33 /);
  });
});

describe('boundedLines', () => {
  it('lists the first 20, each at most 256 characters, then counts the rest', () => {
    const out = boundedLines(items(25, 1000), 'images', 'end');
    expect(out).toHaveLength(MAX_LISTED + 1);
    for (const line of out.slice(0, -1)) expect(line.length).toBe(MAX_LINE_LENGTH);
    expect(out.at(-1)).toBe('... and 5 more images');
    expect(boundedLines(items(20), 'images')).toHaveLength(20);
  });
});
