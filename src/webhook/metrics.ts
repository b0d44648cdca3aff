/**
 * @module webhook/metrics
 * Prometheus metrics of the webhook, in a PRIVATE prom-client Registry: a library must not write
 * into the global default registry of whoever embeds it, and two servers in one process (tests)
 * must not share counters.
 *
 * Labelled children are created once and kept, so the hot path is a map lookup and an add.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitState } from '../resolver/breaker.js';
import type { ResolverEvent } from '../resolver/resolver.js';
import type { Verdict } from './admission.js';

export type Endpoint = 'validate' | 'mutate';
/** Why a request was refused before any admission decision. */
export type Rejection =
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'internal_error';

const PREFIX = 'imgdigest_webhook_';

export interface WebhookMetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop lag). Not stoppable: once per process. */
  processMetrics?: boolean;
}

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly #admissions: Counter<'endpoint' | 'verdict'>;
  readonly #duration: Histogram<'endpoint'>;
  readonly #cache: Counter<'result'>;
  readonly #registryErrors: Counter;
  readonly #rejections: Counter<'reason'>;
  readonly #tlsReloads: Counter<'result'>;
  readonly #tlsExpiry: Gauge;
  readonly #configReloads: Counter<'result'>;
  readonly #dropped: Counter;
  readonly #circuitState: Gauge<'registry'>;
  readonly #circuitRejections: Counter;
  readonly #children = new Map<string, { inc(n?: number): void }>();
  readonly #timers = new Map<Endpoint, { observe(v: number): void }>();
  readonly #admissionChildren = new Map<Endpoint, Map<Verdict, { inc(n?: number): void }>>();

  constructor(options: WebhookMetricsOptions = {}) {
    const registers = [this.registry];
    this.#admissions = new Counter({
      name: `${PREFIX}admissions_total`,
      help: 'Admission reviews answered, by endpoint and verdict.',
      labelNames: ['endpoint', 'verdict'],
      registers,
    });
    this.#duration = new Histogram({
      name: `${PREFIX}admission_duration_seconds`,
      help: 'Time from request arrival to answer, by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#cache = new Counter({
      name: `${PREFIX}resolver_cache_total`,
      help: 'Tag resolutions by cache outcome: hit (cached), miss (registry asked), coalesced (joined one in flight).',
      labelNames: ['result'],
      registers,
    });
    this.#registryErrors = new Counter({
      name: `${PREFIX}registry_errors_total`,
      help: 'Registry resolutions that failed.',
      registers,
    });
    this.#rejections = new Counter({
      name: `${PREFIX}rejected_requests_total`,
      help: 'HTTP requests refused before an admission decision, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#tlsReloads = new Counter({
      name: `${PREFIX}tls_reloads_total`,
      help: 'Certificate reloads after the files changed, by result.',
      labelNames: ['result'],
      registers,
    });
    this.#tlsExpiry = new Gauge({
      name: `${PREFIX}tls_certificate_expiry_timestamp_seconds`,
      help: 'notAfter of the serving certificate in use (Unix seconds).',
      registers,
    });
    this.#configReloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Configuration reloads after the file changed, by result.',
      labelNames: ['result'],
      registers,
    });
    this.#dropped = new Counter({
      name: `${PREFIX}resolutions_dropped_total`,
      help: 'Queued tag resolutions dropped before reaching a registry: every admission waiting for them had answered.',
      registers,
    });
    this.#circuitState = new Gauge({
      name: `${PREFIX}registry_circuit_state`,
      help: 'Circuit breaker of a registry that failed in a row: 1 open (not asked), 2 half-open (one probe out). Removed when it closes.',
      labelNames: ['registry'],
      registers,
    });
    this.#circuitRejections = new Counter({
      name: `${PREFIX}registry_circuit_rejections_total`,
      help: 'Tag resolutions failed at once, without asking, because their registry circuit was open.',
      registers,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  #child(counter: Counter<string>, key: string, labels: Record<string, string>): { inc(n?: number): void } {
    let child = this.#children.get(key);
    if (!child) {
      child = counter.labels(labels);
      this.#children.set(key, child);
    }
    return child;
  }

  /** Count one answered admission and its latency (no label key is built per call). */
  admission(endpoint: Endpoint, verdict: Verdict, seconds: number): void {
    let byVerdict = this.#admissionChildren.get(endpoint);
    if (!byVerdict) {
      byVerdict = new Map();
      this.#admissionChildren.set(endpoint, byVerdict);
    }
    let counter = byVerdict.get(verdict);
    if (!counter) {
      counter = this.#admissions.labels({ endpoint, verdict });
      byVerdict.set(verdict, counter);
    }
    counter.inc();
    let timer = this.#timers.get(endpoint);
    if (!timer) {
      timer = this.#duration.labels({ endpoint });
      this.#timers.set(endpoint, timer);
    }
    timer.observe(seconds);
  }

  /** The resolver's `onResult` hook. */
  readonly resolverResult = (event: ResolverEvent): void => {
    if (event === 'error') this.#registryErrors.inc();
    else if (event === 'dropped') this.#dropped.inc();
    else if (event === 'rejected') this.#circuitRejections.inc();
    else this.#child(this.#cache, `c\0${event}`, { result: event }).inc();
  };

  /**
   * A registry's circuit changed. Only registries whose circuit is not closed have a series, so
   * the number of series stays bounded by the breaker's table, whatever registries reviews name.
   */
  circuit(registry: string, state: CircuitState): void {
    if (state === 'closed') this.#circuitState.remove({ registry });
    else this.#circuitState.set({ registry }, state === 'open' ? 1 : 2);
  }

  rejected(reason: Rejection): void {
    this.#child(this.#rejections, `r\0${reason}`, { reason }).inc();
  }

  tlsReloaded(ok: boolean): void {
    this.#child(this.#tlsReloads, `t\0${ok}`, { result: ok ? 'ok' : 'error' }).inc();
  }

  certificateExpiry(notAfter: Date): void {
    this.#tlsExpiry.set(Math.floor(notAfter.getTime() / 1000));
  }

  configReloaded(ok: boolean): void {
    this.#child(this.#configReloads, `k\0${ok}`, { result: ok ? 'ok' : 'error' }).inc();
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
