/**
 * Memory of `pin --write` on a large file, measured in a child process whose heap is capped: pin
 * reads a file one YAML document at a time and keeps only the positions of the values it edits,
 * so the heap it needs is the texts (the original and the pinned one) plus small records per
 * image: about 5 times the file. Composing every document of the file at once, as pin did before,
 * needed more than 30 times the file (issue 14): such a run dies here with V8's out-of-memory
 * abort. The bound is on memory, not time.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeDigest } from '../support/fake-resolver.js';
import { deployment } from '../support/manifests.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

afterAll(cleanupTempDirs);

const ROOT = join(import.meta.dirname, '../..');
const CHILD = join(import.meta.dirname, 'support/measured-cli.ts');
const MiB = 1024 * 1024;

interface Measured {
  code: number;
  signal: NodeJS.Signals | null;
  stderr: string;
  report?: { code: number; heapUsed: number; maxRss: number };
}

function measure(args: string[], heapMiB?: number): Promise<Measured> {
  const node = ['--expose-gc', ...(heapMiB ? [`--max-old-space-size=${heapMiB}`] : []), '--import', 'tsx'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...node, CHILD, ...args],
      { cwd: ROOT, maxBuffer: 64 * MiB },
      (err, _out, stderr) => {
        const last = stderr.trim().split('\n').at(-1) ?? '';
        const child = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        resolve({
          code: typeof child?.code === 'number' ? child.code : 0,
          signal: child?.signal ?? null,
          stderr,
          ...(last.startsWith('{"code"') ? { report: JSON.parse(last) } : {}),
        });
      },
    );
  });
}

describe('pin --write on a large file', () => {
  it('needs a heap of a few times the file, reading it document by document', async () => {
    const dir = await tempDir('pin-memory');
    const images = Array.from({ length: 40 }, (_, i) => `registry.example.com/team/service-${i}:1.${i}`);
    writeFileSync(join(dir, 'built.txt'), images.map((i) => `${i}@${fakeDigest(i)}`).join('\n'));
    const docs: string[] = [];
    let size = 0;
    while (size < 2 * MiB) {
      const doc = deployment(docs.length, images[docs.length % images.length]!);
      docs.push(doc);
      size += doc.length + 4;
    }
    const big = join(dir, 'big.yaml');
    writeFileSync(big, docs.join('---\n'));
    writeFileSync(join(dir, 'small.yaml'), docs[0]!);
    const lock = ['--from-lock', join(dir, 'built.txt'), '-q', '-w'];

    // What the CLI itself holds (modules, compiled code): measured, so the bound is only the file's.
    // Pin holds about 5 times the file; 12 leaves V8 room to collect without thrashing on a busy
    // machine (with 8, one full-suite run aborted: near its limit V8 gives up when collecting takes
    // most of the time), and stays far below the 30 times the file of composing it whole.
    const small = await measure(['pin', '-f', join(dir, 'small.yaml'), ...lock]);
    expect(small.report?.code, small.stderr).toBe(0);
    const fileMiB = statSync(big).size / MiB;
    const cap = Math.ceil(small.report!.heapUsed / MiB + 4 + 12 * fileMiB);

    const run = await measure(['pin', '-f', big, ...lock], cap);
    if (process.env.IMGDIGEST_TEST_VERBOSE)
      console.log(`heap cap ${cap} MiB for ${fileMiB.toFixed(1)} MiB`, run.report);
    expect(
      run.signal,
      `out of memory with the heap capped at ${cap} MiB: ${run.stderr.slice(0, 300)}`,
    ).toBeNull();
    expect(run.report?.code, run.stderr.slice(-500)).toBe(0);
    const text = readFileSync(big, 'utf8');
    expect(text.split('@sha256:').length - 1).toBe(docs.length);
    expect(text).toContain(`image: ${images[1]}@${fakeDigest(images[1]!)}\n`);
  }, 240_000);
});
