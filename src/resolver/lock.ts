/**
 * @module resolver/lock
 * Lock files: what a resolver answered (so a later `pin --from-lock` reproduces it with no
 * network), and the build outputs a lock can be read from. A lock entry is the serialised form of
 * a {@link Resolution}: {@link entryOf} and {@link resolutionOf} are the two directions, here only.
 *
 * Format (YAML, entries sorted by image then platform, keys in a fixed order, so the file only
 * changes when a digest does):
 * ```yaml
 * apiVersion: imgdigest.dev/v1alpha1
 * kind: ImageLock
 * images:
 * - image: docker.io/library/nginx:1.27      # canonical reference, tag included (latest if none)
 *   digest: sha256:...
 *   digestKind: index                        # index | manifest
 *   mediaType: application/vnd.oci.image.index.v1+json
 *   platform: linux/arm64                    # only when a platform was asked for
 *   resolvedAt: "2025-01-01T00:00:00.000Z"
 *   foundIn: [deploy/web.yaml:17]
 *   relocatedTo: registry.internal/mirror/library/nginx:1.27@sha256:...   # only from relocate
 * ```
 * Build outputs accepted as a lock:
 * - lines `REF@sha256:...` (`pack build --quiet`, `crane digest --full-ref`, `docker buildx
 *   build --metadata-file` users' scripts). `repo:tag@digest` maps `repo:tag`; `repo@digest` maps
 *   the repository's references without a tag and with tag `latest` only (a digest says nothing
 *   about other tags). Blank lines and `#` comments are ignored.
 * - `gcloud builds describe --format json`: `results.images[].name` / `.digest`, same mapping.
 * Build outputs carry no platform, so their entries answer any `--platform`.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import { parseDigest } from '../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import { writeFilesAtomically } from '../core/write.js';
import type { Resolution, ResolveOptions, Resolver } from './types.js';

export const LOCK_API_VERSION = 'imgdigest.dev/v1alpha1';
export const LOCK_KIND = 'ImageLock';

export interface LockEntry {
  /** Canonical reference with its tag (`:latest` when the manifests named none), or `repo@digest` for an image named by digest alone. */
  image: string;
  digest: string;
  digestKind?: 'index' | 'manifest';
  mediaType?: string;
  platform?: string;
  resolvedAt?: string;
  foundIn?: string[];
  /** Where `relocate` copied the image and rewrote the manifests to (`REF@DIGEST`). */
  relocatedTo?: string;
  /** From a build output: valid for any platform. Not written. */
  anyPlatform?: boolean;
}

/**
 * The key an image is locked under: canonical `repo:tag` (tag `latest` if none) and platform. A
 * reference by digest alone (`repo@sha256:…`, which `relocate` records) is its own key: it names
 * that digest, not what `latest` names.
 */
export function lockImageKey(ref: Reference): string {
  if (ref.tag === null && ref.digest !== null) return ref.canonical;
  const tagged = ref.withoutDigest();
  return (tagged.tag === null ? tagged.withTag('latest') : tagged).canonical;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entryKey(image: string, platform: string | undefined): string {
  return `${image}|${platform ?? ''}`;
}

/** Parse a lock file or a build output (detected from the content). */
export function parseLock(text: string, source: string): LockEntry[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed === '') return [];
  if (trimmed.startsWith('{') || /^(apiVersion|kind|images)\s*:/m.test(trimmed)) {
    let value: unknown;
    try {
      const doc = parseDocument(trimmed);
      if (doc.errors[0]) throw doc.errors[0];
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw lockError(source, `not YAML or JSON: ${(e as Error).message}`);
    }
    if (isRecord(value) && value.kind === LOCK_KIND) return readImageLock(value, source);
    if (isRecord(value) && isRecord(value.results) && Array.isArray(value.results.images)) {
      return value.results.images.map((img, i) => {
        if (!isRecord(img) || typeof img.name !== 'string' || typeof img.digest !== 'string') {
          throw lockError(`${source}: results.images[${i}]`, 'needs string name and digest');
        }
        return buildEntry(img.name, img.digest, `${source}: results.images[${i}]`);
      });
    }
    throw lockError(
      source,
      `expected kind ${LOCK_KIND}, gcloud build JSON (results.images) or REF@DIGEST lines`,
    );
  }
  const entries: LockEntry[] = [];
  trimmed.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = line.lastIndexOf('@');
    if (at <= 0) throw lockError(`${source}:${i + 1}`, `expected REF@DIGEST, got "${line}"`);
    entries.push(buildEntry(line.slice(0, at), line.slice(at + 1), `${source}:${i + 1}`));
  });
  return entries;
}

