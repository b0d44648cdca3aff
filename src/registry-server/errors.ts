/**
 * @module registry-server/errors
 * The error answers of the embedded registry: one class that carries the HTTP status and the
 * distribution-spec error code, and the function that writes the spec's JSON body.
 *
 * The body is always `{"errors":[{"code","message","detail"}]}` (distribution-spec "Error Codes");
 * clients such as containers/image and docker switch on `code`, so codes are never invented here:
 * they are the spec's code-1..code-14 plus the few that distribution also sends (RANGE_INVALID,
 * PAGINATION_NUMBER_INVALID, TAG_INVALID, UNKNOWN, UNAVAILABLE).
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
import type { ServerResponse } from 'node:http';

/** Every code the server may send, with the status it goes with and the spec's message. */
export const REGISTRY_ERRORS = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'manifest references a manifest or blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown to registry'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'the operation is unsupported'],
  TOOMANYREQUESTS: [429, 'too many requests'],
  // Codes distribution sends beyond the spec's list (registry/api/v2/errors.go, errcode/register.go).
  RANGE_INVALID: [416, 'invalid content range'],
  PAGINATION_NUMBER_INVALID: [400, 'invalid number of results requested'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  UNKNOWN: [500, 'unknown error'],
  UNAVAILABLE: [503, 'service unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export interface RegistryErrorOptions {
  /** Overrides the code's usual status (416 for an out-of-order chunk, 413 for a huge manifest). */
  status?: number;
  /** Overrides the spec's message with a more precise one (never secrets). */
  message?: string;
  /** The spec's free-form `detail` (a digest, a name, an object). */
  detail?: unknown;
  /** Extra response headers (`WWW-Authenticate`, `Content-Range`, `Retry-After`). */
  headers?: Record<string, string>;
  /** Further errors sent in the same body (distribution lists every missing blob of a manifest). */
  more?: Array<{ code: RegistryErrorCode; message?: string; detail?: unknown }>;
  cause?: unknown;
}

/** An error answer: thrown anywhere inside a handler and written by {@link sendRegistryError}. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;
  readonly more: NonNullable<RegistryErrorOptions['more']>;

  constructor(code: RegistryErrorCode, options: RegistryErrorOptions = {}) {
    const [status, message] = REGISTRY_ERRORS[code];
    super(options.message ?? message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.more = options.more ?? [];
  }

  /** The spec's JSON body. */
  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const first = { code: this.code, message: this.message, detail: this.detail };
    const rest = this.more.map((e) => ({
      code: e.code,
      message: e.message ?? REGISTRY_ERRORS[e.code][1],
      detail: e.detail,
    }));
    return { errors: [first, ...rest] };
  }
}

/** Shorthand: `throw registryError('BLOB_UNKNOWN', {detail: digest})`. */
export function registryError(code: RegistryErrorCode, options?: RegistryErrorOptions): RegistryError {
  return new RegistryError(code, options);
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}

/**
 * Write an error answer. HEAD answers carry the headers but no body (RFC 9110), and a response
 * whose headers already went out can only be cut short.
 */
export function sendRegistryError(res: ServerResponse, error: RegistryError, head = false): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = Buffer.from(JSON.stringify(error.toJSON()));
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.byteLength);
  res.end(head ? undefined : body);
}
