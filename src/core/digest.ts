/**
 * @module digest
 * Content digests (`algorithm:encoded`): parse, validate, compute from bytes and streams, and verify
 * a stream while it flows.
 *
 * The grammar is the OCI image-spec descriptor grammar. Registered algorithms must be exact
 * (`sha256` = 64 lowercase hex, `sha512` = 128); other algorithms that fit the grammar parse, are
 * kept for matching, and are reported as unverifiable. A digest is only ever computed from raw bytes.
 * @see https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
 */
import type { Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ImgdigestError } from './errors.js';

/** A digest string such as `sha256:e3b0c4...`. Always produced by {@link parseDigest} or {@link digestOf}. */
export type Digest = `${string}:${string}`;

interface AlgorithmInfo {
  /** Length of the lowercase hex encoding. */
  hexLength: number;
  /** Node's name for the hash, or null when Node cannot compute it (then it is unverifiable). */
  nodeHash: string | null;
}

/**
 * Algorithms with a fixed encoding. sha256 is the canonical one; sha512 is registered by the
 * image-spec; sha384 is accepted as go-digest does; blake3 is registered on image-spec main but
 * Node has no implementation, so it validates but cannot be verified.
 */
const ALGORITHMS: Readonly<Record<string, AlgorithmInfo>> = {
  sha256: { hexLength: 64, nodeHash: 'sha256' },
  sha512: { hexLength: 128, nodeHash: 'sha512' },
  sha384: { hexLength: 96, nodeHash: 'sha384' },
  blake3: { hexLength: 64, nodeHash: null },
};

/** The canonical algorithm, used whenever a caller does not choose. */
export const CANONICAL_ALGORITHM = 'sha256';

const ALGORITHM_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED_RE = /^[a-zA-Z0-9=_-]+$/;
const HEX_RE = /^[a-f0-9]+$/;

/** The OCI digest grammar, anchored: `algorithm ":" encoded`. */
export const DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  readonly digest: Digest;
  readonly algorithm: string;
  readonly encoded: string;
  /** True when the algorithm is registered and has the exact length and alphabet it requires. */
  readonly registered: boolean;
  /** True when this process can compute the algorithm (so content can be verified against it). */
  readonly verifiable: boolean;
}

export interface ParseDigestOptions {
  /**
   * `strict` (default): only registered algorithms are accepted (`DIGEST_UNSUPPORTED` otherwise).
   * `grammar`: any digest that fits the OCI grammar is accepted; unknown algorithms come back with
   * `registered: false` so callers can match them but must not claim to have verified them.
   */
  mode?: 'strict' | 'grammar';
}

/**
 * Parse and validate a digest. Errors are `DIGEST_INVALID` (format or length) or
 * `DIGEST_UNSUPPORTED` (a grammatical digest whose algorithm is not registered, in strict mode).
 *
 * @example
 * parseDigest('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855').algorithm // 'sha256'
 */
export function parseDigest(input: string, options: ParseDigestOptions = {}): ParsedDigest {
  const colon = input.indexOf(':');
  if (colon <= 0 || colon === input.length - 1) {
    throw invalid(input, 'expected "algorithm:encoded"');
  }
  const algorithm = input.slice(0, colon);
  const encoded = input.slice(colon + 1);
  const info = ALGORITHMS[algorithm];
  if (info) {
    // As go-digest does, the length is checked before the alphabet.
    if (encoded.length !== info.hexLength) {
      throw invalid(
        input,
        `${algorithm} needs ${info.hexLength} hex characters, got ${encoded.length}`,
        'length',
      );
    }
    if (!HEX_RE.test(encoded)) {
      throw invalid(input, `${algorithm} must be lowercase hex (a-f, 0-9)`);
    }
    return {
      digest: input as Digest,
      algorithm,
      encoded,
      registered: true,
      verifiable: info.nodeHash !== null,
    };
  }
  if (!ALGORITHM_RE.test(algorithm) || !ENCODED_RE.test(encoded)) {
    throw invalid(input, 'does not fit the OCI digest grammar algorithm:encoded');
  }
  if ((options.mode ?? 'strict') === 'strict') {
    throw new ImgdigestError(
      'DIGEST_UNSUPPORTED',
      `unsupported digest algorithm "${algorithm}" in "${input}"`,
      {
        details: { digest: input, algorithm },
      },
    );
  }
  return { digest: input as Digest, algorithm, encoded, registered: false, verifiable: false };
}

