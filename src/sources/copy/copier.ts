/**
 * @module sources/copy/copier
 * `Copier`: copy images from any source to a registry or an OCI layout, keeping digests. One
 * copier serves a whole command (a copy, a relocation of many images, a mirror run), so its bound
 * on blob transfers holds across all of them; requests are bounded by the registry client's own
 * per-host limit (one limit, the client's).
 *
 * Order: every blob (skipped when the destination has it, mounted from the source repository when
 * both are one registry, else streamed and verified on the way), then manifests children first,
 * the tag last, then referrers. Each step asks the destination first, so an interrupted copy run
 * again sends only what is missing (and a chunked blob resumes; see `registry/upload.ts`).
 *
 * Why blob transfers are bounded to half the client's limit between two registries: a blob
 * copied holds a download and an upload at once, both counted by the client's per-host limit when
 * both ends are one registry. With at most half as many transfers as permits, every transfer can
 * always get its second permit, so the limit can never deadlock.
 */
import type { Readable } from 'node:stream';
import { Semaphore } from '../../core/async.js';
import type { Digest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import type { Descriptor } from '../../core/manifest.js';
import type { ImageSource } from '../source.js';
import type { ImageDestination } from './destination.js';
import { type CopyPlan, type PlannedManifest, type PlanOptions, planCopy } from './plan.js';

export interface CopierOptions {
  /** Requests the registry client keeps in flight per host (its `concurrency`, default 8). */
  concurrency?: number;
}

export interface CopyOptions extends PlanOptions {
  /** The tag to write (default: the destination's tag, else the source's). */
  tag?: string | undefined;
  /** Work out and report what would be written, writing nothing. */
  dryRun?: boolean | undefined;
  /** Told as things happen (progress displays). */
  onEvent?: ((event: CopyEvent) => void) | undefined;
}

/** What happened (or, in a dry run, would happen) to one blob or manifest. */
export type ItemAction = 'exists' | 'mounted' | 'sent' | 'send' | 'mount';

export type CopyEvent =
  | { type: 'plan'; plan: CopyPlan }
  | { type: 'blob-progress'; digest: Digest; done: number; size: number }
  | { type: 'blob'; descriptor: Descriptor; action: ItemAction }
  | { type: 'manifest'; manifest: PlannedManifest; action: ItemAction; tag?: string };

/** One line of a dry run: what would be written, or skipped, and why. */
export interface CopyItem {
  kind: 'blob' | 'manifest' | 'index';
  digest: Digest;
  size: number;
  mediaType: string;
  action: ItemAction;
  /** The repository a mount would come from; the tag a manifest goes under; a referrer's subject. */
  note?: string;
}

export interface CopyResult {
  /** What the source was named with. */
  source: string;
  /** `DST@DIGEST` as printed: `localhost:5000/mirror/app:1.0@sha256:…`, `oci:layout:v1@sha256:…`. */
  destination: string;
  tag: string | undefined;
  digest: Digest;
  mediaType: string;
  /** What the source identifier named (differs from `digest` when platforms narrowed it). */
  sourceDigest: Digest;
  platforms: string[];
  dryRun: boolean;
  blobs: {
    total: number;
    sent: number;
    existing: number;
    mounted: number;
    bytesSent: number;
    bytesExisting: number;
  };
  manifests: { total: number; written: number; existing: number };
  referrers: number;
  notes: string[];
  /** Every blob and manifest with its action (always filled; a dry run's whole answer). */
  items: CopyItem[];
}

export class Copier {
  readonly #pairs: Semaphore;
  readonly #singles: Semaphore;
  /**
   * Blobs and child manifests on their way, by destination and digest: images copied at once often
   * share layers and platform manifests (the tags of one repository, the images of a relocation),
   * and what another copy is sending is waited for, not sent twice.
   */
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(options: CopierOptions = {}) {
    const limit = options.concurrency ?? 8;
    if (!Number.isInteger(limit) || limit < 2) {
      throw new ImgdigestError(
        'USAGE',
        `copying needs a concurrency of at least 2 (a blob copied within one registry holds a download and an upload), got ${limit}`,
      );
    }
    this.#pairs = new Semaphore(Math.floor(limit / 2));
    this.#singles = new Semaphore(limit);
  }

  /** Copy what `source` names (`options.identifier`, else its own) to `destination`. */
  async copy(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions = {},
  ): Promise<CopyResult> {
    const plan = await planCopy(source, options);
    return this.copyPlan(source, plan, destination, options);
  }

  /** Write a plan made by `planCopy` (mirror plans first to compare digests, then copies). */
  async copyPlan(
    source: ImageSource,
    plan: CopyPlan,
    destination: ImageDestination,
    options: CopyOptions = {},
  ): Promise<CopyResult> {
    const signal = options.signal;
    if (destination.digest && destination.digest !== plan.root.digest) {
      throw new ImgdigestError(
        'DIGEST_MISMATCH',
        `${destination.name}@${destination.digest} was asked for, but the copy names ${plan.root.digest}`,
        { details: { expected: destination.digest, actual: plan.root.digest } },
      );
    }
    options.onEvent?.({ type: 'plan', plan });
    const tag = options.tag ?? destination.tag ?? sourceTag(source, options.identifier);
    const result: CopyResult = {
      source: source.name,
      destination: destination.format(tag, plan.root.digest),
      tag,
      digest: plan.root.digest,
      mediaType: plan.root.mediaType,
      sourceDigest: plan.sourceDigest,
      platforms: plan.platforms,
      dryRun: options.dryRun === true,
      blobs: { total: plan.blobs.length, sent: 0, existing: 0, mounted: 0, bytesSent: 0, bytesExisting: 0 },
      manifests: { total: plan.stages.flat().length, written: 0, existing: 0 },
      referrers: plan.referrers,
      notes: [...plan.notes],
      items: [],
    };
    if (plan.foreign.length > 0) {
      result.notes.push(
        `${plan.foreign.length} non-distributable layer(s) left out (they are fetched from their URLs, not from registries)`,
      );
    }
    const mountFrom = mountSource(source, destination);
    const limit = source.kind === 'registry' && destination.kind === 'registry' ? this.#pairs : this.#singles;
    const blobItems = await Promise.all(
      plan.blobs.map((descriptor) =>
        this.#once(`${destination.name}|${descriptor.digest}`, async (landed) => {
          const release = await limit.acquire(signal);
          try {
            return await this.#blob(source, destination, descriptor, { mountFrom, options, landed });
          } finally {
            release();
          }
        }),
      ),
    );
    for (const item of blobItems) {
      result.items.push(item);
      if (item.action === 'exists') {
        result.blobs.existing++;
        result.blobs.bytesExisting += item.size;
      } else if (item.action === 'mounted' || item.action === 'mount') result.blobs.mounted++;
      else {
        result.blobs.sent++;
        result.blobs.bytesSent += item.size;
      }
    }
    for (const stage of plan.stages) {
      const items = await Promise.all(
        stage.map((m) =>
          // The children of an index two copies share (two tags of one image): written once.
          m.role === 'child'
            ? this.#once(`${destination.name}|${m.digest}`, (landed) =>
                this.#manifest(destination, m, undefined, options, landed),
              )
            : this.#manifest(destination, m, m.role === 'root' ? tag : undefined, options, false),
        ),
      );
      for (const item of items) {
        result.items.push(item);
        if (item.action === 'exists') result.manifests.existing++;
        else result.manifests.written++;
      }
    }
    if (!options.dryRun) await destination.commit();
    return result;
  }

  /**
   * Run `work` for `key` (a destination and a digest) after any other copy's work for the same
   * key has ended: `landed` says that one succeeded, so the blob or manifest is there (or, in a
   * dry run, would be) and need not be asked about. A failed one leaves this copy to try itself.
   */
  async #once<T>(key: string, work: (landed: boolean) => Promise<T>): Promise<T> {
    const before = this.#inFlight.get(key);
    const mine = (async () => {
      const landed = before
        ? await before.then(
            () => true,
            () => false,
          )
        : false;
      return work(landed);
    })();
    this.#inFlight.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.#inFlight.get(key) === mine) this.#inFlight.delete(key);
    }
  }

  async #blob(
    source: ImageSource,
    destination: ImageDestination,
    descriptor: Descriptor,
    ctx: { mountFrom: string | undefined; options: CopyOptions; landed: boolean },
  ): Promise<CopyItem> {
    const { options, mountFrom } = ctx;
    const signal = options.signal;
    const item: CopyItem = {
      kind: 'blob',
      digest: descriptor.digest,
      size: descriptor.size,
      mediaType: descriptor.mediaType,
      action: 'exists',
    };
    const done = (action: ItemAction): CopyItem => {
      item.action = action;
      if (action === 'mount' || action === 'mounted') item.note = `from ${mountFrom}`;
      options.onEvent?.({ type: 'blob', descriptor, action });
      return item;
    };
    if (ctx.landed || (await destination.hasBlob(descriptor, signal))) return done('exists');
    if (options.dryRun) return done(mountFrom ? 'mount' : 'send');
    const open = async (): Promise<Readable> =>
      (await source.blob({ digest: descriptor.digest, size: descriptor.size }, signal ? { signal } : {}))
        .stream;
    const action = await destination.putBlob(descriptor, open, {
      mountFrom,
      signal,
      onProgress: (bytes) =>
        options.onEvent?.({
          type: 'blob-progress',
          digest: descriptor.digest,
          done: bytes,
          size: descriptor.size,
        }),
    });
    return done(action === 'mounted' ? 'mounted' : 'sent');
  }

  async #manifest(
    destination: ImageDestination,
    m: PlannedManifest,
    tag: string | undefined,
    options: CopyOptions,
    landed: boolean,
  ): Promise<CopyItem> {
    const signal = options.signal;
    const item: CopyItem = {
      kind: m.kind === 'index' ? 'index' : 'manifest',
      digest: m.digest,
      size: m.raw.byteLength,
      mediaType: m.mediaType,
      action: 'exists',
    };
    if (tag) item.note = `tag ${tag}`;
    else if (m.subject) item.note = `referrer of ${m.subject}`;
    const done = (action: ItemAction): CopyItem => {
      item.action = action;
      options.onEvent?.({ type: 'manifest', manifest: m, action, ...(tag ? { tag } : {}) });
      return item;
    };
    const there =
      landed ||
      (tag
        ? (await destination.tagDigest(tag, signal)) === m.digest
        : await destination.hasManifest(m.digest, signal));
    if (there) {
      if (m.subject && !options.dryRun)
        await destination.ensureReferrer(m.subject, referrerDescriptor(m), signal);
      return done('exists');
    }
    if (options.dryRun) return done('send');
    const put = await destination.putManifest(
      {
        digest: m.digest,
        mediaType: m.mediaType,
        raw: m.raw,
        // A layout lists a referrer with its artifact type; an image's entry needs none.
        ...(m.subject ? { artifactType: m.artifactType, annotations: m.annotations } : {}),
      },
      { tag, listed: m.role === 'root' || m.subject !== undefined, signal },
    );
    if (m.subject && !put.subjectIndexed)
      await destination.ensureReferrer(m.subject, referrerDescriptor(m), signal);
    return done('sent');
  }
}

