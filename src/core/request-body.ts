/**
 * @module request-body
 * Reading a whole (small) request body on a server, up to a limit, without ever destroying the
 * request: destroying it would destroy the socket, and the answer that says "too large" with it.
 * The servers (webhook, embedded registry) each turn the outcome into their own kind of answer.
 */
import type { IncomingMessage } from 'node:http';

/** The body, or why there is none. */
export type RequestBody =
  | { ok: true; body: Buffer }
  /** More than the limit: declared by Content-Length (nothing read) or seen while reading. */
  | { ok: false; reason: 'too-large' }
  /** The client went away (or the connection failed) before the body was complete. */
  | { ok: false; reason: 'aborted'; error: Error };

/**
 * Read a request body of at most `limit` bytes. A declared Content-Length over the limit is refused
 * before reading (the caller decides whether to drain the rest); a body that passes the limit while
 * streaming stops being kept, and the rest is drained and discarded so an answer can still be sent.
 * @example
 * const read = await readRequestBody(req, 1024 * 1024);
 * if (!read.ok && read.reason === 'too-large') return send413(res);
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<RequestBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    return Promise.resolve({ ok: false, reason: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: RequestBody): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limit) {
        chunks.length = 0;
        req.resume();
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    // Plain `on`, not `once`: `finish` already acts once, and a request emits each of these once;
    // `once` would wrap every listener in a closure of its own, per request.
    req.on('data', onData);
    req.on('end', () =>
      finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }),
    );
    req.on('error', (error) => finish({ ok: false, reason: 'aborted', error }));
    req.on('close', () => {
      if (!req.complete) {
        const error = new Error('client closed the connection before the body was complete');
        finish({ ok: false, reason: 'aborted', error });
      }
    });
  });
}
