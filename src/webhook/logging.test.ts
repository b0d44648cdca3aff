import { execFile } from 'node:child_process';
import fs, { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { Decision } from './admission.js';
import { admissionFields, admissionLine, admissionLog, createLogger, LOG_FLUSH_DELAY_MS } from './logging.js';
import { MAX_LOGGED_ERRORS } from './messages.js';
import type { AdmissionRequest } from './review.js';

const request: AdmissionRequest = {
  uid: 'a"b\\c',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  namespace: 'prod',
  name: 'web',
  operation: 'CREATE',
  dryRun: true,
};
const decision: Decision = {
  response: { uid: request.uid, allowed: false },
  verdict: 'denied',
  violations: 2,
  patched: 0,
  errors: ['container web nginx:1.27: TIMEOUT: no answer\nsecond line'],
};

/** Lines written to a stream, parsed. */
function capture(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        lines.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
        pending = pending.slice(nl + 1);
      }
      cb();
    },
  });
  return { stream, lines };
}

describe('admission log lines', () => {
  it('writes the line pino writes (level, time, name, fields, msg), in order with the other lines', async () => {
    const dir = await tempDir('webhook-log');
    const file = join(dir, 'log.jsonl');
    const logger = createLogger({ destination: file });
    const log = admissionLog(logger);
    logger.info({ url: 'https://127.0.0.1:8443' }, 'webhook listening');
    log('validate', request, decision, 1.23456);
    logger.warn({ registry: 'r.example' }, 'after');
    await new Promise<void>((resolve, reject) => logger.flush((e) => (e ? reject(e) : resolve())));
    const lines = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['webhook listening', 'admission', 'after']);
    // Every key once: the logger's `name` and the object's `objectName` do not collide.
    const raw = (await readFile(file, 'utf8')).split('\n')[1]!;
    expect(raw.match(/"name":/g)).toHaveLength(1);
    expect(lines[1]).toMatchObject({ name: 'imgdigest-webhook', objectName: 'web' });

    // The same fields and order as a line made by pino from admissionFields.
    const reference = capture();
    createLogger({ stream: reference.stream }).info(
      admissionFields('validate', request, decision, 1.23456),
      'admission',
    );
    const { time, ...fast } = lines[1]!;
    const { time: pinoTime, ...slow } = reference.lines[0]!;
    expect(Object.keys(fast)).toEqual(Object.keys(slow));
    expect(fast).toEqual(slow);
    expect(fast).toMatchObject({ level: 'info', endpoint: 'validate', uid: 'a"b\\c', dryRun: true });
    expect(typeof time).toBe('number');
    expect(typeof pinoTime).toBe('number');
  });

  it('writes nothing when info is not enabled, and uses logger.info for a logger of your own', async () => {
    const dir = await tempDir('webhook-log');
    const file = join(dir, 'log.jsonl');
    const quiet = createLogger({ destination: file, level: 'warn' });
    admissionLog(quiet)('mutate', request, decision, 1);
    await new Promise<void>((resolve, reject) => quiet.flush((e) => (e ? reject(e) : resolve())));
    expect(await readFile(file, 'utf8')).toBe('');

    const own = capture();
    const { pino } = await import('pino');
    admissionLog(pino(own.stream))('mutate', request, decision, 1);
    expect(own.lines).toHaveLength(1);
    expect(own.lines[0]).toMatchObject({ msg: 'admission', endpoint: 'mutate', verdict: 'denied' });
  });

  it('writes the fields of every kind of admission as JSON.stringify would, in the same order', () => {
    const pod = { metadata: { generateName: 'web-\u2028"x"-' } };
    const requests: AdmissionRequest[] = [
      request,
      { uid: 'u1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, operation: 'UPDATE' },
      {
        uid: 'u2',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        subResource: 'ephemeralcontainers',
        operation: 'UPDATE',
        object: { metadata: { name: 'named' } },
      },
      {
        uid: 'u3',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        namespace: 'ns\n',
        operation: 'CREATE',
        object: pod,
      },
    ];
    const many = Array.from(
      { length: MAX_LOGGED_ERRORS + 3 },
      (_, i) => `image ${i}: ${'x'.repeat(i * 100)}`,
    );
    const decisions: Decision[] = [
      decision,
      {
        response: { uid: 'u', allowed: true },
        verdict: 'skipped',
        reason: 'mirror pod',
        violations: 0,
        patched: 0,
        errors: [],
      },
      { response: { uid: 'u', allowed: true }, verdict: 'patched', violations: 0, patched: 3, errors: [] },
      {
        response: { uid: 'u', allowed: true },
        verdict: 'failed-open',
        violations: 0,
        patched: 1,
        errors: many,
      },
    ];
    for (const r of requests) {
      for (const d of decisions) {
        for (const ms of [0, 1.23456, 12345.6789, Number.NaN]) {
          const fields = JSON.stringify(admissionFields('mutate', r, d, ms));
          expect(admissionLine('mutate', r, d, ms)).toBe(fields.slice(1, -1));
        }
      }
    }
  });
});