function buildEntry(name: string, digest: string, where: string): LockEntry {
  let ref: Reference;
  try {
    ref = parseReference(name);
    parseDigest(digest);
  } catch (e) {
    throw lockError(where, isImgdigestError(e) ? e.message : String(e));
  }
  if (ref.digest) throw lockError(where, `"${name}" already has a digest`);
  return { image: lockImageKey(ref), digest, anyPlatform: true };
}

function readImageLock(value: Record<string, unknown>, source: string): LockEntry[] {
  if (value.apiVersion !== LOCK_API_VERSION)
    throw lockError(source, `apiVersion must be ${LOCK_API_VERSION}`);
  const images = value.images ?? [];
  if (!Array.isArray(images)) throw lockError(source, 'images must be a list');
  return images.map((e, i) => {
    const where = `${source}: images[${i}]`;
    if (!isRecord(e) || typeof e.image !== 'string' || typeof e.digest !== 'string') {
      throw lockError(where, 'needs string image and digest');
    }
    let ref: Reference;
    try {
      ref = parseReference(e.image);
      parseDigest(e.digest);
    } catch (err) {
      throw lockError(where, isImgdigestError(err) ? err.message : String(err));
    }
    const entry: LockEntry = { image: lockImageKey(ref), digest: e.digest };
    if (e.digestKind === 'index' || e.digestKind === 'manifest') entry.digestKind = e.digestKind;
    if (typeof e.mediaType === 'string') entry.mediaType = e.mediaType;
    if (typeof e.platform === 'string') entry.platform = e.platform;
    if (typeof e.resolvedAt === 'string') entry.resolvedAt = e.resolvedAt;
    if (Array.isArray(e.foundIn)) entry.foundIn = e.foundIn.map(String);
    if (typeof e.relocatedTo === 'string') entry.relocatedTo = e.relocatedTo;
    return entry;
  });
}

function lockError(where: string, why: string): ImgdigestError {
  return new ImgdigestError('INPUT_INVALID', `${where}: invalid lock: ${why}`, { details: { where } });
}

