/**
 * @module registry/transport
 * HTTP for the registry client: undici `request()` over keep-alive pools (or node:http, see
 * `httpClient`), a concurrency limit per host, timeouts, retries, redirects followed by hand, and a
 * request log.
 *
 * Why redirects are followed here and not by undici's redirect interceptor (blob downloads
 * redirect to object storage, so every client meets them):
 * - a redirect from https to plain http is refused (except to loopback); undici follows it;
 * - every hop is a line of the request log (`-v` shows the `307`, then the storage URL), has its
 *   own timeout, and a 5xx from the storage host is retried like one from the registry;
 * - each hop picks its dispatcher by its own URL: a loopback registry that redirects to a remote
 *   host reaches it through the proxy, and a remote one redirecting to loopback does not;
 * - the hop limit and its error name the request the user made, not the last hop.
 * The `Authorization` header goes only to the origin it was meant for; undici 7 also drops it on
 * a cross-origin redirect, but here it is never added to another origin's request at all.
 *
 * Connection pools, TLS settings and proxies are in `dispatcher.ts`; the node:http client in
 * `node-http.ts`. undici is loaded when the first request that needs it is sent (or when a
 * transport that will use it is made), never by a program that uses node:http alone.
 */
import { Readable, Transform } from 'node:stream';
import { KeyedSemaphore } from '../../core/async.js';
import { ImgdigestError } from '../../core/errors.js';
import { isLoopbackHost, proxyVariables } from '../../core/net.js';
import { compileAllowList, type HostAllowList, hostNotAllowed } from './allowed-hosts.js';
import type { Dispatchers } from './dispatcher.js';
import { networkError, redactUrl } from './errors.js';
import { discardBody, NodeHttpClient } from './node-http.js';
import {
  isRetryableNetworkError,
  isRetryableStatus,
  nextRetryDelay,
  parseRetryAfter,
  type RetryPolicy,
  retryPolicy,
  sleep,
} from './retry.js';
import { isSecureOrLoopback } from './scheme.js';
import type {
  Dispatcher,
  RequestOptions as UndiciRequestOptions,
  request as undiciRequest,
} from './undici.js';

/** One line of the request log: what the CLI's `-v` prints. Never holds credentials. */
export interface RequestLogEntry {
  method: string;
  /** The URL with secrets in the query redacted. */
  url: string;
  /** The status, or null when no response came (network error, timeout). */
  status: number | null;
  /** Milliseconds until the response headers (or the failure). */
  ms: number;
  /** 0 for the first try, 1.. for retries. */
  attempt: number;
  /** The error code when no response came. */
  error?: string;
}

export type RequestLogger = (entry: RequestLogEntry) => void;

/**
 * The HTTP client underneath: `undici` (the default) is the faster per request, for programs that
 * send many (batches, copies, servers); `node` (node:http) starts about 40 ms sooner, for a
 * program that sends a few and exits. Requests through a proxy, and every request when a
 * `dispatcher` is given, go through undici either way.
 */
export type HttpClientKind = 'undici' | 'node';

export interface TransportOptions {
  /** An undici dispatcher to use instead of the transport's own (it is not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** The HTTP client (default `undici`); see {@link HttpClientKind}. */
  httpClient?: HttpClientKind;
  /** Do not verify TLS certificates (separate from allowing plain http). */
  skipTlsVerify?: boolean;
  /** A PEM file of extra certificate authorities (`NODE_EXTRA_CA_CERTS` is honoured as well). */
  caFile?: string;
  userAgent?: string;
  /** Requests in flight per host (default 8); also the connection limit per origin. */
  concurrency?: number;
  /** Connect, response-headers and body-idle timeout, each (default 30 000 ms). */
  timeoutMs?: number;
  /** Retry budget for 408/429/5xx and network errors (default 3 retries, 500 ms .. 10 s, 60 s total). */
  retry?: Partial<RetryPolicy>;
  /** Called once per HTTP exchange (each retry and redirect hop): method, redacted URL, status, ms. */
  logger?: RequestLogger;
  /** Environment for proxy variables; the client also reads config files and helpers' PATH from it (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Send requests to these hosts only (`host`, `host:port`, `*.domain`): every hop is checked,
   * redirects and token realms included, and a refused request is never sent (`HOST_NOT_ALLOWED`).
   * Unset: any host.
   */
  allowedHosts?: readonly string[];
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * What a request sends: bytes, text, or a function that opens a stream of the bytes. The function
 * is called once per attempt (retries, the second try after an auth challenge, a 307 redirect), so
 * a large blob is streamed every time and never held in memory.
 */
export type RequestBody = Uint8Array | string | (() => Readable | AsyncIterable<Uint8Array>);

/**
 * Where a request goes: its origin and path (with the query), the `URL` made only when something
 * asks for it (the request log, an error message, a redirect). The session sends its `/v2/...`
 * paths this way: a `URL` per request, parsed and then taken apart again for undici, was a
 * measurable part of a manifest HEAD.
 */
export class RequestTarget {
  #url: URL | undefined;

