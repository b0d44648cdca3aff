/**
 * @module webhook/logging
 * Structured JSON logs (pino): one line per admission with what an operator needs to trace a
 * decision (uid, kind, namespace, objectName, operation, verdict, duration) and never the object, a
 * credential or a header (the fields are chosen here, so no redaction pass is needed on the hot
 * path). `time` is pino's epoch milliseconds, the cheapest to write. Lines are gathered for up to
 * {@link LOG_FLUSH_DELAY_MS} and written together, so logging stays off the hot path; transports
 * (worker threads) are not used.
 *
 * The admission line is the one written per request, so it skips pino's generic serialiser when the
 * logger is one made here: {@link admissionLog} builds the same line (level, time, name, the fields,
 * msg) field by field and hands it to the same destination, in order with every other line. A
 * logger of the caller's own (`logger` option) gets `logger.info` as before.
 */
import type { Writable } from 'node:stream';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Decision } from './admission.js';
import { fitText, MAX_LINE_LENGTH, MAX_LOGGED_ERRORS } from './messages.js';
import type { Endpoint } from './metrics.js';
import type { AdmissionRequest } from './review.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Where lines go, as a stream of your own (tests). */
  stream?: Writable | DestinationStream;
  /** Where lines go, as a file descriptor or path (default: 1, stdout), buffered. */
  destination?: number | string;
  /** pino level (default `info`). */
  level?: string;
}

/** A batch larger than this is handed on at once instead of waiting for its delay. */
const MAX_BATCH_CHARS = 64 * 1024;

/**
 * How long a line may wait for others to share its write(2). Lines reach the destination within
 * this; at exit, on `flush()` and when the webhook closes they are written at once.
 */
export const LOG_FLUSH_DELAY_MS = 10;

/** What the batcher hands lines to: pino's SonicBoom destination. */
type Sink = DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void };

/** Batchers holding lines not yet handed on; flushed synchronously if the process exits first. */
const pendingBatches = new Set<LineBatcher>();
let exitHookInstalled = false;

/**
 * Gathers the lines written within {@link LOG_FLUSH_DELAY_MS} (or until they pass 64 KiB) and
 * hands them to the destination in one write. Under load that is one write(2) for a hundred
 * admissions or more instead of one for every turn of the event loop (five or six admissions
 * each in the benchmark): the write and the turn's `setImmediate` were a tenth of the webhook's
 * CPU per request. Every line is kept, in order; nothing is sampled. The timer does not keep the
 * process alive: a process that exits writes what is left synchronously (the `exit` hook).
 */
class LineBatcher {
  #text = '';
  #timer: NodeJS.Timeout | undefined;
  constructor(private readonly sink: Sink) {}

