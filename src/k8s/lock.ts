/**
 * @module k8s/lock
 * What Kubernetes adds to a lock file: where each image was found (the `file:line` of its sites).
 * The format, reading, merging and writing belong to the resolver layer (src/resolver/lock.ts);
 * their names are re-exported here so `imgdigest/k8s` keeps offering them.
 */
import { readFile } from 'node:fs/promises';
import {
  entryOf,
  formatLock,
  type LockEntry,
  type LockedResolution,
  mergeLock,
  parseLock,
} from '../resolver/lock.js';
import type { PinResolution } from './pin.js';
import { type Relocation, relocationSites } from './relocate.js';
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

/** The lock entries of a relocation: the image as found, its digest, and where it went (`relocatedTo`). */
export function relocationEntries(relocations: readonly Relocation[]): LockEntry[] {
  return relocations.map((r) => ({
    ...entryOf(r.resolution, relocationSites(r)),
    relocatedTo: r.to,
  }));
}

/**
 * The text of the lock file at `path` with `relocations` merged into what it holds (a missing
 * file is a new lock); `INPUT_INVALID` when the file is not a lock. The caller writes it.
 */
export async function relocatedLockText(
  path: string,
  relocations: readonly Relocation[],
  name = path,
): Promise<string> {
  const old = await readFile(path, 'utf8').then(
    (text) => parseLock(text, name),
    () => [],
  );
  return formatLock(mergeLock(old, relocationEntries(relocations)));
}
