/**
 * @module webhook/metrics
 * Prometheus metrics of the webhook, in a PRIVATE prom-client Registry: a library must not write
 * into the global default registry of whoever embeds it, and two servers in one process (tests)
 * must not share counters.
 *
 * Labelled children are created once and kept, so a rare event is a map lookup and an add. The
 * series written for every admission (the answers counter and the latency histogram, kept in plain
 * arrays by {@link AdmissionSeries}) and for every image of a `/mutate` (the resolver's cache
 * outcome, {@link LabelledCounts}) are handed to the registry as metrics of their own: a
 * prom-client child hashes its label object and turns the bucket bound into a property key on every
 * call, a tenth of the webhook's own time per request.
 */
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
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

const ENDPOINTS: readonly Endpoint[] = ['validate', 'mutate'];
const VERDICTS: readonly Verdict[] = [
  'allowed',
  'denied',
  'warned',
  'dryrun',
  'patched',
  'skipped',
  'failed-open',
];
/** Upper bounds of the latency histogram, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** One exported sample, in the shape prom-client's registry formats (`le` first, then the shared labels). */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
  /** Buckets carry `exemplar: null` in prom-client's JSON form. */
  exemplar?: null;
}

/** What a prom-client registry asks of a metric: its name, help and type, and its samples. */
interface ExportedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>;
  reset(): void;
}

/**
 * A counter whose label sets are known in advance, as plain numbers: counting is an addition to
 * the series at an index. Exported as prom-client's Counter exports it (series in the order they
 * were first counted). The admissions counter and the resolver's cache outcome (once per image of
 * every `/mutate`) are counted this way.
 */
export class LabelledCounts {
  readonly #counts: Float64Array;
  /** Indexes of the label sets in the order each was first counted. */
  readonly #seen: number[] = [];
  readonly metric: ExportedMetric;

  constructor(name: string, help: string, labelSets: readonly Record<string, string>[]) {
    this.#counts = new Float64Array(labelSets.length);
    const head = { name, help, type: 'counter', aggregator: 'sum' } as const;
    this.metric = {
      ...head,
      get: async () => ({
        ...head,
        values: this.#seen.map((i) => ({ labels: { ...labelSets[i]! }, value: this.#counts[i]! })),
      }),
      reset: () => {
        this.#counts.fill(0);
        this.#seen.length = 0;
      },
    };
  }

  /** Count one of the series at `index` (in the constructor's `labelSets`). */
  inc(index: number): void {
    const counted = this.#counts[index]!;
    this.#counts[index] = counted + 1;
    if (counted === 0) this.#seen.push(index);
  }
}

/**
 * The admissions counter (`endpoint`, `verdict`) and the latency histogram (`endpoint`) as plain
 * arrays of numbers: recording an admission is a few additions. They are exported as the same
 * series, in the same text, as prom-client's Counter and Histogram (series in the order they
 * first appeared; buckets cumulative, then `+Inf`, `_sum` and `_count`).
 */