  /** Use {@link RequestTarget.of} or {@link RequestTarget.resolve}: `path` must be what a URL's would be. */
  private constructor(
    /** `http://127.0.0.1:5000` */
    readonly origin: string,
    /** `127.0.0.1:5000` */
    readonly host: string,
    /** `/v2/app/manifests/1.0`, with the query if any. */
    readonly path: string,
    url: URL | undefined,
  ) {
    this.#url = url;
  }

  static of(url: URL): RequestTarget {
    const search = url.search;
    return new RequestTarget(url.origin, url.host, search ? `${url.pathname}${search}` : url.pathname, url);
  }

  /**
   * `path` (absolute, or relative to this target) on this target's origin, without parsing a URL
   * when the path is plain (segments of letters, digits and `._~:@-`, none starting with a dot):
   * such a path is already what a URL would make of it. Anything else (a query, escapes, dot
   * segments, another origin) goes through `URL`.
   */
  resolve(path: string): RequestTarget {
    return PLAIN_PATH.test(path)
      ? new RequestTarget(this.origin, this.host, path, undefined)
      : RequestTarget.of(new URL(path, this.url));
  }

  get url(): URL {
    this.#url ??= new URL(this.path, this.origin);
    return this.#url;
  }
}

/** A path a URL keeps exactly as written (see {@link RequestTarget.resolve}). */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~:@-][A-Za-z0-9._~:@-]*)+\/?$|^\/$/;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL | RequestTarget;
  headers?: Record<string, string>;
  /** Sent to the request's origin only; dropped on a redirect to any other origin. */
  authorization?: string | undefined;
  body?: RequestBody;
  signal?: AbortSignal;
  /** Retry 408/429/5xx answers (default true). Network errors are retried regardless. */
  retryStatuses?: boolean;
  /** Follow 301/302/303/307/308 (default true). */
  followRedirects?: boolean;
  /** Told the size of every piece of a streamed body as it is handed over (upload progress). */
  onBodyChunk?: (bytes: number) => void;
  /** Bytes of the response body buffered before the socket is paused (undici's default: 64 KiB; undici only). */
  highWaterMark?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  readonly method: string;
  /** The body stream. Read it, `dump()` it or destroy it: the host's permit is held until it closes. */
  readonly body: Readable;
  /** A header's first value. */
  header(name: string): string | undefined;
  /**
   * The whole body, refusing more than `limit` bytes with the error `tooLarge` builds. Resolves
   * once the connection is free for the next request (see {@link connectionFree}).
   */
  bytes(limit?: number, tooLarge?: (size: number) => Error): Promise<Uint8Array>;
  /** Discard the body; resolves once the connection is free for the next request. */
  dump(): Promise<void>;
}

/**
 * One turn of the event loop, for a connection to go back to its pool. undici frees a connection
 * on the turn after its response was read to the end; a request sent before that finds every
 * connection of the pool busy and opens another: one more TCP and TLS handshake, a round trip or
 * two to a remote registry. Bodies read whole are what a next request follows at once (the ping,
 * a token, a 401 retried, an index and then its manifest, the steps of an upload), so `bytes()`
 * and `dump()` wait for it: `imgdigest digest REF` talks to a registry over one connection.
 */
