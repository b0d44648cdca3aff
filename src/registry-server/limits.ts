/**
 * @module registry-server/limits
 * The limits that keep hostile clients from exhausting the embedded registry: slow request bodies,
 * connections that never authenticate, password guessing and abandoned upload sessions. Every
 * limit has a default that a real client never meets (a 1 GiB push over a slow link included) and
 * can be changed by `startRegistry({limits})` or the `registry serve` flags.
 */
import { ImgdigestError } from '../core/errors.js';

export interface RegistryLimits {
  /**
   * A request body must bring at least this many bytes per second, measured over each window of
   * {@link bodyGraceMs}, or the request is answered 408 and its connection closed. Default 1024
   * (1 KiB/s: a 64 kbit/s link is eight times faster); 0 turns the check off.
   */
  bodyMinBytesPerSecond: number;
  /** The window of {@link bodyMinBytesPerSecond}; a stall shorter than this never cuts. Default 60 s. */
  bodyGraceMs: number;
  /**
   * With htpasswd: connections that have not yet sent valid credentials, at most; a new one closes
   * the oldest. Default 256.
   */
  maxUnauthenticatedConnections: number;
  /** Wrong passwords (or unknown users) per client address within {@link authFailureWindowMs} before 429. Default 10. */
  authMaxFailures: number;
  /** Default 60 s. */
  authFailureWindowMs: number;
  /** Open upload sessions in total; beyond, a new one is refused with 503. Default 1000. */
  maxUploads: number;
  /** Open upload sessions per client address; beyond, 429. Default 100. */
  maxUploadsPerClient: number;
  /** An upload session unused for this long is dropped with its temporary data. Default 10 min. */
  uploadIdleMs: number;
}

export const DEFAULT_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  bodyMinBytesPerSecond: 1024,
  bodyGraceMs: 60_000,
  maxUnauthenticatedConnections: 256,
  authMaxFailures: 10,
  authFailureWindowMs: 60_000,
  maxUploads: 1000,
  maxUploadsPerClient: 100,
  uploadIdleMs: 10 * 60_000,
});

/** The smallest value each limit accepts (a window of 0 ms or a cap of 0 sessions would be a bug, not a setting). */
const MINIMUM: Record<keyof RegistryLimits, number> = {
  bodyMinBytesPerSecond: 0,
  bodyGraceMs: 1,
  maxUnauthenticatedConnections: 1,
  authMaxFailures: 1,
  authFailureWindowMs: 1,
  maxUploads: 1,
  maxUploadsPerClient: 1,
  uploadIdleMs: 1,
};

/** Fill in the defaults and check every value (USAGE naming the limit when one is not a number in range). */
export function resolveLimits(partial: Partial<RegistryLimits> = {}): RegistryLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(MINIMUM) as Array<keyof RegistryLimits>) {
    const value = partial[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < MINIMUM[key]) {
      throw new ImgdigestError(
        'USAGE',
        `limit ${key} must be a number of at least ${MINIMUM[key]}, got ${String(value)}`,
      );
    }
    limits[key] = value;
  }
  return limits;
}
