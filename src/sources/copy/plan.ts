/**
 * @module sources/copy/plan
 * What a copy will write, worked out from the source alone (reads only): the manifest the
 * destination tag will name, every manifest below it (children before parents), the referrers
 * when asked for, and every blob once.
 *
 * Platforms: without any, the image or index is copied whole and its digest is kept. One
 * platform of an index copies that platform's manifest (as skopeo and crane do): the destination
 * names the child's digest. Several make a new index holding only the chosen entries (and the
 * build attestations that describe them), which is new bytes with a new digest; when the choice
 * is every entry, the source index itself is copied.
 */
import type { Digest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import {
  artifactTypeOf,
  type Descriptor,
  isAttestation,
  type ParsedIndex,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
} from '../../core/manifest.js';
import { isNonDistributable } from '../../core/media-types.js';
import {
  createMatcher,
  describePlatforms,
  formatPlatform,
  parsePlatform,
  platformOfDescriptor,
  selectManifest,
} from '../../core/platform.js';
import type { CallOptions, ImageSource } from '../source.js';

/** One manifest to write, with its exact bytes. */
export interface PlannedManifest {
  digest: Digest;
  mediaType: string;
  raw: Uint8Array;
  kind: 'index' | 'manifest';
  /** `root`: what the destination tag names; `child`: below it; `referrer`: refers to a subject. */
  role: 'root' | 'child' | 'referrer';
  /** Manifests before this in `stages` it needs (its children): 0 for an image manifest. */
  depth: number;
  /** The subject of a referrer. */
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** The platform of an image manifest, when its index says. */
  platform?: string;
}

export interface CopyPlan {
  /** What the source identifier names (the index even when platforms narrow it). */
  sourceDigest: Digest;
  sourceMediaType: string;
  /** What the destination will name: `root.digest`. */
  root: PlannedManifest;
  /** Manifests in write order: each stage after the previous; within a stage, in any order. */
  stages: PlannedManifest[][];
  /** Every blob to copy, once. */
  blobs: Descriptor[];
  /** Blobs left out: non-distributable (foreign) layers, which live elsewhere by design. */
  foreign: Descriptor[];
  /** Platforms copied (`linux/amd64`…), or empty when that is not known (a single image). */
  platforms: string[];
  /** Referrers found and planned. */
  referrers: number;
  /** What a person should know (a new index digest, a source that cannot list referrers). */
  notes: string[];
}

export interface PlanOptions extends CallOptions {
  /** The tag or digest to copy (default: the source's own). */
  identifier?: string | undefined;
  /** Platforms to keep (`linux/arm64`); empty or unset: everything. */
  platforms?: readonly string[] | undefined;
  /** Plan the referrers (signatures, SBOMs, attestations) of every manifest copied, recursively. */
  referrers?: boolean | undefined;
}

/** More referrers than this in one copy is a runaway graph, not an image. */
const MAX_REFERRERS = 1000;

/** Work out what copying `source` writes. Reads manifests (never blobs, except a config to check a platform). */
export async function planCopy(source: ImageSource, options: PlanOptions = {}): Promise<CopyPlan> {
  const call = options.signal ? { signal: options.signal } : {};
  const top = await source.manifest(options.identifier, call);
  const notes: string[] = [];
  const wanted = [...new Set((options.platforms ?? []).map((p) => formatPlatform(parsePlatform(p))))];
  let root: ParsedManifest = top;
  let platforms: string[] = [];
  if (wanted.length > 0 && top.kind === 'index') {
    const chosen = await choosePlatforms(source, top, wanted, call);
    platforms = chosen.platforms;
    if (chosen.only) root = chosen.only;
    else if (chosen.entries.length !== top.value.manifests.length) {
      root = narrowIndex(top, chosen.entries);
      notes.push(
        `the new index holds ${platforms.join(', ')} (${chosen.images} of ${countImages(top)} platforms): its digest ${root.digest} differs from the source index ${top.digest}`,
      );
    }
  } else if (wanted.length > 0) {
    platforms = [await checkSinglePlatform(source, top, wanted, call)];
  } else if (top.kind === 'index') {
    platforms = describePlatforms(top.value.manifests);
  }

  const walker = new Walker(source, call);
  const rootPlanned = await walker.add(root, 'root');
  if (options.referrers) {
    if (source.referrers) await walker.addReferrers();
    else notes.push(`${source.name} cannot list referrers (a ${source.kind} source): none copied`);
  }
  return {
    sourceDigest: top.digest,
    sourceMediaType: top.mediaType,
    root: rootPlanned,
    stages: walker.stages(),
    blobs: [...walker.blobs.values()],
    foreign: [...walker.foreign.values()],
    platforms,
    referrers: walker.referrerCount,
    notes,
  };
}

function countImages(index: ParsedIndex): number {
  return index.value.manifests.filter((d) => !isAttestation(d)).length;
}

/** The entries of an index the wanted platforms choose (best match each), in index order. */
async function choosePlatforms(
  source: ImageSource,
  index: ParsedIndex,
  wanted: string[],
  call: CallOptions,
): Promise<{ entries: Descriptor[]; platforms: string[]; images: number; only?: ParsedManifest }> {
  const picked = new Set<Digest>();
  const platforms: string[] = [];
  for (const platform of wanted) {
    const entry = selectManifest(index.value.manifests, platform);
    if (!entry) {
      throw new ImgdigestError(
        'PLATFORM_NOT_FOUND',
        `no image for ${platform} in ${source.name}; the index offers ${describePlatforms(index.value.manifests).join(', ')}`,
        { details: { platform, offered: describePlatforms(index.value.manifests) } },
      );
    }
    picked.add(entry.digest);
    platforms.push(formatPlatform(platformOfDescriptor(entry.platform)));
  }
  if (wanted.length === 1) {
    // One platform: its manifest itself (following nested indexes down to an image).
    let child = await source.manifest([...picked][0], call);
    while (child.kind === 'index') {
      const next = selectManifest(child.value.manifests, wanted[0]!);
      if (!next) break;
      child = await source.manifest(next.digest, call);
    }
    return { entries: [], platforms, images: 1, only: child };
  }
  const entries = index.value.manifests.filter(
    (d) =>
      picked.has(d.digest) ||
      (isAttestation(d) && picked.has(d.annotations?.['vnd.docker.reference.digest'] as Digest)),
  );
  // Named in index order, whatever order they were asked in.
  const named = entries
    .filter((d) => !isAttestation(d))
    .map((d) => formatPlatform(platformOfDescriptor(d.platform)));
  return { entries, platforms: [...new Set(named)], images: picked.size };
}

/** The source index with only `entries`, every other field as it was (new bytes, new digest). */
function narrowIndex(index: ParsedIndex, entries: Descriptor[]): ParsedManifest {
  const raw = Buffer.from(JSON.stringify({ ...index.value, manifests: entries }), 'utf8');
  return parseManifest(raw, { contentType: index.mediaType, source: 'the narrowed index' });
}

/** A single image asked for by platform: its config must say one of them. */
async function checkSinglePlatform(
  source: ImageSource,
  manifest: ParsedManifest,
  wanted: string[],
  call: CallOptions,
): Promise<string> {
  if (manifest.kind !== 'manifest') return wanted[0]!;
  const reader = await source.blob(manifest.value.config, call);
  const chunks: Buffer[] = [];
  for await (const chunk of reader.stream) chunks.push(chunk as Buffer);
  const config = parseImageConfig(Buffer.concat(chunks), `config of ${source.name}`);
  const actual = {
    os: config.os ?? '',
    architecture: config.architecture ?? '',
    ...(config.variant ? { variant: config.variant } : {}),
  };
  const name = formatPlatform(actual);
  if (!wanted.some((w) => createMatcher(w).match(actual))) {
    throw new ImgdigestError(
      'PLATFORM_NOT_FOUND',
      `${source.name} is a single-platform image for ${name}, not ${wanted.join(', ')}`,
      { details: { platform: name, wanted } },
    );
  }
  return name;
}

/** Collects manifests (post-order) and blobs (once each) from a root and its referrers. */
class Walker {
  readonly blobs = new Map<Digest, Descriptor>();
  readonly foreign = new Map<Digest, Descriptor>();
  readonly #manifests = new Map<Digest, PlannedManifest>();
  readonly #order: PlannedManifest[] = [];
  referrerCount = 0;

  constructor(
    private readonly source: ImageSource,
    private readonly call: CallOptions,
  ) {}

  /** Plan a manifest and everything below it; returns its planned entry. */
  async add(
    manifest: ParsedManifest,
    role: PlannedManifest['role'],
    extra: { platform?: string; subject?: Digest } = {},
  ): Promise<PlannedManifest> {
    const known = this.#manifests.get(manifest.digest);
    if (known) return known;
    let depth = 0;
    if (manifest.kind === 'index') {
      const children = await Promise.all(
        manifest.value.manifests.map(async (d) => {
          const child = await this.source.manifest(d.digest, this.call);
          const platform = d.platform ? formatPlatform(platformOfDescriptor(d.platform)) : undefined;
          return this.add(child, role === 'referrer' ? 'referrer' : 'child', platform ? { platform } : {});
        }),
      );
      depth = 1 + Math.max(-1, ...children.map((c) => c.depth));
    } else {
      for (const d of [manifest.value.config, ...manifest.value.layers]) {
        if (isNonDistributable(d.mediaType) && d.urls?.length) this.foreign.set(d.digest, d);
        else if (!this.blobs.has(d.digest)) this.blobs.set(d.digest, d);
      }
    }
    const planned: PlannedManifest = {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      raw: manifest.raw,
      kind: manifest.kind,
      role,
      depth,
    };
    const artifactType = artifactTypeOf(manifest);
    if (artifactType) planned.artifactType = artifactType;
    if (manifest.value.annotations) planned.annotations = manifest.value.annotations;
    if (extra.platform) planned.platform = extra.platform;
    if (extra.subject) planned.subject = extra.subject;
    this.#manifests.set(manifest.digest, planned);
    this.#order.push(planned);
    return planned;
  }

  /** Add the referrers of every planned manifest, and theirs, breadth first. */
  async addReferrers(): Promise<void> {
    const queue = [...this.#order.map((m) => m.digest)];
    const asked = new Set<Digest>();
    while (queue.length > 0) {
      const subject = queue.shift()!;
      if (asked.has(subject)) continue;
      asked.add(subject);
      const found = await this.source.referrers!(subject, this.call);
      for (const d of found) {
        if (this.#manifests.has(d.digest)) continue;
        if (++this.referrerCount > MAX_REFERRERS) {
          throw new ImgdigestError(
            'SOURCE_ERROR',
            `${this.source.name}: more than ${MAX_REFERRERS} referrers below one image; refusing to copy them all`,
          );
        }
        const manifest = await this.source.manifest(d.digest, this.call);
        await this.add(manifest, 'referrer', { subject });
        queue.push(d.digest);
      }
    }
  }

  /**
   * Write order: the image's own manifests by depth (children first, the root last), then the
   * referrers by depth. Within a stage nothing depends on anything else.
   */
  stages(): PlannedManifest[][] {
    const group = (list: PlannedManifest[]) => {
      const byDepth = new Map<number, PlannedManifest[]>();
      for (const m of list) byDepth.set(m.depth, [...(byDepth.get(m.depth) ?? []), m]);
      return [...byDepth.entries()].sort(([a], [b]) => a - b).map(([, ms]) => ms);
    };
    const own = this.#order.filter((m) => m.role !== 'referrer' && m.role !== 'root');
    const root = this.#order.filter((m) => m.role === 'root');
    const referrers = this.#order.filter((m) => m.role === 'referrer');
    return [...group(own), root, ...group(referrers)].filter((s) => s.length > 0);
  }
}