function connectionFree(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** undici's side of the transport, loaded on first use. */
interface UndiciClient {
  readonly request: typeof undiciRequest;
  readonly dispatchers: Dispatchers;
}

/** What either client answers an exchange with. */
interface ExchangeResponse {
  readonly statusCode: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly body: Readable;
}

/** Statuses that carry a `Location` to follow. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** More hops than this is a loop (go-containerregistry and browsers use similar bounds). */
export const MAX_REDIRECTS = 10;
/** Bodies read whole (errors, tokens, tag lists) are refused above this size unless told otherwise. */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

export class Transport {
  readonly timeoutMs: number;
  readonly #options: TransportOptions;
  readonly #policy: RetryPolicy;
  readonly #limits: KeyedSemaphore;
  readonly #connections: number;
  /** undici's request() and this transport's dispatchers, once loaded. */
  #undici: UndiciClient | undefined;
  #undiciLoading: Promise<UndiciClient> | undefined;
  #node: NodeHttpClient | undefined;
  /** Per origin: whether its requests go through node:http. */
  readonly #viaNode = new Map<string, boolean>();
  readonly #allowList: HostAllowList | null;
  readonly #allowedOrigins = new Map<string, boolean>();

  constructor(options: TransportOptions = {}) {
    this.#options = options;
    this.#allowList = options.allowedHosts ? compileAllowList(options.allowedHosts) : null;
    this.#policy = retryPolicy(options.retry);
    const concurrency = options.concurrency ?? 8;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    // Made now so a bad option fails at construction, not at the first request.
    this.#limits = new KeyedSemaphore(concurrency);
    this.#connections = concurrency;
    // Loaded now, while the caller goes on, when it will be needed anyway.
    if (options.httpClient !== 'node' || options.dispatcher) void this.#loadUndici().catch(() => {});
  }

  #loadUndici(): Promise<UndiciClient> {
    this.#undiciLoading ??= Promise.all([import('./dispatcher.js'), import('./undici.js')]).then(
      ([{ Dispatchers }, { request }]) => {
        this.#undici = {
          request,
          dispatchers: new Dispatchers({
            ...this.#options,
            connections: this.#connections,
            timeoutMs: this.timeoutMs,
          }),
        };
        return this.#undici;
      },
    );
    return this.#undiciLoading;
  }

  /** node:http for `target`: when asked for, with no dispatcher given and no proxy in the way. */
  #nodeFor(target: RequestTarget): NodeHttpClient | null {
    const options = this.#options;
    if (options.httpClient !== 'node' || options.dispatcher) return null;
    let direct = this.#viaNode.get(target.origin);
    if (direct === undefined) {
      // As dispatcher.ts decides: loopback hosts are never proxied, others are when a proxy is set.
      const { httpProxy, httpsProxy } = proxyVariables(options.env ?? process.env);
      direct = isLoopbackHost(target.host) || (!httpProxy && !httpsProxy);
      this.#viaNode.set(target.origin, direct);
    }
    if (!direct) return null;
    this.#node ??= new NodeHttpClient({ ...options, connections: this.#connections });
    return this.#node;
  }

  /** Send a request: retries, redirects and the host limit included. Throws only for no-response failures. */
  send(req: HttpRequest): Promise<HttpResponse> {
    let target: RequestTarget;
    let release: (() => void) | null;
    try {
      target = req.url instanceof RequestTarget ? req.url : RequestTarget.of(req.url);
      this.#checkHost(req.method, target, '');
      // A free permit is taken without a promise; only a full host waits in the queue.
      release = req.signal?.aborted ? null : this.#limits.tryAcquire(target.host);
    } catch (error) {
      return Promise.reject(error);
    }
    // Not an async function around another: one async function per request, the exchange.
    if (release) return this.#exchange(req, target, release);
    return this.#limits
      .acquire(target.host, req.signal)
      .then((granted) => this.#exchange(req, target, granted));
  }

  /** When the host permit comes back: with the headers when there is no body, else when the body closes. */
  #done(response: TransportResponse, release: () => void): HttpResponse {
    if (response.method === 'HEAD' || response.status === 204 || response.status === 304) {
      // No body: the exchange ended with its headers (undici has finished the message before
      // the answer reaches here), so the permit comes back now. Held until the empty body's
      // `close` event instead, it was still taken when the next request of a busy batch asked,
      // and that request queued (a promise and a closure per tag).
      void response.dump();
      release();
    } else response.body.once('close', release);
    return response;
  }

  /**
   * The request with its retries and redirects, under a host permit it gives back (see
   * {@link #done}); one async function per request.
   */
  async #exchange(req: HttpRequest, first: RequestTarget, release: () => void): Promise<HttpResponse> {
    try {
      const started = Date.now();
      const userAgent = this.#options.userAgent ?? 'imgdigest';
      let target = first;
      let method = req.method;
      let body = req.body;
      let retries = 0;
      let hops = 0;
      for (;;) {
        const headers: Record<string, string> = { 'user-agent': userAgent };
        if (req.headers) Object.assign(headers, req.headers);
        // The credential belongs to the origin it was issued for, never to where we get sent.
        if (req.authorization && target.origin === first.origin) headers.authorization = req.authorization;
        const attemptStart = Date.now();
        // undici checks headersTimeout on a coarse (~0.5 s) clock; this timer makes "no answer
        // within timeoutMs" hold to the millisecond, connecting included. A streamed body re-arms
        // it with every chunk it hands over: a 1 GiB upload may take minutes, and what must not
        // exceed timeoutMs is a pause, not the transfer.
        const deadline = new Deadline(this.timeoutMs, req.signal);
        const sentBody = typeof body === 'function' ? openBody(body, req, deadline) : (body ?? null);
        const node = this.#nodeFor(target);
        let response: ExchangeResponse;
        try {
          if (node) {
            response = await node.request(target, {
              method,
              headers,
              body: sentBody,
              signal: deadline,
              bodyTimeout: this.timeoutMs,
            });
          } else {
            const undici = this.#undici ?? (await this.#loadUndici());
            // One options object per attempt, built without spreads; undici's request() hands it on.
            const options: UndiciRequestOptions = {
              dispatcher: undici.dispatchers.for(target),
              method,
              headers,
              body: sentBody,
              signal: deadline,
              headersTimeout: this.timeoutMs,
              bodyTimeout: this.timeoutMs,
            };
            if (req.highWaterMark) options.highWaterMark = req.highWaterMark;
            // undici closes the connection after every HEAD unless told otherwise (in case a server
            // sends a body anyway): a new TCP connection per manifest HEAD, which cost resolving
            // many tags most of its time. Registries answer HEAD without a body; keep the socket.
            if (method === 'HEAD') options.reset = false;
            response = await undici.request(target, options);
          }
        } catch (caught) {
          deadline.release();
          if (req.signal?.aborted) throw req.signal.reason;
          // A connect timeout (node:http reports one when the deadline passes while connecting)
          // keeps its own words; any other failure at the deadline is the deadline's.
          const error =
            deadline.timedOut && codeOf(caught) !== 'UND_ERR_CONNECT_TIMEOUT'
              ? Object.assign(new Error('no response headers'), { code: 'UND_ERR_HEADERS_TIMEOUT' })
              : caught;
          this.#log(method, target, null, Date.now() - attemptStart, retries, codeOf(error));
          const delay = isRetryableNetworkError(error, this.#policy)
            ? nextRetryDelay(this.#policy, { retries, elapsedMs: Date.now() - started })
            : null;
          if (delay === null) throw networkError(error, method, target.url, this.timeoutMs);
          retries++;
          await sleep(delay, req.signal);
          continue;
        } finally {
          deadline.stopTimer();
        }
        // The caller's signal still aborts the body while it streams.
        if (req.signal) response.body.once('close', () => deadline.release());
        const { statusCode: status } = response;
        this.#log(method, target, status, Date.now() - attemptStart, retries);
        const location = REDIRECTS.has(status) ? firstHeader(response.headers, 'location') : undefined;
        if (location && req.followRedirects !== false) {
          await discardBody(response.body).catch(() => {});
          hops++;
          if (hops > MAX_REDIRECTS) {
            const url = first.url;
            throw new ImgdigestError(
              'NETWORK_ERROR',
              `too many redirects: ${req.method} ${redactUrl(url)} (more than ${MAX_REDIRECTS})`,
              {
                details: { method: req.method, url: redactUrl(url) },
              },
            );
          }
          const from = target;
          target = RequestTarget.of(this.#redirectTarget(from.url, location, req.method));
          this.#checkHost(method, target, ` (redirected from ${from.host})`);
          if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          continue;
        }
        if (req.retryStatuses !== false && isRetryableStatus(status)) {
          const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
          const delay = nextRetryDelay(this.#policy, {
            retries,
            elapsedMs: Date.now() - started,
            retryAfterMs,
          });
          if (delay !== null) {
            await discardBody(response.body).catch(() => {});
            retries++;
            await sleep(delay, req.signal);
            continue;
          }
        }
        return this.#done(new TransportResponse(response, target, method, this.timeoutMs), release);
      }
    } catch (error) {
      release();
      throw error;
    }
  }

  #redirectTarget(from: URL, location: string, method: string): URL {
    let target: URL;
    try {
      target = new URL(location, from);
    } catch {
      throw new ImgdigestError('NETWORK_ERROR', `invalid redirect from ${method} ${redactUrl(from)}`, {
        details: { method, url: redactUrl(from) },
      });
    }
    // A redirect may not downgrade a TLS connection to plain http (except on loopback).
    if (from.protocol === 'https:' && !isSecureOrLoopback(target)) {
      throw new ImgdigestError(
        'NETWORK_ERROR',
        `refusing redirect from ${redactUrl(from)} to plain http ${redactUrl(target)}`,
        {
          details: { method, url: redactUrl(from), location: redactUrl(target) },
        },
      );
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new ImgdigestError(
        'NETWORK_ERROR',
        `refusing redirect to ${target.protocol} from ${redactUrl(from)}`,
        {
          details: { method, url: redactUrl(from) },
        },
      );
    }
    return target;
  }

  /** The allow-list's verdict, before a request leaves: refused requests are never sent. */
  #checkHost(method: string, target: RequestTarget, why: string): void {
    if (!this.#allowList) return;
    // The verdict depends on the scheme, host and port only: once per origin.
    let allowed = this.#allowedOrigins.get(target.origin);
    if (allowed === undefined) {
      allowed = this.#allowList.allows(target.url);
      this.#allowedOrigins.set(target.origin, allowed);
    }
    if (!allowed) throw hostNotAllowed(method, target.url, this.#allowList, why);
  }

  #log(
    method: string,
    target: RequestTarget,
    status: number | null,
    ms: number,
    attempt: number,
    error?: string,
  ): void {
    if (!this.#options.logger) return;
    const out: RequestLogEntry = { method, url: redactUrl(target.url), status, ms, attempt };
    if (error) out.error = error;
    try {
      this.#options.logger(out);
    } catch {
      // A failing logger must not fail the request.
    }
  }

  /** Close the transport's own connections (a dispatcher passed in is left open). */
  async close(): Promise<void> {
    const undici = this.#undici;
    this.#undici = undefined;
    this.#undiciLoading = undefined;
    const node = this.#node;
    this.#node = undefined;
    await Promise.all([undici?.dispatchers.close(), node?.close()]);
  }
}

