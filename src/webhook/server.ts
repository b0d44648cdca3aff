/**
 * @module webhook/server
 * The admission webhook's HTTPS server (Node's own `https`): `POST /validate`, `POST /mutate`,
 * `GET /healthz`, `/readyz`, `/metrics`; with `metricsAddr`, `/metrics` moves to a plain-HTTP port of
 * its own (so a NetworkPolicy can keep it from the clients of the webhook port).
 *
 * Defensive by construction, because the API server waits on us for every Pod:
 * - every AdmissionReview is answered HTTP 200 with the request's uid; a body that is not one
 *   gets a 4xx `Status` (400 malformed or wrong apiVersion, 413 too large, 415 not JSON);
 * - slow clients are cut off (TLS handshake, header and whole-request timeouts) instead of
 *   holding sockets; an unexpected exception answers 500, never crashes the process;
 * - mutation answers within `resolutionBudgetMs` of arrival, whatever the registry does;
 * - certificates and the rules file are reloaded when they change, with no restart.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { listenError } from '../core/errno.js';
import { isImgdigestError } from '../core/errors.js';
import { parseAddr } from '../core/net.js';
import { readRequestBody } from '../core/request-body.js';
import type { CircuitChange } from '../resolver/breaker.js';
import { openResolver } from '../resolver/open.js';
import type { BaseResolve } from '../resolver/resolver.js';
import type { RegistryClientOptions } from '../sources/registry/index.js';
import { type AdmissionDeps, type Decision, mutation, validate } from './admission.js';
import { defaultWebhookConfig, loadWebhookConfig, type WebhookConfig } from './config.js';
import { bodyResult, DEFAULT_MAX_BODY_BYTES, isJson, send, sendStatus } from './http.js';
import { admissionLog, createLogger, type Logger, type LoggerOptions } from './logging.js';
import { type Endpoint, type Rejection, WebhookMetrics } from './metrics.js';
import { watchConfig, watchTls } from './reload.js';
import { type AdmissionRequest, parseAdmissionReview, reviewResponseBody } from './review.js';
import { readTlsFiles, type TlsFiles, type TlsMaterial } from './tls.js';
import type { WatchOptions } from './watch.js';

export interface ServerLimits {
  /** Largest request body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Time to receive the request headers (default 10 s). */
  headersTimeoutMs?: number;
  /** Time to receive the whole request (default 30 s, the API server's longest webhook timeout). */
  requestTimeoutMs?: number;
  /** Idle keep-alive time (default 100 s: longer than Go's 90 s idle timeout, so the API server's
   * client closes idle connections first and never sends on one we are closing). */
  keepAliveTimeoutMs?: number;
  /** Time to finish the TLS handshake (default 10 s). */
  handshakeTimeoutMs?: number;
  /** How often Node checks the header/request timeouts (default 1 s). */
  connectionsCheckingIntervalMs?: number;
}

export interface WebhookServerOptions {
  /** `HOST:PORT` (default `0.0.0.0:8443`; port 0 picks one). */
  addr?: string;
  tls: TlsFiles;
  /** The rules file with its `webhook:` section; reloaded when it changes. */
  configFile?: string;
  /** The configuration when there is no file (default: the defaults). */
  config?: WebhookConfig;
  /** Serve `/metrics` over plain HTTP here (`HOST:PORT`) instead of on the TLS port. */
  metricsAddr?: string;
  /** Registry client options for the resolver (credentials, TLS, timeouts). */
  registry?: RegistryClientOptions;
  /** Use this instead of the registry client (tests); caching, coalescing and limits still apply. */
  resolveBase?: BaseResolve;
  logger?: Logger;
  log?: LoggerOptions;
  limits?: ServerLimits;
  /** How mounted files are watched (poll interval). */
  watch?: WatchOptions;
  /** Export Node process metrics too (once per process). */
  processMetrics?: boolean;
}

export interface RunningWebhook {
  /** `https://HOST:PORT` (127.0.0.1 when listening on every address). */
  readonly url: string;
  readonly port: number;
  readonly metricsUrl: string | undefined;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** The configuration in use. */
  config(): WebhookConfig;
  /** The certificate in use. */
  certificate(): TlsMaterial;
  ready(): boolean;
  /** Read the TLS files and the config now instead of waiting for the watcher. */
  reload(): Promise<void>;
  /** Stop accepting, finish requests in flight, release everything. */
  close(): Promise<void>;
}