export class AdmissionSeries {
  /** The counter's series, endpoint * verdicts + verdict. */
  readonly #counts = new LabelledCounts(
    `${PREFIX}admissions_total`,
    'Admission reviews answered, by endpoint and verdict.',
    ENDPOINTS.flatMap((endpoint) => VERDICTS.map((verdict) => ({ endpoint, verdict }))),
  );
  /** Per endpoint: observations per bucket (not cumulative), then the sum and the count. */
  readonly #buckets = new Float64Array(ENDPOINTS.length * DURATION_BUCKETS.length);
  readonly #sum = new Float64Array(ENDPOINTS.length);
  readonly #count = new Float64Array(ENDPOINTS.length);
  /** Histogram series (endpoints) in the order they were first observed. */
  readonly #observed: number[] = [];
  readonly counter: ExportedMetric;
  readonly histogram: ExportedMetric;

  constructor() {
    this.counter = this.#counts.metric;
    const histogramName = `${PREFIX}admission_duration_seconds`;
    const histogramHelp = 'Time from request arrival to answer, by endpoint.';
    const head = { name: histogramName, help: histogramHelp, type: 'histogram', aggregator: 'sum' } as const;
    const histogram: ExportedMetric & { getForPromString(): ReturnType<ExportedMetric['get']> } = {
      ...head,
      // The text format keeps `endpoint` apart (after `le`); the JSON form has one label set.
      getForPromString: async () => ({ ...head, values: this.#histogramSamples(histogramName) }),
      get: async () => ({
        ...head,
        values: this.#histogramSamples(histogramName).map(({ labels, sharedLabels, ...rest }) => ({
          ...rest,
          labels: { ...labels, ...sharedLabels },
        })),
      }),
      reset: () => {
        this.#buckets.fill(0);
        this.#sum.fill(0);
        this.#count.fill(0);
        this.#observed.length = 0;
      },
    };
    this.histogram = histogram;
  }

  /** Count one answered admission and its latency in seconds. */
  record(endpoint: Endpoint, verdict: Verdict, seconds: number): void {
    const e = endpoint === 'validate' ? 0 : 1;
    const series = e * VERDICTS.length + VERDICTS.indexOf(verdict);
    this.#counts.inc(series);
    const observed = this.#count[e]!;
    this.#count[e] = observed + 1;
    if (observed === 0) this.#observed.push(e);
    this.#sum[e]! += seconds;
    const bounds = DURATION_BUCKETS.length;
    for (let b = 0; b < bounds; b++) {
      if (seconds <= DURATION_BUCKETS[b]!) {
        const at = e * bounds + b;
        this.#buckets[at] = this.#buckets[at]! + 1;
        break;
      }
    }
  }

  #histogramSamples(name: string): Sample[] {
    const out: Sample[] = [];
    const bounds = DURATION_BUCKETS.length;
    for (const e of this.#observed) {
      const sharedLabels = { endpoint: ENDPOINTS[e]! };
      let cumulative = 0;
      for (let b = 0; b < bounds; b++) {
        cumulative += this.#buckets[e * bounds + b]!;
        out.push({
          labels: { le: DURATION_BUCKETS[b]! },
          sharedLabels,
          value: cumulative,
          metricName: `${name}_bucket`,
          exemplar: null,
        });
      }
      out.push(
        {
          labels: { le: '+Inf' },
          sharedLabels,
          value: this.#count[e]!,
          metricName: `${name}_bucket`,
          exemplar: null,
        },
        { labels: {}, sharedLabels, value: this.#sum[e]!, metricName: `${name}_sum` },
        { labels: {}, sharedLabels, value: this.#count[e]!, metricName: `${name}_count` },
      );
    }
    return out;
  }
}

export interface WebhookMetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop lag). Not stoppable: once per process. */
  processMetrics?: boolean;
}

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly #admissions = new AdmissionSeries();
  readonly #cache = new LabelledCounts(
    `${PREFIX}resolver_cache_total`,
    'Tag resolutions by cache outcome: hit (cached), miss (registry asked), coalesced (joined one in flight).',
    [{ result: 'hit' }, { result: 'miss' }, { result: 'coalesced' }],
  );
  readonly #registryErrors: Counter;
  readonly #rejections: Counter<'reason'>;
  readonly #tlsReloads: Counter<'result'>;
  readonly #tlsExpiry: Gauge;
  readonly #configReloads: Counter<'result'>;
  readonly #dropped: Counter;
  readonly #circuitState: Gauge<'registry'>;
  readonly #circuitRejections: Counter;
  readonly #children = new Map<string, { inc(n?: number): void }>();

  constructor(options: WebhookMetricsOptions = {}) {
    const registers = [this.registry];
    this.registry.registerMetric(this.#admissions.counter as unknown as Metric);
    this.registry.registerMetric(this.#admissions.histogram as unknown as Metric);
    this.registry.registerMetric(this.#cache.metric as unknown as Metric);
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

  /** Count one answered admission and its latency. */
  admission(endpoint: Endpoint, verdict: Verdict, seconds: number): void {
    this.#admissions.record(endpoint, verdict, seconds);
  }

  /** The resolver's `onResult` hook. */
  readonly resolverResult = (event: ResolverEvent): void => {
    if (event === 'error') this.#registryErrors.inc();
    else if (event === 'dropped') this.#dropped.inc();
    else if (event === 'rejected') this.#circuitRejections.inc();
    else this.#cache.inc(event === 'hit' ? 0 : event === 'miss' ? 1 : 2);
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