/**
 * The signal undici is given for one attempt: aborts when the attempt's time is up or the caller's
 * signal aborts. undici takes any object with `aborted`, `reason` and `addEventListener` /
 * `removeEventListener` (or an EventEmitter's `on`); an AbortController (and `AbortSignal.any`)
 * costs tens of microseconds each in Node 20, a sizeable part of a manifest HEAD on a fast
 * registry. Not an EventEmitter either: its construction and undici's `once()` wrapper were a
 * microsecond a request, for the one listener undici adds.
 */
class Deadline {
  aborted = false;
  reason: unknown = undefined;
  timedOut = false;
  /** The `abort` listeners (undici adds one per request); each is called once. */
  #listeners: Array<() => void> = [];
  #timer: NodeJS.Timeout;
  #stopped = false;
  readonly #ms: number;
  readonly #onTimeout = () => {
    this.timedOut = true;
    this.#abort(Object.assign(new Error('no response headers'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
  };
  readonly #outer: AbortSignal | undefined;
  readonly #onOuterAbort: (() => void) | undefined;

  constructor(ms: number, outer: AbortSignal | undefined) {
    this.#ms = ms;
    this.#timer = setTimeout(this.#onTimeout, ms);
    this.#outer = outer;
    if (outer) {
      if (outer.aborted) this.#abort(outer.reason);
      else {
        this.#onOuterAbort = () => this.#abort(outer.reason);
        outer.addEventListener('abort', this.#onOuterAbort, { once: true });
      }
    }
  }

  addEventListener(type: string, listener: () => void): void {
    if (type === 'abort' && !this.aborted) this.#listeners.push(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type !== 'abort') return;
    const at = this.#listeners.indexOf(listener);
    if (at !== -1) this.#listeners.splice(at, 1);
  }

  #abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }

  /** The response headers came (or the attempt failed). */
  stopTimer(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Start the time again (a streamed request body moved); nothing once the headers came. */
  rearm(): void {
    if (this.#stopped || this.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimeout, this.#ms);
  }

  /** The attempt is over, body included: stop listening to the caller's signal. */
  release(): void {
    clearTimeout(this.#timer);
    if (this.#onOuterAbort) this.#outer?.removeEventListener('abort', this.#onOuterAbort);
  }
}

/**
 * A fresh stream of a streamed body, for one attempt: every chunk it yields is told to the
 * request's `onBodyChunk` and re-arms the attempt's deadline.
 */
function openBody(
  open: () => Readable | AsyncIterable<Uint8Array>,
  req: HttpRequest,
  deadline: Deadline,
): Readable {
  const onChunk = (bytes: number) => {
    req.onBodyChunk?.(bytes);
    deadline.rearm();
  };
  const opened = open();
  const bytes = opened instanceof Readable ? opened : Readable.from(opened, { objectMode: false });
  const watched = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onChunk(chunk.length);
      callback(null, chunk);
    },
  });
  // pipe() forwards neither errors nor an early end of the reader, so both are wired by hand.
  bytes.once('error', (error) => watched.destroy(error));
  watched.once('close', () => {
    if (!bytes.destroyed) bytes.destroy();
  });
  return bytes.pipe(watched);
}

function firstHeader(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'ERROR';
}

/** Keeps a deliberate destroy of a body from crashing the process (readers see errors themselves). */
function ignoreError(): void {}

/** The response the transport hands out: one object per response, its methods on the prototype. */
class TransportResponse implements HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Readable;

  readonly #target: RequestTarget;

  constructor(
    response: ExchangeResponse,
    target: RequestTarget,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    this.#target = target;
    this.status = response.statusCode;
    this.headers = response.headers as ResponseHeaders;
    this.body = response.body;
    // Destroying a body makes undici emit an AbortError; readers see errors through their own
    // iteration or pipe, so this listener only keeps a deliberate destroy from crashing the process.
    this.body.on('error', ignoreError);
  }

  /** Made when asked: most responses (a manifest HEAD) never need it. */
  get url(): URL {
    return this.#target.url;
  }

  header(name: string): string | undefined {
    return firstHeader(this.headers, name.toLowerCase());
  }

  async bytes(limit = DEFAULT_BODY_LIMIT, tooLarge?: (size: number) => Error): Promise<Uint8Array> {
    const { body, method, url } = this;
    const overLimit = (size: number) =>
      tooLarge?.(size) ??
      new ImgdigestError(
        'REGISTRY_ERROR',
        `response too large: ${method} ${redactUrl(url)} sent more than ${limit} bytes`,
        {
          details: { method, url: redactUrl(url), limit },
        },
      );
    const declared = Number(firstHeader(this.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      body.destroy();
      throw overLimit(declared);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          body.destroy();
          throw overLimit(size);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw networkError(error, method, url, this.timeoutMs);
    }
    await connectionFree();
    return new Uint8Array(Buffer.concat(chunks));
  }

  async dump(): Promise<void> {
    await discardBody(this.body).catch(ignoreError);
    await connectionFree();
  }
}