function invalid(input: string, why: string, kind: 'format' | 'length' = 'format'): ImgdigestError {
  return new ImgdigestError('DIGEST_INVALID', `invalid digest "${truncate(input)}": ${why}`, {
    details: { digest: input, kind },
  });
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** True when `input` is a valid digest with a registered algorithm. Never throws. */
export function isDigest(input: string): input is Digest {
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

/** Whether this process can compute `algorithm`. */
export function isVerifiableAlgorithm(algorithm: string): boolean {
  return ALGORITHMS[algorithm]?.nodeHash != null;
}

/** The algorithms a caller may ask {@link digestOf} to compute. */
export function computableAlgorithms(): string[] {
  return Object.entries(ALGORITHMS)
    .filter(([, info]) => info.nodeHash !== null)
    .map(([name]) => name);
}

function hashFor(algorithm: string): Hash {
  const info = ALGORITHMS[algorithm];
  if (!info?.nodeHash) {
    throw new ImgdigestError('DIGEST_UNSUPPORTED', `cannot compute digest algorithm "${algorithm}"`, {
      details: { algorithm, computable: computableAlgorithms() },
    });
  }
  // node:crypto loads on the first hash, not at start: `imgdigest digest` by HEAD hashes nothing.
  return process.getBuiltinModule('node:crypto').createHash(info.nodeHash);
}

/**
 * The digest of some bytes.
 * @example digestOf(new Uint8Array()) // 'sha256:e3b0c442...'
 */
export function digestOf(bytes: Uint8Array | string, algorithm: string = CANONICAL_ALGORITHM): Digest {
  return `${algorithm}:${hashFor(algorithm).update(bytes).digest('hex')}`;
}

/** An incremental digester: feed it chunks, then ask for the digest once. */
export interface Digester {
  update(chunk: Uint8Array): void;
  /** Bytes seen so far. */
  readonly size: number;
  digest(): Digest;
}

export function createDigester(algorithm: string = CANONICAL_ALGORITHM): Digester {
  const hash = hashFor(algorithm);
  let size = 0;
  let done: Digest | undefined;
  return {
    update(chunk) {
      size += chunk.byteLength;
      hash.update(chunk);
    },
    get size() {
      return size;
    },
    digest() {
      done ??= `${algorithm}:${hash.digest('hex')}`;
      return done;
    },
  };
}

/** The digest of everything an async iterable (a Node stream, a web stream) yields. */
export async function digestOfStream(
  source: AsyncIterable<Uint8Array | string>,
  algorithm: string = CANONICAL_ALGORITHM,
): Promise<{ digest: Digest; size: number }> {
  const digester = createDigester(algorithm);
  for await (const chunk of source) {
    digester.update(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return { digest: digester.digest(), size: digester.size };
}

/** Throw `DIGEST_MISMATCH` naming both digests unless `actual` equals `expected`. */
export function assertDigest(expected: string, actual: string, what = 'content'): void {
  if (expected !== actual) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `${what} digest mismatch: expected ${expected}, got ${actual}`,
      {
        details: { expected, actual },
      },
    );
  }
}

export interface VerifyOptions {
  /** When set, the byte count must match too (`SIZE_MISMATCH`), and excess bytes fail early. */
  size?: number;
  /** Label used in error messages, e.g. `blob sha256:...` or a file path. */
  what?: string;
}

/**
 * A pass-through stream that hashes what flows through it and fails at the end (before the
 * consumer sees the end of the stream) if the digest or size is not the one expected. Bytes past
 * the expected size fail at once, so a lying server cannot make us read forever.
 *
 * @example
 * await pipeline(body, verifyingStream(descriptor.digest, { size: descriptor.size }), file)
 */
export function verifyingStream(expected: string, options: VerifyOptions = {}): Transform {
  const parsed = parseDigest(expected);
  if (!parsed.verifiable) {
    throw new ImgdigestError('DIGEST_UNSUPPORTED', `cannot verify ${expected}: algorithm not available`, {
      details: { digest: expected },
    });
  }
  const digester = createDigester(parsed.algorithm);
  const what = options.what ?? 'content';
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      digester.update(chunk);
      if (options.size !== undefined && digester.size > options.size) {
        callback(sizeMismatch(what, options.size, `more than ${options.size}`));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (options.size !== undefined && digester.size !== options.size) {
        callback(sizeMismatch(what, options.size, String(digester.size)));
        return;
      }
      const actual = digester.digest();
      if (actual !== expected) {
        callback(
          new ImgdigestError(
            'DIGEST_MISMATCH',
            `${what} digest mismatch: expected ${expected}, got ${actual}`,
            {
              details: { expected, actual },
            },
          ),
        );
        return;
      }
      callback();
    },
  });
}

function sizeMismatch(what: string, expected: number, actual: string): ImgdigestError {
  return new ImgdigestError(
    'SIZE_MISMATCH',
    `${what} size mismatch: expected ${expected} bytes, got ${actual}`,
    {
      details: { expected, actual },
    },
  );
}

/** The digest of the empty blob, `sha256:e3b0...`. */
export const EMPTY_DIGEST: Digest = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
