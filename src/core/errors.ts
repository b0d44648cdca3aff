/**
 * @module errors
 * One error class for the whole library, with stable string codes.
 *
 * Every failure that imgdigest reports carries a `code` a program can switch on, and a message a
 * person can read in one line. The code decides the CLI exit code, so the mapping lives here, next
 * to the codes, and nowhere else.
 */

/** Stable error codes. Adding a code is a minor change; renaming one is a breaking change. */
export const ERROR_CODES = {
  // bad input (exit 2)
  USAGE: 2,
  INPUT_INVALID: 2,
  REFERENCE_INVALID: 2,
  DIGEST_INVALID: 2,
  DIGEST_UNSUPPORTED: 2,
  PLATFORM_INVALID: 2,
  YAML_INVALID: 2,
  CONFIG_INVALID: 2,
  // content that does not hold what it claims, or cannot be found (exit 3)
  DIGEST_MISMATCH: 3,
  SIZE_MISMATCH: 3,
  MANIFEST_INVALID: 3,
  MANIFEST_TOO_LARGE: 3,
  MANIFEST_UNSUPPORTED: 3,
  PLATFORM_NOT_FOUND: 3,
  // registry, network, local sources and the file system (exit 3)
  REGISTRY_ERROR: 3,
  AUTH_FAILED: 3,
  NETWORK_ERROR: 3,
  TIMEOUT: 3,
  SOURCE_ERROR: 3,
  NOT_FOUND: 3,
  LOCK_MISSING: 3,
  /** A request to a host outside the client's allow-list (`allowedHosts`), refused before sending. */
  HOST_NOT_ALLOWED: 3,
  /** A file could not be written (a read-only or missing folder, a full disk): not bad input. */
  WRITE_FAILED: 3,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Exit codes of the CLI: 0 success, 1 findings, 2 bad input or usage, 3 registry/network/source/file-system failure. */
export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2, FAILURE: 3 } as const;

const BRAND = Symbol.for('imgdigest.error');

export interface ImgdigestErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure (never secrets): shown by `--json` and `--debug`. */
  details?: Record<string, unknown>;
  /** Whether trying again later may succeed (network trouble, 429, 5xx). */
  retryable?: boolean;
}

/**
 * The base error of imgdigest. `instanceof` works across duplicated copies of the package
 * (a `Symbol.for` brand, as undici does), and `isImgdigestError()` is the type guard.
 *
 * @example
 * try { parseReference('Nginx') } catch (e) { if (isImgdigestError(e)) console.error(e.code) }
 */
export class ImgdigestError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ImgdigestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImgdigestError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The CLI exit code this error maps to (2 bad input, 3 failure). */
  get exitCode(): number {
    return ERROR_CODES[this.code] ?? EXIT.FAILURE;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Type guard for {@link ImgdigestError} that works across package copies. */
export function isImgdigestError(value: unknown): value is ImgdigestError {
  return value instanceof ImgdigestError;
}

/** The exit code for any thrown value: coded errors map by code, anything else is a failure. */
export function exitCodeOf(error: unknown): number {
  return isImgdigestError(error) ? error.exitCode : EXIT.FAILURE;
}
