/**
 * @module registry-server/connections
 * Defences of the embedded registry at the connection level, against clients that hold sockets
 * open rather than send requests:
 *
 * - a request body must keep a minimum rate (`bodyMinBytesPerSecond` over each `bodyGraceMs`
 *   window), so one byte every ten seconds cannot keep a socket forever, while a stall shorter
 *   than the window, or a slow but moving client, is never cut; time the server itself spends not
 *   reading (disk backpressure, a pending password check) is not held against the client;
 * - with authentication, at most `maxUnauthenticatedConnections` connections that have not yet
 *   sent valid credentials: a new connection closes the oldest such one (preferring those without a
 *   request in progress), so an attacker holding many sockets cannot lock out clients that log in:
 *   their fresh connections always get in;
 * - answers that refuse a request whose body is still coming (401, 429, 408) go out at once with
 *   `Connection: close` and the socket is closed after them, instead of waiting for a body the
 *   client may never finish.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import { type RegistryError, registryError, sendRegistryError } from './errors.js';
import type { RegistryLimits } from './limits.js';
import type { RegistryLogger } from './route-context.js';

/** How long a closing socket may take to flush its last answer before it is destroyed anyway. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The key per-client limits count under: the remote address, an IPv6 address by its /64 (one host
 * usually owns a whole /64, and per-address counting there would be no limit at all).
 */
export function clientKey(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''));
}

/**
 * Send `error` now, whatever is left of the request body, with `Connection: close`, and close the
 * socket once the answer is out (or after a grace period if the client does not read it).
 */
export function answerAndClose(req: IncomingMessage, res: ServerResponse, error: RegistryError): void {
  const socket = req.socket;
  const destroy = (): void => {
    // The request first: once its answer is finished, Node detaches it from the socket, and a
    // handler still reading it would otherwise wait forever (an upload session stuck busy).
    req.destroy();
    socket.destroy();
  };
  const timer = setTimeout(destroy, CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  if (res.headersSent) {
    destroy();
    return;
  }
  error.headers.Connection = 'close';
  res.once('finish', destroy);
  sendRegistryError(res, error, req.method === 'HEAD');
}

/** True when the request announces a body (Content-Length above 0, or chunked). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Watch the body of `req` and answer 408 (closing the connection) when, over a whole window of
 * `bodyGraceMs`, fewer than `bodyMinBytesPerSecond` × window bytes arrived while the server was
 * waiting for them. Progress is counted on the socket, so watching does not consume the body.
 */
export function watchBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: Pick<RegistryLimits, 'bodyMinBytesPerSecond' | 'bodyGraceMs'>,
  log: RegistryLogger,
): void {
  if (limits.bodyMinBytesPerSecond <= 0 || !hasRequestBody(req)) return;
  const socket = req.socket;
  const needed = (limits.bodyMinBytesPerSecond * limits.bodyGraceMs) / 1000;
  let mark = socket.bytesRead;
  const timer = setInterval(() => {
    const read = socket.bytesRead;
    const progressed = read - mark;
    mark = read;
    // Bytes waiting in the request stream mean the server is the slow side (disk, a lock, a
    // password check): the client is not to blame for that window.
    if (progressed >= needed || req.readableLength > 0) return;
    stop();
    const rate = `${formatRate(limits.bodyMinBytesPerSecond)} over ${limits.bodyGraceMs / 1000}s`;
    log.warn(
      `${req.method} ${req.url?.split('?')[0]?.slice(0, 200)}: request body slower than ${rate}, closing the connection`,
    );
    answerAndClose(
      req,
      res,
      registryError(slowBodyCode(req), {
        status: 408,
        message: `the request body arrived slower than ${rate} (the registry's minimum body rate); the connection is closed`,
      }),
    );
  }, limits.bodyGraceMs);
  timer.unref();
  const stop = (): void => clearInterval(timer);
  req.once('end', stop);
  req.once('close', stop);
  res.once('close', stop);
}

function slowBodyCode(req: IncomingMessage): 'BLOB_UPLOAD_INVALID' | 'MANIFEST_INVALID' | 'UNKNOWN' {
  const path = req.url ?? '';
  if (path.includes('/blobs/uploads')) return 'BLOB_UPLOAD_INVALID';
  if (path.includes('/manifests/')) return 'MANIFEST_INVALID';
  return 'UNKNOWN';
}

function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond % 1024 === 0 ? `${bytesPerSecond / 1024} KiB/s` : `${bytesPerSecond} B/s`;
}

/**
 * Counts the connections that have not yet authenticated and keeps them under a maximum by
 * closing the oldest when a new one arrives.
 */
export class ConnectionGuard {
  /** In arrival order: the first is the oldest. */
  private readonly pending = new Set<Socket>();
  /** Those with a request being answered (a first login waiting for its password check). */
  private readonly answering = new Set<Socket>();
  private evicted = 0;
  private lastReport = 0;

  constructor(
    private readonly max: number,
    private readonly log: RegistryLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Unauthenticated connections open right now. */
  get size(): number {
    return this.pending.size;
  }

  /** A new connection: it counts until {@link authenticated} is called for it. */
  add(socket: Socket): void {
    while (this.pending.size >= this.max) {
      const victim = this.oldestIdle() ?? (this.pending.values().next().value as Socket);
      this.pending.delete(victim);
      victim.destroy();
      this.evicted++;
    }
    this.pending.add(socket);
    socket.once('close', () => {
      this.pending.delete(socket);
      this.answering.delete(socket);
    });
    this.report();
  }

  /**
   * A request arrived on `socket`: until it is answered, the connection is closed only when every
   * other unauthenticated one is busy too (sockets that never complete a request go first).
   */
  answeringOn(socket: Socket, res: { once(event: 'close', listener: () => void): unknown }): void {
    if (!this.pending.has(socket)) return;
    this.answering.add(socket);
    res.once('close', () => this.answering.delete(socket));
  }

  private oldestIdle(): Socket | undefined {
    for (const socket of this.pending) if (!this.answering.has(socket)) return socket;
    return undefined;
  }

  /** A request on `socket` carried valid credentials: the connection no longer counts. */
  authenticated(socket: Socket): void {
    this.pending.delete(socket);
    this.answering.delete(socket);
  }

  /** At most one warning a minute, however hard the registry is hit. */
  private report(): void {
    if (this.evicted === 0 || this.now() - this.lastReport < 60_000) return;
    this.lastReport = this.now();
    this.log.warn(
      `closed ${this.evicted} unauthenticated connection(s) to stay under ${this.max} (--max-unauthenticated)`,
    );
    this.evicted = 0;
  }
}