/** Read lock files and build outputs (several may be given; later ones win). */
export async function readLocks(paths: readonly string[]): Promise<LockEntry[]> {
  const out: LockEntry[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      throw new ImgdigestError('INPUT_INVALID', `cannot read lock ${p}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    out.push(...parseLock(text, p));
  }
  return out;
}

/** A resolution and where its reference was found (`file:line`), as a lock records it. */
export interface LockedResolution {
  resolution: Resolution;
  foundIn: readonly string[];
}

/** The lock entry of a resolution (its `foundIn` sorted by file, then line). */
export function entryOf(resolution: Resolution, foundIn: readonly string[]): LockEntry {
  const entry: LockEntry = {
    image: lockImageKey(resolution.reference),
    digest: resolution.digest,
    digestKind: resolution.kind === 'index' ? 'index' : 'manifest',
    mediaType: resolution.mediaType,
  };
  if (resolution.platform) entry.platform = resolution.platform;
  entry.resolvedAt = resolution.resolvedAt;
  entry.foundIn = [...new Set(foundIn)].sort(compareLocations);
  return entry;
}

/**
 * The resolution a lock entry gives `reference` (asked for `platform`): a build output's entry,
 * valid for any platform, answers for the platform asked.
 */
export function resolutionOf(entry: LockEntry, reference: Reference, platform?: string): Resolution {
  const resolution: Resolution = {
    reference,
    digest: parseDigest(entry.digest).digest,
    kind: entry.digestKind ?? 'manifest',
    mediaType: entry.mediaType ?? '',
    size: 0,
    resolvedAt: entry.resolvedAt ?? new Date().toISOString(),
    via: 'lock',
  };
  if (entry.platform) resolution.platform = entry.platform;
  else if (platform && entry.anyPlatform) resolution.platform = platform;
  return resolution;
}

function compareLocations(a: string, b: string): number {
  const [fa, la] = splitLocation(a);
  const [fb, lb] = splitLocation(b);
  return fa < fb ? -1 : fa > fb ? 1 : la - lb;
}

function splitLocation(s: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(s);
  return m ? [m[1]!, Number(m[2])] : [s, 0];
}

/**
 * Merge fresh entries into an existing lock: same image and platform are replaced, but an
 * unchanged digest keeps its old `resolvedAt` so re-pinning does not churn the file.
 */
export function mergeLock(existing: readonly LockEntry[], fresh: readonly LockEntry[]): LockEntry[] {
  const map = new Map(existing.filter((e) => !e.anyPlatform).map((e) => [entryKey(e.image, e.platform), e]));
  for (const e of fresh) {
    const key = entryKey(e.image, e.platform);
    const old = map.get(key);
    map.set(key, old && old.digest === e.digest && old.resolvedAt ? { ...e, resolvedAt: old.resolvedAt } : e);
  }
  return [...map.values()];
}

/** The lock file text: sorted, fixed key order. */
export function formatLock(entries: readonly LockEntry[]): string {
  const sorted = [...entries].sort((a, b) =>
    a.image === b.image ? (a.platform ?? '').localeCompare(b.platform ?? '') : a.image < b.image ? -1 : 1,
  );
  const images = sorted.map((e) => {
    const o: Record<string, unknown> = { image: e.image, digest: e.digest };
    if (e.digestKind) o.digestKind = e.digestKind;
    if (e.mediaType) o.mediaType = e.mediaType;
    if (e.platform) o.platform = e.platform;
    if (e.resolvedAt) o.resolvedAt = e.resolvedAt;
    if (e.foundIn?.length) o.foundIn = e.foundIn;
    if (e.relocatedTo) o.relocatedTo = e.relocatedTo;
    return o;
  });
  return stringify({ apiVersion: LOCK_API_VERSION, kind: LOCK_KIND, images }, { lineWidth: 0 });
}

/**
 * Answers from lock entries only, never touching the network: the base `openResolver({ locks })`
 * puts behind its cache and limits. A reference that is not in the lock fails with `LOCK_MISSING`.
 */
export function lockBase(
  entries: readonly LockEntry[],
): (reference: Reference, options?: ResolveOptions) => Promise<Resolution> {
  const exact = new Map<string, LockEntry>();
  const any = new Map<string, LockEntry>();
  for (const e of entries) {
    if (e.anyPlatform) any.set(e.image, e);
    else exact.set(entryKey(e.image, e.platform), e);
  }
  return async (reference: Reference, options: ResolveOptions = {}): Promise<Resolution> => {
    const image = lockImageKey(reference);
    const entry = exact.get(entryKey(image, options.platform)) ?? any.get(image);
    if (!entry) {
      const on = options.platform ? ` for platform ${options.platform}` : '';
      throw new ImgdigestError('LOCK_MISSING', `not in the lock${on}`, {
        details: { image, platform: options.platform },
      });
    }
    return resolutionOf(entry, reference, options.platform);
  };
}

/**
 * A Resolver over lock entries with no cache and no limit (a lock needs neither).
 * @deprecated Use `openResolver({ locks })`, or `lockBase` behind a `CachingResolver`.
 */
export function lockResolver(entries: readonly LockEntry[]): Resolver {
  return { resolve: lockBase(entries) };
}

export interface UpdateLockOptions {
  /** How to name the lock in messages (default: `path`). */
  name?: string;
}

/**
 * Record resolutions in the lock file at `path`: merged into what it holds (see {@link mergeLock};
 * a missing file is a new lock), written atomically. Throws `INPUT_INVALID` when the existing file
 * is not a lock (or cannot be replaced safely, see `writeFilesAtomically`), `WRITE_FAILED` when it
 * cannot be written.
 */
export async function updateLockFile(
  path: string,
  resolutions: readonly LockedResolution[],
  options: UpdateLockOptions = {},
): Promise<void> {
  const data = await updatedLockText(path, resolutions, options);
  await writeFilesAtomically([{ path, data, name: options.name ?? path }]);
}

/**
 * What the lock file at `path` holds once `resolutions` are merged in: for a caller that writes it
 * together with other files (`pin --write` writes the lock and the manifests as one transaction).
 */
export async function updatedLockText(
  path: string,
  resolutions: readonly LockedResolution[],
  options: UpdateLockOptions = {},
): Promise<string> {
  const old = await readFile(path, 'utf8').then(
    (text) => parseLock(text, options.name ?? path),
    () => [],
  );
  const fresh = resolutions.map((r) => entryOf(r.resolution, r.foundIn));
  return formatLock(mergeLock(old, fresh));
}
