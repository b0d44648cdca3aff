/**
 * @module webhook/http
 * Small HTTP pieces of the webhook server: the body reader with a size cap, and the answers for
 * requests that never reach an admission decision (a Kubernetes `Status` object, so a person
 * reading the API server's log sees the reason).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ImgdigestError } from '../core/errors.js';

/** Large enough for an UPDATE of the biggest object etcd stores (1.5 MiB) plus its oldObject. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The body, or why there is none: 413 too large, 0 the client went away (nothing to answer). */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 413 | 0; message: string };

/**
 * Read a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before reading; a chunked body is refused as soon as it passes the limit (the rest is drained
 * and discarded by Node, bounded by the server's request timeout).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, message: tooLarge(limit) });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.resume();
        finish({ ok: false, status: 413, message: tooLarge(limit) });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () =>
      finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }),
    );
    // A client that goes away mid-body (or is cut off by the request timeout): nothing to answer.
    const gone = () => finish({ ok: false, status: 0, message: 'the client went away' });
    req.once('error', gone);
    req.once('close', gone);
  });
}

function tooLarge(limit: number): string {
  return `request body is larger than ${limit} bytes`;
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

/** Answer with a body of a given type. */
export function send(
  res: ServerResponse,
  code: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** True for `application/json` with or without parameters (`; charset=utf-8`). */
export function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/** Split `HOST:PORT` (IPv6 as `[::]:8443`). */
export function parseAddr(addr: string, what = '--addr'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new ImgdigestError('USAGE', `${what} must be HOST:PORT (e.g. 0.0.0.0:8443), got "${addr}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
