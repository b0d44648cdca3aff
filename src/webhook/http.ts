/**
 * @module webhook/http
 * Small HTTP pieces of the webhook server: the body reader with a size cap, and the answers for
 * requests that never reach an admission decision (a Kubernetes `Status` object, so a person
 * reading the API server's log sees the reason).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestBody } from '../core/request-body.js';

/** Large enough for an UPDATE of the biggest object etcd stores (1.5 MiB) plus its oldObject. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The body, or why there is none: 413 too large, 0 the client went away (nothing to answer). */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 413 | 0; message: string };

/**
 * What `readRequestBody` (core) found, as the webhook answers it: the body, 413 when it passed
 * `limit` (a declared Content-Length over the limit is refused before reading, and the rest of the
 * body is drained and discarded by Node, bounded by the server's request timeout), or 0 when the
 * client went away (nothing to answer).
 */
export function bodyResult(req: IncomingMessage, read: RequestBody, limit: number): BodyResult {
  if (read.ok) return read;
  if (read.reason === 'aborted') return { ok: false, status: 0, message: 'the client went away' };
  req.resume();
  return { ok: false, status: 413, message: `request body is larger than ${limit} bytes` };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Answer with a Kubernetes `Status` (`{kind: Status, status: Failure, code, reason, message}`). */
export function sendStatus(
  res: ServerResponse,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason: REASONS[code] ?? 'Unknown',
    message,
  });
  send(res, code, 'application/json', body, headers);
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Answer with a body of a given type. */
export function send(
  res: ServerResponse,
  code: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = NO_HEADERS,
): void {
  if (res.headersSent || res.destroyed) return;
  const length = Buffer.byteLength(body);
  res.writeHead(
    code,
    headers === NO_HEADERS
      ? { 'content-type': contentType, 'content-length': length }
      : { 'content-type': contentType, 'content-length': length, ...headers },
  );
  res.end(body);
}

/** True for `application/json` with or without parameters (`; charset=utf-8`). */
export function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}
