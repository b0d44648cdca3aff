/**
 * `npm start` (imgdigest demo) is the Quick start's promise: offline, it runs the whole workflow
 * and exits 0. This runs it in-process and checks what it shows is true.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('imgdigest demo', () => {
  it('walks through find, explore, check and pin on the embedded registry, and exits 0', async () => {
    const r = await runCli(['demo']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    const index = /== 1\.[^\n]*\n\$ imgdigest digest \S+\n(sha256:[a-f0-9]{64})\n/.exec(out)?.[1];
    expect(index).toBeDefined();
    // The manifest's sha256 is the digest step 1 printed.
    expect(out).toContain(`| sha256 = ${index}\nmatches the digest from step 1`);
    // Three different platform digests, none of them the index's.
    const platforms = [...out.matchAll(/\/sample\/app@(sha256:[a-f0-9]{64})\n/g)].map((m) => m[1]);
    expect(new Set(platforms).size).toBe(3);
    expect(platforms).not.toContain(index);
    expect(out).toMatch(/unknown\/unknown\s+sha256:\S+.*attestation of sha256:/);
    expect(out).toContain('app/hello.txt');
    // Tags and the reverse look-up.
    expect(out).toMatch(/--digest sha256:[a-f0-9]{64}\n1\.0\nlatest\n/);
    // check finds violations (exit 1), pin writes digests, check is then clean.
    expect(out.match(/\(exit code 1\)/g)).toHaveLength(1);
    expect(out).toMatch(/\+\s+image: "?\S+\/sample\/app:1\.0@sha256:[a-f0-9]{64}/);
    expect(r.stderr).toMatch(/4 violations in 3 objects/);
    expect(r.stderr).toMatch(/0 violations in 0 objects/);
    expect(out).toContain('Next: README.md');
    expect(out).toContain('imgdigest explore localhost:5000/sample/app:1.0');
  });
});
