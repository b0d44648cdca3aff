/**
 * @module k8s/lock
 * What Kubernetes adds to a lock file: where each image was found (the `file:line` of its sites).
 * The format, reading, merging and writing belong to the resolver layer (src/resolver/lock.ts);
 * their names are re-exported here so `imgdigest/k8s` keeps offering them.
 */
import type { LockedResolution } from '../resolver/lock.js';
import type { PinResolution } from './pin.js';
import { formatSite } from './sites.js';

export {
  entryOf,
  formatLock,
  LOCK_API_VERSION,
  LOCK_KIND,
  type LockEntry,
  lockImageKey,
  lockResolver,
  mergeLock,
  parseLock,
  readLocks,
} from '../resolver/lock.js';

/** What `pinFiles` resolved, each with the `file:line` of its sites: ready for `updateLockFile`. */
export function lockedResolutions(resolutions: readonly PinResolution[]): LockedResolution[] {
  return resolutions.map((r) => ({
    resolution: r.resolution,
    foundIn: r.sites.map((s) => formatSite(s, 'file:line')),
  }));
}