/** A referrer as a referrers index lists it: with its artifact type and annotations. */
function referrerDescriptor(m: PlannedManifest): Descriptor {
  const d: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.raw.byteLength };
  if (m.artifactType) d.artifactType = m.artifactType;
  if (m.annotations) d.annotations = m.annotations;
  return d;
}

/** The source repository to mount blobs from: same registry, another repository. */
function mountSource(source: ImageSource, destination: ImageDestination): string | undefined {
  const from = source.reference;
  const to = destination.reference;
  if (!from || !to || source.kind !== 'registry' || destination.kind !== 'registry') return undefined;
  return from.registryHost === to.registryHost && from.path !== to.path ? from.path : undefined;
}

/** The tag a source was named by, to keep at the destination when it names none. */
export function sourceTag(source: ImageSource, identifier?: string): string | undefined {
  const id = identifier ?? source.identifier;
  if (source.reference && identifier === undefined) return source.reference.tag ?? undefined;
  if (!id || /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(id) || id.startsWith('@'))
    return undefined;
  // `repo:tag` (an archive's RepoTags entry): the part after the last ':' that is not a port.
  const colon = id.lastIndexOf(':');
  const tag =
    colon > id.lastIndexOf('/') && colon !== -1 ? id.slice(colon + 1) : id.includes('/') ? undefined : id;
  return tag && /^[\w][\w.-]{0,127}$/.test(tag) ? tag : undefined;
}
