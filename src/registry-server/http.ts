/**
 * @module registry-server/http
 * Small HTTP helpers of the embedded registry: reading request bodies without ever destroying the
 * socket (so an error can still be answered), range headers, pagination, and plain answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { readRequestBody } from '../core/request-body.js';
import { registryError } from './errors.js';

/**
 * Copy a request body into `sink`, calling `onChunk` for each chunk first (it may throw to stop the
 * copy). Resolves when `sink` finished; rejects after `sink` is closed when anything failed, so the
 * caller may then roll back the data safely. The request is never destroyed (that would destroy the
 * socket and the error answer with it): what is left of it is drained instead.
 */
export function copyRequestBody(
  req: IncomingMessage,
  sink: Writable,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      req.off('data', onData);
      req.resume();
      const done = (): void => reject(error);
      if (sink.closed) done();
      else {
        sink.once('close', done);
        sink.destroy();
      }
    };
    const onData = (chunk: Buffer): void => {
      try {
        onChunk(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (!sink.write(chunk)) {
        req.pause();
        sink.once('drain', () => req.resume());
      }
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!failed) sink.end();
    });
    req.once('error', fail);
    req.once('close', () => {
      if (!req.complete) fail(new Error('client closed the connection before the body was complete'));
    });
    sink.once('error', fail);
    sink.once('finish', () => {
      if (!failed) resolve();
    });
  });
}

/** Read a whole (small) body; more than `limit` bytes is a 413 with `code` (the rest is not kept). */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  code: 'MANIFEST_INVALID' | 'SIZE_INVALID',
): Promise<Buffer> {
  const read = await readRequestBody(req, limit);
  if (read.ok) return read.body;
  if (read.reason === 'aborted') throw read.error;
  throw registryError(code, {
    status: 413,
    message: `request body is larger than the ${limit}-byte limit`,
    detail: { limit },
  });
}

/** Bytes of an unwanted request body read (and dropped) before an error answer; beyond, the connection is closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Call `answer` once the request body is consumed, so the client (still sending) can read the
 * answer instead of failing with EPIPE. A body larger than {@link DRAIN_LIMIT} is not waited for:
 * the answer goes out with `Connection: close`.
 */
export function afterBody(req: IncomingMessage, answer: (close: boolean) => void): void {
  if (req.complete || req.readableEnded) {
    answer(false);
    return;
  }
  let drained = 0;
  let answered = false;
  const once = (close: boolean): void => {
    if (answered) return;
    answered = true;
    req.off('data', onData);
    answer(close);
  };
  const onData = (chunk: Buffer): void => {
    drained += chunk.byteLength;
    if (drained > DRAIN_LIMIT) once(true);
  };
  req.on('data', onData);
  req.once('end', () => once(false));
  req.once('close', () => once(true));
  req.resume();
}

/** Parse a chunk's `Content-Range: start-end` (the spec's form; `bytes start-end/total` is accepted too). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) {
    throw registryError('RANGE_INVALID', { status: 416, message: `malformed Content-Range "${header}"` });
  }
  return { start: Number(match[1]), end: Number(match[2]) };
}

/** An integer header such as Content-Length, or undefined. */
export function intHeader(req: IncomingMessage, name: string): number | undefined {
  const value = req.headers[name];
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Resolve a `Range` request header (RFC 9110 14.2) against a blob of `size` bytes: a single
 * `a-b`, `a-` or `-n` range. Anything else (several ranges, other units, garbage) is ignored and the
 * whole blob is served, as RFC 9110 allows; a range that lies outside the blob is 416.
 */
export function resolveRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return null;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number) {
  return registryError('RANGE_INVALID', {
    status: 416,
    message: `requested range is not satisfiable for a blob of ${size} bytes`,
    headers: { 'Content-Range': `bytes */${size}` },
  });
}

/** One page of a sorted list for `n`/`last` (both optional), and the query of the next page. */
export function paginate(
  items: string[],
  query: URLSearchParams,
): { page: string[]; next?: { n: number; last: string } } {
  const nRaw = query.get('n');
  const last = query.get('last');
  let start = 0;
  if (last !== null && last !== '') {
    // `last` is exclusive and need not exist: start after where it would sort.
    start = items.findIndex((item) => item > last);
    if (start < 0) start = items.length;
  }
  if (nRaw === null || nRaw === '') return { page: items.slice(start) };
  if (!/^\d+$/.test(nRaw)) {
    throw registryError('PAGINATION_NUMBER_INVALID', { detail: { n: nRaw } });
  }
  const n = Number(nRaw);
  // distribution-spec: with n=0 the list MUST be empty and there MUST be no Link header.
  if (n === 0) return { page: [] };
  const page = items.slice(start, start + n);
  const more = start + n < items.length;
  return more ? { page, next: { n, last: page[page.length - 1]! } } : { page };
}

/** The RFC 8288 `Link` header of the next page. */
export function nextLink(path: string, next: { n: number; last: string }): string {
  const query = new URLSearchParams({ n: String(next.n), last: next.last });
  return `<${path}?${query.toString()}>; rel="next"`;
}

/** A JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
  head = false,
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': body.byteLength });
  res.end(head ? undefined : body);
}

/** An answer without a body. */
export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]> = {},
): void {
  // RFC 9110 8.6: no Content-Length on a 204.
  res.writeHead(status, status === 204 ? headers : { ...headers, 'Content-Length': 0 });
  res.end();
}
