import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/errors.js';
import { loadVectors } from '../../test/support/vectors.js';
import {
  assertDigest,
  computableAlgorithms,
  createDigester,
  DIGEST_PATTERN,
  digestOf,
  digestOfStream,
  EMPTY_DIGEST,
  isDigest,
  isVerifiableAlgorithm,
  parseDigest,
  verifyingStream,
} from './digest.js';
import { ImgdigestError } from './errors.js';

const v = loadVectors();

/** go-digest sentinel errors -> our codes (strict mode). */
const CODE_OF: Record<string, string> = {
  ErrDigestInvalidFormat: 'DIGEST_INVALID',
  ErrDigestInvalidLength: 'DIGEST_INVALID',
  ErrDigestUnsupported: 'DIGEST_UNSUPPORTED',
};

const hex = (algorithm: string, bytes: Uint8Array | string) =>
  `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;

describe('parseDigest: go-digest TestParseDigest vectors', () => {
  for (const c of v.digest_parse) {
    const label = JSON.stringify(String(c.input).slice(0, 60));
    if (c.valid) {
      it(`accepts ${label}`, () => {
        for (const mode of ['strict', 'grammar'] as const) {
          const d = parseDigest(c.input, { mode });
          expect(d.digest).toBe(c.input);
          expect(d.algorithm).toBe(c.algorithm);
          expect(d.encoded).toBe(c.encoded);
          expect(d.registered).toBe(true);
          // blake3 is registered by the image-spec but Node cannot compute it
          expect(d.verifiable).toBe(c.algorithm !== 'blake3');
        }
        expect(isDigest(c.input)).toBe(true);
      });
      continue;
    }
    if (c.error === 'ErrDigestUnsupported') {
      it(`refuses ${label} in strict mode and keeps it, unregistered, in grammar mode`, () => {
        const err = errorOf(() => parseDigest(c.input));
        expect(err?.code).toBe('DIGEST_UNSUPPORTED');
        expect(err?.message).toContain(c.input);
        const d = parseDigest(c.input, { mode: 'grammar' });
        expect(d).toMatchObject({ digest: c.input, registered: false, verifiable: false });
        if (c.algorithm) expect(d.algorithm).toBe(c.algorithm);
        expect(DIGEST_PATTERN.test(c.input)).toBe(true);
        expect(isDigest(c.input)).toBe(false);
      });
      continue;
    }
    it(`rejects ${label} as ${c.error}`, () => {
      for (const mode of ['strict', 'grammar'] as const) {
        const err = errorOf(() => parseDigest(c.input, { mode }));
        expect(err?.code).toBe(CODE_OF[c.error]);
        expect(err?.details.kind).toBe(c.error === 'ErrDigestInvalidLength' ? 'length' : 'format');
        expect(err?.message).not.toContain('\n');
      }
      expect(isDigest(c.input)).toBe(false);
    });
  }
});

describe('known digests', () => {
  for (const c of v.known_digests) {
    it(`digests ${JSON.stringify(c.content)} to ${c.digest}`, () => {
      expect(digestOf(c.content)).toBe(c.digest);
      expect(digestOf(new TextEncoder().encode(c.content))).toBe(c.digest);
      if (c.data !== undefined) expect(Buffer.from(c.data, 'base64').toString('utf8')).toBe(c.content);
      if (c.size !== undefined) expect(Buffer.byteLength(c.content)).toBe(c.size);
    });
  }

  it('exports the empty digest', () => {
    expect(EMPTY_DIGEST).toBe(digestOf(new Uint8Array()));
  });
});

describe('computing digests', () => {
  it('supports sha512 and sha384, and knows blake3 cannot be computed', () => {
    expect(digestOf('abc', 'sha512')).toBe(hex('sha512', 'abc'));
    expect(digestOf('abc', 'sha384')).toBe(hex('sha384', 'abc'));
    expect(parseDigest(digestOf('abc', 'sha512')).registered).toBe(true);
    expect(computableAlgorithms().sort()).toEqual(['sha256', 'sha384', 'sha512']);
    expect(isVerifiableAlgorithm('blake3')).toBe(false);
    expect(errorOf(() => digestOf('abc', 'blake3'))?.code).toBe('DIGEST_UNSUPPORTED');
    expect(errorOf(() => createDigester('md5'))?.code).toBe('DIGEST_UNSUPPORTED');
  });

  it('digestOf, createDigester and digestOfStream agree on any bytes in any chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }),
        fc.constantFrom('sha256', 'sha512', 'sha384'),
        async (chunks, algorithm) => {
          const all = Buffer.concat(chunks);
          const expected = hex(algorithm, all);
          expect(digestOf(all, algorithm)).toBe(expected);
          const digester = createDigester(algorithm);
          for (const chunk of chunks) digester.update(chunk);
          expect(digester.size).toBe(all.byteLength);
          expect(digester.digest()).toBe(expected);
          expect(digester.digest()).toBe(expected); // asking twice is safe
          const streamed = await digestOfStream(Readable.from(chunks.map((c) => Buffer.from(c))), algorithm);
          expect(streamed).toEqual({ digest: expected, size: all.byteLength });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('digestOfStream takes string chunks as UTF-8', async () => {
    expect(await digestOfStream(Readable.from(['h\u00e9', 'llo'], { objectMode: true }))).toEqual({
      digest: hex('sha256', 'h\u00e9llo'),
      size: Buffer.byteLength('h\u00e9llo'),
    });
  });
});

describe('assertDigest', () => {
  it('passes equal digests and names both on a mismatch', () => {
    expect(() => assertDigest(EMPTY_DIGEST, EMPTY_DIGEST)).not.toThrow();
    const other = digestOf('x');
    const err = errorOf(() => assertDigest(EMPTY_DIGEST, other, 'blob'));
    expect(err?.code).toBe('DIGEST_MISMATCH');
    expect(err?.message).toBe(`blob digest mismatch: expected ${EMPTY_DIGEST}, got ${other}`);
  });
});

/** A consumer that records what it received and whether it saw the end of the stream. */
function consumer() {
  const state = { bytes: 0, chunks: [] as Buffer[], ended: false };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      state.bytes += chunk.byteLength;
      state.chunks.push(chunk);
      cb();
    },
    final(cb) {
      state.ended = true;
      cb();
    },
  });
  return { state, sink };
}

const content = ['hello ', 'verified ', 'world'].map((s) => Buffer.from(s));
const whole = Buffer.concat(content);

describe('verifyingStream', () => {
  it('passes good bytes through unchanged', async () => {
    const { state, sink } = consumer();
    await pipeline(
      Readable.from(content),
      verifyingStream(digestOf(whole), { size: whole.byteLength }),
      sink,
    );
    expect(Buffer.concat(state.chunks).equals(whole)).toBe(true);
    expect(state.ended).toBe(true);
  });

  it('verifies sha512 digests', async () => {
    const { state, sink } = consumer();
    await pipeline(Readable.from(content), verifyingStream(digestOf(whole, 'sha512')), sink);
    expect(state.ended).toBe(true);
  });

  it('fails with DIGEST_MISMATCH naming both digests before the consumer sees the end', async () => {
    const { state, sink } = consumer();
    const expected = digestOf('something else');
    const run = pipeline(Readable.from(content), verifyingStream(expected, { what: 'blob x' }), sink);
    await expect(run).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: `blob x digest mismatch: expected ${expected}, got ${digestOf(whole)}`,
    });
    expect(state.ended).toBe(false);
  });

  it('fails with SIZE_MISMATCH as soon as there are extra bytes', async () => {
    const { state, sink } = consumer();
    const size = content[0]!.byteLength;
    const run = pipeline(Readable.from(content), verifyingStream(digestOf(whole), { size }), sink);
    await expect(run).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(state.bytes).toBeLessThanOrEqual(size);
    expect(state.ended).toBe(false);
  });

  it('fails with SIZE_MISMATCH when bytes are missing', async () => {
    const { state, sink } = consumer();
    const size = whole.byteLength + 10;
    const run = pipeline(
      Readable.from(content),
      verifyingStream(digestOf(whole), { size, what: 'layer' }),
      sink,
    );
    await expect(run).rejects.toThrow(`layer size mismatch: expected ${size} bytes, got ${whole.byteLength}`);
    expect(state.ended).toBe(false);
  });

  it('makes an async-iterating consumer throw instead of finishing', async () => {
    const stream = Readable.from(content).pipe(verifyingStream(digestOf('nope')));
    const read = async () => {
      for await (const _ of stream) {
        // drain
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('refuses digests it cannot verify', () => {
    expect(errorOf(() => verifyingStream(`blake3:${'a'.repeat(64)}`))?.code).toBe('DIGEST_UNSUPPORTED');
    expect(errorOf(() => verifyingStream('sha256:short'))?.code).toBe('DIGEST_INVALID');
  });
});

describe('properties', () => {
  it('parseDigest throws nothing but ImgdigestError, in either mode, and isDigest never throws', () => {
    const digestish = fc.string({
      maxLength: 80,
      unit: fc.constantFrom(...'sha256:abcdef0123+._-=XZ '.split('')),
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), digestish),
        fc.constantFrom<'strict' | 'grammar'>('strict', 'grammar'),
        (s, mode) => {
          try {
            const d = parseDigest(s, { mode });
            expect(DIGEST_PATTERN.test(d.digest)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(ImgdigestError);
            expect(['DIGEST_INVALID', 'DIGEST_UNSUPPORTED']).toContain((e as ImgdigestError).code);
          }
          expect(typeof isDigest(s)).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts the digest of any bytes and refuses it in upper case', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('sha256', 'sha512', 'sha384'),
        (bytes, alg) => {
          const d = digestOf(bytes, alg);
          expect(parseDigest(d).encoded).toBe(d.slice(alg.length + 1));
          const upper = `${alg}:${d.slice(alg.length + 1).toUpperCase()}`;
          if (upper !== d) expect(errorOf(() => parseDigest(upper))?.code).toBe('DIGEST_INVALID');
        },
      ),
    );
  });
});
