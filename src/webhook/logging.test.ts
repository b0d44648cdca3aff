import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { Decision } from './admission.js';
import { admissionFields, admissionLine, admissionLog, createLogger } from './logging.js';
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