describe('batched log writes', () => {
  /** The lines of `file` once it holds `count` of them (polled; at most 5 s). */
  async function linesOnceThere(file: string, count: number): Promise<string[]> {
    for (let waited = 0; ; waited += 5) {
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      if (lines.length >= count || waited > 5000) return lines;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it(`gathers the lines of ${LOG_FLUSH_DELAY_MS} ms into one write, in order, and writes them within it`, async () => {
    const dir = await tempDir('webhook-log');
    const file = join(dir, 'log.jsonl');
    const writes = vi.spyOn(fs, 'writeSync');
    try {
      const logger = createLogger({ destination: file });
      const log = admissionLog(logger);
      const started = Date.now();
      for (let i = 0; i < 50; i++) log('validate', { ...request, uid: `u${i}` }, decision, i);
      logger.warn({ registry: 'r.example' }, 'after');
      // Nothing yet: the lines wait for others to share their write.
      expect(readFileSync(file, 'utf8')).toBe('');
      const lines = await linesOnceThere(file, 51);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(lines.map((l) => (JSON.parse(l) as { uid?: string; msg: string }).uid ?? 'after')).toEqual([
        ...Array.from({ length: 50 }, (_, i) => `u${i}`),
        'after',
      ]);
      const ours = writes.mock.calls.filter(([, data]) => String(data).includes('"msg":"admission"'));
      expect(ours).toHaveLength(1);
    } finally {
      writes.mockRestore();
    }
  });

  it('writes a batch at once when it passes 64 KiB', async () => {
    const dir = await tempDir('webhook-log');
    const file = join(dir, 'log.jsonl');
    const logger = createLogger({ destination: file });
    const log = admissionLog(logger);
    const uid = 'x'.repeat(1000);
    let n = 0;
    while (readFileSync(file, 'utf8') === '' && n < 200)
      log('mutate', { ...request, uid: `${uid}${n++}` }, decision, 1);
    // Written synchronously (the loop never yields to the timer) by the line that took the batch
    // past 64 KiB: every line so far, in one write.
    const written = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(written).toHaveLength(n);
    const lineBytes = written[0]!.length + 1;
    expect(n * lineBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect((n - 1) * lineBytes).toBeLessThan(64 * 1024);
  });

  it.each([
    ['ends on its own', ''],
    ['calls process.exit', 'process.exit(0);'],
    ['throws', "throw new Error('boom');"],
  ])('writes the lines still waiting when the process %s', async (_, end) => {
    const dir = await tempDir('webhook-log');
    const file = join(dir, 'log.jsonl');
    const script = [
      `import { admissionLog, createLogger } from ${JSON.stringify(join(import.meta.dirname, 'logging.ts'))};`,
      `const logger = createLogger({ destination: ${JSON.stringify(file)} });`,
      'const log = admissionLog(logger);',
      `for (let i = 0; i < 3; i++) log('validate', ${JSON.stringify(request)}, ${JSON.stringify(decision)}, i);`,
      end,
    ].join('\n');
    const run = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: join(import.meta.dirname, '..', '..'),
      },
    );
    if (end.startsWith('throw')) await expect(run).rejects.toThrow(/boom/);
    else await run;
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { durationMs: number }).durationMs)).toEqual([0, 1, 2]);
  });
});