  write(line: string): boolean {
    this.#text += line;
    if (this.#text.length >= MAX_BATCH_CHARS) this.#handOn();
    else if (this.#timer === undefined) {
      pendingBatches.add(this);
      this.#timer = setTimeout(this.#handOn, LOG_FLUSH_DELAY_MS);
      this.#timer.unref();
    }
    return true;
  }

  readonly #handOn = (): void => {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    pendingBatches.delete(this);
    if (this.#text === '') return;
    const text = this.#text;
    this.#text = '';
    this.sink.write(text);
  };

  flush(cb?: (err?: Error) => void): void {
    this.#handOn();
    this.sink.flush(cb);
  }

  flushSync(): void {
    this.#handOn();
    this.sink.flushSync();
  }
}

/**
 * A logger for the webhook. Call `logger.flush()` before exit when using the default destination.
 *
 * Lines are gathered for up to {@link LOG_FLUSH_DELAY_MS} ({@link LineBatcher}) and written
 * together (sonic-boom): a write(2) per admission, or per turn of the event loop, cost about a tenth
 * of the webhook's CPU under load. A `stream` of your own gets each line as it is made.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  let destination: Writable | DestinationStream;
  if (options.stream) destination = options.stream;
  else {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const batch of pendingBatches) batch.flushSync();
      });
    }
    const sink = pino.destination({ dest: options.destination ?? 1, sync: true }) as unknown as Sink;
    destination = new LineBatcher(sink);
  }
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { name: LOGGER_NAME },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

const LOGGER_NAME = 'imgdigest-webhook';
/** The destination of each logger made by {@link createLogger}: their line format is known here. */
const destinations = new WeakMap<Logger, Writable | DestinationStream>();

/** Writes the log line of one answered admission. */
export type AdmissionLog = (
  endpoint: Endpoint,
  request: AdmissionRequest,
  decision: Decision,
  durationMs: number,
) => void;

/**
 * The writer of admission lines for `logger`: for a logger from {@link createLogger}, the line pino
 * would write (`{"level":"info","time":…,"name":"imgdigest-webhook",…fields,"msg":"admission"}`),
 * built directly (a fifth of pino's cost per line); for any other logger, `logger.info`.
 */
export function admissionLog(logger: Logger): AdmissionLog {
  const destination = destinations.get(logger);
  if (!destination) {
    return (endpoint, request, decision, durationMs) =>
      logger.info(admissionFields(endpoint, request, decision, durationMs), 'admission');
  }
  const head = `{"level":"info","time":`;
  const tail = `,"msg":"admission"}\n`;
  const name = `,"name":${JSON.stringify(LOGGER_NAME)},`;
  return (endpoint, request, decision, durationMs) => {
    if (!logger.isLevelEnabled('info')) return;
    destination.write(
      `${head}${Date.now()}${name}${admissionLine(endpoint, request, decision, durationMs)}${tail}`,
    );
  };
}

/** A string as JSON. */
const quote = JSON.stringify as (value: string) => string;

/**
 * `JSON.stringify(admissionFields(...))` without its braces, written field by field: no record of
 * fields is made and no generic serialiser walks it, for the one line written per admission.
 */
export function admissionLine(
  endpoint: Endpoint,
  request: AdmissionRequest,
  decision: Decision,
  durationMs: number,
): string {
  const { kind, subResource, namespace } = request;
  const name = objectNameOf(request);
  const duration = Math.round(durationMs * 1000) / 1000;
  let line = `"endpoint":${quote(endpoint)},"uid":${quote(request.uid)},"kind":${quote(subResource ? `${kind.kind}/${subResource}` : kind.kind)}`;
  if (namespace !== undefined) line += `,"namespace":${quote(namespace)}`;
  if (name !== undefined) line += `,"objectName":${quote(name)}`;
  line += `,"operation":${quote(request.operation)},"verdict":${quote(decision.verdict)},"durationMs":${Number.isFinite(duration) ? duration : 'null'}`;
  if (request.dryRun) line += ',"dryRun":true';
  if (decision.reason) line += `,"reason":${quote(decision.reason)}`;
  if (decision.violations > 0) line += `,"violations":${decision.violations}`;
  if (decision.patched > 0) line += `,"patched":${decision.patched}`;
  if (decision.errors.length > 0) {
    const { errors, errorCount } = errorFields(decision.errors);
    line += `,"errors":${JSON.stringify(errors)}`;
    if (errorCount !== undefined) line += `,"errorCount":${errorCount}`;
  }
  return line;
}

/** The object's name: the request's, else the object's own (`generateName` before it has one). */
function objectNameOf(request: AdmissionRequest): string | undefined {
  if (request.name !== undefined) return request.name;
  const metadata = (request.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)
    ?.metadata;
  if (typeof metadata?.name === 'string') return metadata.name;
  return typeof metadata?.generateName === 'string' ? metadata.generateName : undefined;
}

/** One line per admission stays one line: a review with 20,000 bad images logs the first few. */
function errorFields(all: readonly string[]): { errors: string[]; errorCount?: number } {
  const errors = all.slice(0, MAX_LOGGED_ERRORS).map((e) => fitText(e, MAX_LINE_LENGTH, 'end'));
  return all.length > MAX_LOGGED_ERRORS ? { errors, errorCount: all.length } : { errors };
}

/** The identity fields of an admission for its log line. */
export function admissionFields(
  endpoint: Endpoint,
  request: AdmissionRequest,
  decision: Decision,
  durationMs: number,
): Record<string, unknown> {
  const name = objectNameOf(request);
  const fields: Record<string, unknown> = {
    endpoint,
    uid: request.uid,
    kind: request.subResource ? `${request.kind.kind}/${request.subResource}` : request.kind.kind,
    namespace: request.namespace,
    // Not `name`: that key is the logger's (pino's), and a line must not hold one key twice.
    objectName: name,
    operation: request.operation,
    verdict: decision.verdict,
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  if (request.dryRun) fields.dryRun = true;
  if (decision.reason) fields.reason = decision.reason;
  if (decision.violations > 0) fields.violations = decision.violations;
  if (decision.patched > 0) fields.patched = decision.patched;
  if (decision.errors.length > 0) Object.assign(fields, errorFields(decision.errors));
  return fields;
}
