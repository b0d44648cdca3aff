/**
 * @module registry/node-http
 * The transport's second HTTP client: Node's own `node:http` / `node:https` with keep-alive
 * agents, for programs that send a few requests and exit (`imgdigest digest REF`).
 *
 * Why a second client: undici is the faster one per request (it resolves thousands of tags at
 * the wire's speed), but it is a library of its own to load, about 40 ms of a short command's
 * start on these machines, plus its HTTP parser's WebAssembly compiled at the first connection.
 * `node:http` is built into Node (its parser is native code): a process that sends one HEAD with
 * it starts about 50 ms sooner (bench/profile/startup-floors.ts). Everything above the exchange
 * (retries, redirects, the host limit, timeouts to the millisecond, the request log, credentials
 * per origin) is the transport's and the same with either client.
 *
 * What this client does not do, and where the transport uses undici instead: proxies (a request
 * to a host that is not on loopback while `HTTPS_PROXY`/`HTTP_PROXY` is set), a caller's undici
 * dispatcher, and the 1 MiB socket reads of `dispatcher.ts` (a command that moves large blobs
 * should use undici).
 */
import type { ClientRequest, Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { type TlsSettings, tlsOptions } from './connection-settings.js';

export interface NodeHttpOptions extends TlsSettings {
  /** Connections per origin. */
  connections: number;
}

/** What an attempt's abort signal must offer (the transport's `Deadline`, or an `AbortSignal`). */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface NodeRequestOptions {
  method: string;
  headers: Record<string, string>;
  body: Readable | Uint8Array | string | null;
  signal: AbortLike;
  /** The longest pause while the response body streams, in ms (0: none). */
  bodyTimeout: number;
}

/** A response as undici's `request()` gives one: lower-case header names, repeated ones as arrays. */
export interface NodeResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Readable;
}

/** How much of an unwanted body `discardBody` reads to keep the connection before closing it. */
const DISCARD_LIMIT = 128 * 1024;

/** The codes undici gives the same failures: retries and error messages read them. */
const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
const BODY_TIMEOUT = 'UND_ERR_BODY_TIMEOUT';

interface Origin {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
}

export class NodeHttpClient {
  readonly #options: NodeHttpOptions;
  #http: HttpAgent | undefined;
  #https: HttpAgent | undefined;
  /** Each origin taken apart once. */
  readonly #origins = new Map<string, Origin>();

  constructor(options: NodeHttpOptions) {
    this.#options = options;
  }

  /** One exchange: resolves with the status and headers, the body still to read. */
  request(
    target: { readonly origin: string; readonly path: string },
    options: NodeRequestOptions,
  ): Promise<NodeResponse> {
    const { signal } = options;
    if (signal.aborted) return Promise.reject(signal.reason);
    const origin = this.#origin(target.origin);
    const sent: RequestOptions = {
      agent: this.#agent(origin.secure),
      method: options.method,
      hostname: origin.hostname,
      port: origin.port,
      path: target.path,
      headers: options.headers,
    };
    const module = process.getBuiltinModule(
      origin.secure ? 'node:https' : 'node:http',
    ) as typeof import('node:http');
    return new Promise<NodeResponse>((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = module.request(sent);
      } catch (error) {
        reject(error);
        return;
      }
      let response: IncomingMessage | undefined;
      /** Whether the connection (TLS included) is up: a timeout before that is a connect timeout. */
      let connected = false;
      req.once('socket', (socket) => {
        if (req.reusedSocket) connected = true;
        else socket.once(origin.secure ? 'secureConnect' : 'connect', () => (connected = true));
      });
      const onAbort = () => {
        const reason = signal.reason;
        if (response) response.destroy(reason as Error);
        else if (!connected && (reason as { code?: unknown } | null)?.code === 'UND_ERR_HEADERS_TIMEOUT') {
          // The attempt's time ran out before a connection was made: say so, as undici does.
          req.destroy(Object.assign(new Error('could not connect'), { code: CONNECT_TIMEOUT }));
        } else req.destroy(reason as Error);
      };
      signal.addEventListener('abort', onAbort);
      // `on`, not `once`: a socket that fails while the body streams reports it here too (the body
      // gets it as well), and an 'error' event without a listener would end the process.
      req.on('error', (error) => {
        if (!response) {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        }
      });
      req.once('response', (res: IncomingMessage) => {
        response = res;
        const done = () => signal.removeEventListener('abort', onAbort);
        res.once('close', done);
        const socket = res.socket;
        if (options.bodyTimeout > 0 && socket && !res.complete) {
          const onIdle = () => {
            res.destroy(Object.assign(new Error('response body stalled'), { code: BODY_TIMEOUT }));
          };
          socket.setTimeout(options.bodyTimeout, onIdle);
          const stop = () => {
            socket.setTimeout(0);
            socket.removeListener('timeout', onIdle);
          };
          res.once('end', stop);
          res.once('close', stop);
        }
        resolve({ statusCode: res.statusCode ?? 0, headers: headersOf(res.rawHeaders), body: res });
      });
      const { body } = options;
      if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
        req.end(body ?? undefined);
        return;
      }
      // A streamed body: its failure fails the request, and a request that ends early stops it.
      body.on('error', (error) => req.destroy(error));
      req.once('close', () => {
        if (!body.readableEnded && !body.destroyed) body.destroy();
      });
      body.pipe(req);
    });
  }

  #origin(origin: string): Origin {
    let parsed = this.#origins.get(origin);
    if (!parsed) {
      const url = new URL(origin);
      const secure = url.protocol === 'https:';
      parsed = {
        secure,
        // `[::1]` is a URL's way to write the address; a socket wants `::1`.
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port ? Number(url.port) : secure ? 443 : 80,
      };
      this.#origins.set(origin, parsed);
    }
    return parsed;
  }

  /** A keep-alive agent per scheme, `connections` sockets per origin; made at the first request. */
  #agent(secure: boolean): HttpAgent {
    if (secure) {
      if (!this.#https) {
        const { Agent } = process.getBuiltinModule('node:https');
        this.#https = new Agent({
          keepAlive: true,
          maxSockets: this.#options.connections,
          ...tlsOptions(this.#options),
        });
      }
      return this.#https;
    }
    if (!this.#http) {
      const { Agent } = process.getBuiltinModule('node:http');
      this.#http = new Agent({ keepAlive: true, maxSockets: this.#options.connections });
    }
    return this.#http;
  }

  /** Close every connection. */
  async close(): Promise<void> {
    this.#http?.destroy();
    this.#https?.destroy();
    this.#http = undefined;
    this.#https = undefined;
  }
}

/** Headers as undici shapes them: names in lower case, a repeated header's values in an array. */
function headersOf(raw: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

/**
 * Read and drop what is left of a body. Up to 128 KiB are read, so that the connection can carry
 * the next request; a larger body closes the connection instead (undici's `dump()` does the same).
 */
export function discardBody(body: Readable): Promise<void> {
  const undiciBody = body as Readable & { dump?: () => Promise<void> };
  if (typeof undiciBody.dump === 'function') return undiciBody.dump();
  return new Promise((resolve) => {
    if (body.readableEnded || body.destroyed) {
      resolve();
      return;
    }
    let read = 0;
    body.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > DISCARD_LIMIT) body.destroy();
    });
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
  });
}