function listen(server: Server | HttpsServer, addr: string, what: string): Promise<AddressInfo> {
  const { host, port } = parseAddr(addr, { flag: what, example: '0.0.0.0:8443' });
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(listenError(error, addr, what));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(scheme: string, address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** A registry's circuit changed: the gauge follows, and the log says why and for how long. */
function circuitChanged(change: CircuitChange, metrics: WebhookMetrics, logger: Logger): void {
  metrics.circuit(change.key, change.to);
  const fields = { registry: change.key, failures: change.failures, from: change.from, to: change.to };
  if (change.to === 'open') {
    const last = change.lastError instanceof Error ? change.lastError.message : String(change.lastError);
    logger.warn(
      { ...fields, lastError: last.split('\n')[0] },
      'registry circuit open: not asked until the cool-down ends',
    );
  } else if (change.to === 'half-open') {
    logger.info(fields, 'registry circuit half-open: one probe goes to the registry');
  } else {
    logger.info(
      fields,
      change.forgotten ? 'registry circuit forgotten' : 'registry circuit closed: the registry answers again',
    );
  }
}

/** Listener for errors that are not ours to handle (one function for every request). */
function ignore(): void {}

/** Start the webhook. Throws `CONFIG_INVALID` when the TLS files or the config cannot be used. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhook> {
  const logger = options.logger ?? createLogger(options.log);
  const logAdmission = admissionLog(logger);
  const metrics = new WebhookMetrics({ processMetrics: options.processMetrics ?? false });
  const limits = options.limits ?? {};
  const maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let config = options.configFile
    ? await loadWebhookConfig(options.configFile)
    : (options.config ?? defaultWebhookConfig());
  let tls = await readTlsFiles(options.tls);
  metrics.certificateExpiry(tls.notAfter);
  const { webhook } = config;
  const resolver = await openResolver({
    // A registry request is shared by every admission waiting for that tag (coalescing), so it may
    // outlive the budget of the one that started it; each admission still stops waiting at its own.
    // A refused connection is not retried (the budget would run out waiting): the breaker
    // handles a registry that is down.
    registry: {
      timeoutMs: webhook.resolutionBudgetMs + 2000,
      ...(webhook.allowedRegistries ? { allowedHosts: webhook.allowedRegistries } : {}),
      ...options.registry,
      retry: { refusedConnections: false, ...options.registry?.retry },
    },
    ...(options.resolveBase ? { base: options.resolveBase } : {}),
    concurrency: webhook.resolveConcurrency,
    cache: {
      ttlMs: webhook.cacheTtlSeconds * 1000,
      maxEntries: webhook.cacheMaxEntries,
      maxBytes: webhook.cacheMaxBytes,
    },
    onResult: metrics.resolverResult,
    ...(webhook.breakerFailures > 0
      ? {
          breaker: {
            failureThreshold: webhook.breakerFailures,
            coolDownMs: webhook.breakerCoolDownSeconds * 1000,
            onStateChange: (change: CircuitChange) => circuitChanged(change, metrics, logger),
          },
        }
      : {}),
  });
  let deps: AdmissionDeps = { rules: config.rules, settings: config.webhook, resolver };
  let closing = false;

  const reject = (
    res: ServerResponse,
    reason: Rejection,
    code: number,
    message: string,
    headers?: Record<string, string>,
  ) => {
    metrics.rejected(reason);
    sendStatus(res, code, message, headers);
  };

  async function admission(
    endpoint: Endpoint,
    req: IncomingMessage,
    res: ServerResponse,
    start: number,
  ): Promise<void> {
    if (req.method !== 'POST') {
      const message = `${req.method} is not allowed: POST an AdmissionReview`;
      return reject(res, 'method_not_allowed', 405, message, { allow: 'POST' });
    }
    if (!isJson(req.headers['content-type'])) {
      return reject(
        res,
        'unsupported_media_type',
        415,
        `content-type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
      );
    }
    const body = bodyResult(req, await readRequestBody(req, maxBodyBytes), maxBodyBytes);
    if (!body.ok) {
      if (body.status === 0) return;
      return reject(res, 'too_large', body.status, body.message);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.body.toString('utf8'));
    } catch (e) {
      return reject(res, 'bad_request', 400, `the body is not valid JSON: ${(e as Error).message}`);
    }
    let request: ReturnType<typeof parseAdmissionReview>;
    try {
      request = parseAdmissionReview(parsed);
    } catch (e) {
      if (isImgdigestError(e)) return reject(res, 'bad_request', 400, e.message);
      throw e;
    }
    const current = deps;
    const decision =
      endpoint === 'validate'
        ? validate(request, current)
        : mutation(request, current, {
            deadline: performance.timeOrigin + start + current.settings.resolutionBudgetMs,
          });
    // A warm /mutate is decided at once, like /validate: answered without another turn.
    answer(endpoint, request, decision instanceof Promise ? await decision : decision, res, start);
  }

  /** Send the decision, count it and log it. */
  function answer(
    endpoint: Endpoint,
    request: AdmissionRequest,
    decision: Decision,
    res: ServerResponse,
    start: number,
  ): void {
    send(res, 200, 'application/json', reviewResponseBody(decision.response));
    const ms = performance.now() - start;
    metrics.admission(endpoint, decision.verdict, ms / 1000);
    logAdmission(endpoint, request, decision, ms);
  }

  /** An unexpected exception while answering: logged with its stack, answered 500 (never a crash). */
  function failed(e: unknown, path: string, res: ServerResponse): void {
    logger.error(
      { err: { message: (e as Error)?.message, stack: (e as Error)?.stack }, path },
      'request failed',
    );
    reject(
      res,
      'internal_error',
      500,
      `internal error: ${(e as Error)?.message ?? String(e)}`.split('\n')[0]!,
    );
  }

  /** Route a request. Not async: an admission's promise is the only one made per request. */
  function handle(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    req.on('error', ignore); // a client that resets mid-request is not our failure
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    try {
      switch (path) {
        case '/validate':
        case '/mutate':
          admission(path === '/validate' ? 'validate' : 'mutate', req, res, start).catch((e: unknown) =>
            failed(e, path, res),
          );
          return;
        case '/healthz':
          send(res, 200, 'text/plain', 'ok\n');
          return;
        case '/readyz':
          if (closing) send(res, 503, 'text/plain', 'shutting down\n');
          else send(res, 200, 'text/plain', 'ok\n');
          return;
        case '/metrics':
          // With a metrics port, metrics are served there only: the TLS port is the one open to
          // the API server (and, portably, to everyone), the metrics port can be restricted.
          if (options.metricsAddr) {
            reject(res, 'not_found', 404, `no route ${path} here: metrics are served on --metrics-addr`);
          } else {
            serveMetrics(res).catch((e: unknown) => failed(e, path, res));
          }
          return;
        default: {
          const metricsToo = options.metricsAddr ? '' : ' or /metrics';
          reject(
            res,
            'not_found',
            404,
            `no route ${path}: use /validate, /mutate, /healthz, /readyz${metricsToo}`,
          );
        }
      }
    } catch (e) {
      failed(e, path, res);
    }
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    const { contentType, body } = await metrics.render();
    send(res, 200, contentType, body);
  }

  const server = createHttpsServer(
    {
      cert: tls.cert,
      key: tls.key,
      handshakeTimeout: limits.handshakeTimeoutMs ?? 10_000,
      headersTimeout: limits.headersTimeoutMs ?? 10_000,
      requestTimeout: limits.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 100_000,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs ?? 1000,
    },
    handle,
  );
  server.on('tlsClientError', (e) => logger.debug({ err: { message: e.message } }, 'TLS handshake failed'));
  server.on('clientError', (e, socket) => {
    // Malformed HTTP or a timeout: answer what Node would, without logging a stack per bad client.
    if (socket.writable && !socket.destroyed) {
      const code = (e as NodeJS.ErrnoException).code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(
        `HTTP/1.1 ${code} ${code === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      );
    }
    socket.destroy();
  });

  const reloadContext = { logger, metrics, ...(options.watch ? { watch: options.watch } : {}) };
  const watchers = [
    watchTls(
      options.tls,
      tls,
      (material) => {
        server.setSecureContext({ cert: material.cert, key: material.key });
        tls = material;
        metrics.certificateExpiry(material.notAfter);
      },
      reloadContext,
    ),
  ];
  if (options.configFile) {
    const apply = (next: WebhookConfig) => {
      config = next;
      deps = { rules: next.rules, settings: next.webhook, resolver };
      // Platform or rules may have changed; answers cached under the old ones must not be reused.
      resolver.clear();
    };
    watchers.push(await watchConfig(options.configFile, apply, reloadContext));
  }

  let metricsServer: Server | undefined;
  let address: AddressInfo;
  let metricsUrl: string | undefined;
  try {
    address = await listen(server, options.addr ?? '0.0.0.0:8443', '--addr');
    if (options.metricsAddr) {
      metricsServer = createHttpServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/metrics') void serveMetrics(res).catch(() => sendStatus(res, 500, 'metrics failed'));
        else if (path === '/healthz') send(res, 200, 'text/plain', 'ok\n');
        else sendStatus(res, 404, `no route ${path}: use /metrics`);
      });
      metricsUrl = urlOf('http', await listen(metricsServer, options.metricsAddr, '--metrics-addr'));
    }
  } catch (e) {
    for (const w of watchers) w.close();
    server.close();
    await resolver.close();
    throw e;
  }
  logger.info({ url: urlOf('https', address), metricsUrl, config: config.source }, 'webhook listening');

  return {
    url: urlOf('https', address),
    port: address.port,
    metricsUrl,
    metrics,
    logger,
    config: () => config,
    certificate: () => tls,
    ready: () => !closing,
    async reload() {
      await Promise.all(watchers.map((w) => w.check()));
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const w of watchers) w.close();
      const closed = (s: Server | HttpsServer) => new Promise<void>((resolve) => s.close(() => resolve()));
      const done = Promise.all([closed(server), metricsServer ? closed(metricsServer) : undefined]);
      server.closeIdleConnections();
      metricsServer?.closeIdleConnections();
      await done;
      await resolver.close();
      logger.flush();
    },
  };
}
