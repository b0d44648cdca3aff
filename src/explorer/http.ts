/**
 * @module explorer/http
 * HTTP rules every explorer answer follows: security headers (a strict Content-Security-Policy with
 * no inline script), the Host check that keeps a loopback explorer from DNS rebinding, caching
 * (digest-named answers are immutable with the digest as ETag; tag-named answers are not), content
 * negotiation for the JSON API, and error answers with the CLI's messages and codes.
 */
import type { Context } from 'hono';
import { ERROR_CODES, type ErrorCode, isImgdigestError, isLoopbackHost } from './library.js';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(c: Context): void {
  c.header('Content-Security-Policy', CSP);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
}

/**
 * A loopback explorer answers only requests whose Host is a loopback name: a web page elsewhere
 * cannot reach it through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
 */
export function hostAllowed(host: string | undefined, loopbackOnly: boolean): boolean {
  if (!loopbackOnly) return true;
  return host !== undefined && isLoopbackHost(host);
}

export function wantsJson(c: Context): boolean {
  const accept = c.req.header('accept') ?? '';
  if (c.req.query('format') === 'json') return true;
  const json = accept.indexOf('application/json');
  const html = accept.indexOf('text/html');
  return json !== -1 && (html === -1 || json < html);
}

/**
 * Caching headers: a digest-named answer never changes (immutable, ETag = the digest), anything
 * else must be asked again. Returns true when the client's copy is current (answer 304).
 */
export function cacheFor(c: Context, digest: string | null): boolean {
  c.header('Vary', 'Accept');
  if (!digest) {
    c.header('Cache-Control', 'no-cache');
    return false;
  }
  const etag = `"${digest}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', 'public, max-age=31536000, immutable');
  const match = c.req.header('if-none-match');
  return match?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag) === true;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  USAGE: 400,
  INPUT_INVALID: 400,
  REFERENCE_INVALID: 400,
  DIGEST_INVALID: 400,
  DIGEST_UNSUPPORTED: 400,
  PLATFORM_INVALID: 400,
  YAML_INVALID: 400,
  CONFIG_INVALID: 400,
  NOT_FOUND: 404,
  PLATFORM_NOT_FOUND: 404,
  HOST_NOT_ALLOWED: 403,
  TIMEOUT: 504,
  MANIFEST_TOO_LARGE: 413,
};

export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  exitCode: number;
}

/** What an error becomes: the CLI's one-line message and code, and an HTTP status. */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (isImgdigestError(error)) {
    return {
      status: STATUS[error.code] ?? 502,
      code: error.code,
      message: error.message.split('\n')[0]!,
      exitCode: ERROR_CODES[error.code] ?? 3,
    };
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      status: 504,
      code: 'TIMEOUT',
      message: 'the page took longer than its time budget',
      exitCode: 3,
    };
  }
  return {
    status: 500,
    code: 'INTERNAL',
    message: `error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    exitCode: 3,
  };
}
