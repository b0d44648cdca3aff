/**
 * @module webhook/logging
 * Structured JSON logs (pino): one line per admission with what an operator needs to trace a
 * decision (uid, kind, namespace, name, operation, verdict, duration) and never the object, a
 * credential or a header (the fields are chosen here, so no redaction pass is needed on the hot
 * path). `time` is pino's epoch milliseconds, the cheapest to write. Writes are asynchronous (sonic-boom) so logging stays off the hot path;
 * transports (worker threads) are not used.
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

/** How long a buffered log line may wait before it is written. */
const FLUSH_INTERVAL_MS = 200;

/**
 * A logger for the webhook. Call `logger.flush()` before exit when using the default destination.
 *
 * Lines are buffered (up to 4 KiB) and written at least every 200 ms: writing each line on its own
 * cost about a tenth of the webhook's time under load (one write(2) per admission).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  let destination: Writable | DestinationStream;
  if (options.stream) destination = options.stream;
  else {
    const buffered = pino.destination({ dest: options.destination ?? 1, sync: false, minLength: 4096 });
    setInterval(() => buffered.flush(), FLUSH_INTERVAL_MS).unref();
    destination = buffered;
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'imgdigest-webhook' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The identity fields of an admission for its log line. */
export function admissionFields(
  endpoint: Endpoint,
  request: AdmissionRequest,
  decision: Decision,
  durationMs: number,
): Record<string, unknown> {
  const metadata = (request.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)
    ?.metadata;
  const name =
    request.name ??
    (typeof metadata?.name === 'string'
      ? metadata.name
      : typeof metadata?.generateName === 'string'
        ? metadata.generateName
        : undefined);
  const fields: Record<string, unknown> = {
    endpoint,
    uid: request.uid,
    kind: request.subResource ? `${request.kind.kind}/${request.subResource}` : request.kind.kind,
    namespace: request.namespace,
    name,
    operation: request.operation,
    verdict: decision.verdict,
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  if (request.dryRun) fields.dryRun = true;
  if (decision.reason) fields.reason = decision.reason;
  if (decision.violations > 0) fields.violations = decision.violations;
  if (decision.patched > 0) fields.patched = decision.patched;
  if (decision.errors.length > 0) {
    // One line per admission stays one line: a review with 20,000 bad images logs the first few.
    fields.errors = decision.errors
      .slice(0, MAX_LOGGED_ERRORS)
      .map((e) => fitText(e, MAX_LINE_LENGTH, 'end'));
    if (decision.errors.length > MAX_LOGGED_ERRORS) fields.errorCount = decision.errors.length;
  }
  return fields;
}
