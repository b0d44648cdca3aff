/**
 * @module sources/image
 * What the explore verbs do, written once over any {@link ImageSource}: which digest a reference
 * names (the index, or one platform's manifest), the child manifest for a platform (following
 * nested indexes), the image config, and the layers.
 */
import type { Digest } from '../core/digest.js';
import { ImgdigestError } from '../core/errors.js';
import {
  type Descriptor,
  descriptorData,
  type ImageConfig,
  isAttestation,
  type ParsedImageManifest,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
} from '../core/manifest.js';
import { isImageManifestMediaType, isIndexMediaType } from '../core/media-types.js';
import {
  describePlatforms,
  formatPlatform,
  type Platform,
  parsePlatform,
  platformOfDescriptor,
  selectManifest,
} from '../core/platform.js';
import type { Reference } from '../core/reference.js';
import { digestKindOf, type Resolution } from '../core/resolution.js';
import type { CallOptions, ImageSource } from './source.js';

/** Nested indexes deeper than this are refused (a loop or a hostile index). */
const MAX_INDEX_DEPTH = 8;
/** Config blobs are small JSON documents; refuse absurd ones instead of buffering them. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export type { DigestKind, Resolution, ResolutionVia } from '../core/resolution.js';

/**
 * What {@link resolveDigest} answers: a {@link Resolution} whose reference is null for a local
 * source (a layout, an archive, an engine has no registry reference).
 * @deprecated Use `Resolution<Reference | null>`; this name stays for existing code.
 */
export type DigestAnswer = Resolution<Reference | null>;

export interface PlatformOptions extends CallOptions {
  /** `os/arch[/variant]`, or a parsed platform. */
  platform?: string | Platform;
  /** Exact platform matching only (no containerd fallbacks such as arm/v6 for arm/v7). */
  strict?: boolean;
}

function wantedPlatform(p: string | Platform): Platform {
  return typeof p === 'string' ? parsePlatform(p) : p;
}

/**
 * The digest behind the source's identifier. Without a platform this is what the tag points to (one
 * HEAD on a registry); with one it is the best-matching child of the index, answered from the
 * index's own descriptor (one GET of the index; the child is not fetched, so an index whose
 * children were never copied to a mirror still answers).
 */
export async function resolveDigest(
  source: ImageSource,
  options: PlatformOptions = {},
): Promise<Resolution<Reference | null>> {
  const asked = {
    reference: source.reference ?? null,
    resolvedAt: new Date().toISOString(),
    via: source.kind === 'registry' ? ('registry' as const) : ('source' as const),
  };
  if (options.platform === undefined) {
    const d = await source.head(undefined, options);
    const answer: Resolution<Reference | null> = {
      ...asked,
      digest: d.digest,
      kind: digestKindOf(d.mediaType),
      mediaType: d.mediaType,
      size: d.size,
      descriptor: d,
    };
    if (d.platform) answer.platform = formatPlatform(platformOfDescriptor(d.platform));
    return answer;
  }
  const { descriptor, index, platform } = await choose(source, options, false);
  const answer: Resolution<Reference | null> = {
    ...asked,
    digest: descriptor.digest,
    kind: 'manifest',
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    descriptor,
  };
  if (platform !== null) answer.platform = platform;
  if (index !== null) answer.index = index;
  return answer;
}

export interface ChosenManifest {
  manifest: ParsedImageManifest;
  /** The top-level index digest when a child was chosen, else null. */
  index: Digest | null;
  /** The platform of the chosen child, when chosen from an index. */
  platform: string | null;
  /** The top-level manifest as served. */
  top: ParsedManifest;
}

/**
 * The image manifest for a platform: the top-level manifest when it is an image, else the best
 * child of the index (nested indexes followed), fetched and verified. Without a platform, an index
 * is refused with the list of platforms it offers, unless `defaultPlatform` is given.
 */
export async function imageManifest(
  source: ImageSource,
  options: PlatformOptions & { defaultPlatform?: string } = {},
): Promise<ChosenManifest> {
  const { manifest, index, platform, top } = await choose(source, options, true);
  return { manifest: manifest!, index, platform, top };
}

interface Choice {
  /** The image manifest's descriptor: from the index that lists it, or of the top-level image. */
  descriptor: Descriptor;
  /** The image manifest itself, when it was fetched. */
  manifest?: ParsedImageManifest;
  index: Digest | null;
  platform: string | null;
  top: ParsedManifest;
}

/**
 * Read the top-level manifest and choose the image for the platform. With `fetch`, the chosen
 * image manifest is fetched too; without, the answer stops at its descriptor in the index, and
 * only indexes on the way (a child that is itself an index) are fetched.
 */
async function choose(
  source: ImageSource,
  options: PlatformOptions & { defaultPlatform?: string },
  fetch: boolean,
): Promise<Choice> {
  const top = await source.manifest(undefined, options);
  if (top.kind === 'manifest') {
    const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
    return { descriptor, manifest: top, index: null, platform: null, top };
  }
  const spec = options.platform ?? options.defaultPlatform;
  if (spec === undefined) {
    throw new ImgdigestError(
      'PLATFORM_NOT_FOUND',
      `${source.name}:${source.identifier} is a multi-platform index; choose one with --platform (offers ${offered(top) || 'no platforms'})`,
      { details: { platforms: describePlatforms(top.value.manifests) } },
    );
  }
  const wanted = wantedPlatform(spec);
  const found = await selectIn(source, top, wanted, { ...options, fetch }, 0);
  if (!found) {
    throw new ImgdigestError(
      'PLATFORM_NOT_FOUND',
      `no image for ${formatPlatform(wanted)} in ${source.name}:${source.identifier}; the index offers ${offered(top) || 'no platforms'}`,
      { details: { wanted: formatPlatform(wanted), platforms: describePlatforms(top.value.manifests) } },
    );
  }
  return { ...found, index: top.digest, top };
}

type Found = Pick<Choice, 'descriptor' | 'manifest' | 'platform'>;

/**
 * The best image for `wanted` under an index. Entries that are themselves indexes without a
 * platform (a nested index grouping several platforms) are searched only when no direct entry
 * matches; crane would treat them as linux/amd64, which picks the wrong branch. A chosen entry
 * that is an image manifest is fetched only with `fetch`: its digest, media type and size are in
 * the index already.
 */
async function selectIn(
  source: ImageSource,
  index: ParsedManifest,
  wanted: Platform,
  options: PlatformOptions & { fetch: boolean },
  depth: number,
): Promise<Found | null> {
  if (index.kind !== 'index') return null;
  if (depth >= MAX_INDEX_DEPTH) {
    throw new ImgdigestError(
      'MANIFEST_INVALID',
      `${source.name}: indexes nested deeper than ${MAX_INDEX_DEPTH}`,
    );
  }
  const entries = index.value.manifests;
  const groups = entries.filter((d) => isIndexMediaType(d.mediaType) && !d.platform);
  const direct = entries.filter((d) => !groups.includes(d));
  const child = selectManifest(direct, wanted, { strict: options.strict ?? false });
  if (child) {
    const platform = child.platform ? formatPlatform(platformOfDescriptor(child.platform)) : null;
    if (!options.fetch && isImageManifestMediaType(child.mediaType)) {
      return { descriptor: child, platform };
    }
    const m = await childManifest(source, child, options);
    if (m.kind === 'manifest') {
      const descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size };
      return { descriptor, manifest: m, platform };
    }
    const deeper = await selectIn(source, m, wanted, options, depth + 1);
    if (deeper) return { ...deeper, platform: deeper.platform ?? platform };
  }
  for (const group of groups) {
    const found = await selectIn(
      source,
      await childManifest(source, group, options),
      wanted,
      options,
      depth + 1,
    );
    if (found) return found;
  }
  return null;
}

function offered(index: ParsedManifest): string {
  return index.kind === 'index' ? describePlatforms(index.value.manifests).join(', ') : '';
}

/** A child manifest of an index, from its embedded `data` when present, else by digest (verified). */
export async function childManifest(
  source: ImageSource,
  child: Descriptor,
  options: CallOptions = {},
): Promise<ParsedManifest> {
  const data = descriptorData(child);
  if (data) return parseManifest(data, { contentType: child.mediaType, expectedDigest: child.digest });
  return source.manifest(child.digest, options);
}

/** Read a whole (small) blob into memory, verified, with a size cap. */
export async function readBlob(
  source: ImageSource,
  descriptor: { digest: Digest; size?: number },
  options: CallOptions & { limit?: number } = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? MAX_CONFIG_BYTES;
  if (descriptor.size !== undefined && descriptor.size > limit) {
    throw new ImgdigestError(
      'SOURCE_ERROR',
      `blob ${descriptor.digest} is ${descriptor.size} bytes, over ${limit}`,
    );
  }
  const reader = await source.blob(descriptor, options);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of reader.stream) {
    total += (chunk as Buffer).byteLength;
    if (total > limit) {
      reader.stream.destroy();
      throw new ImgdigestError('SOURCE_ERROR', `blob ${descriptor.digest} is over ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface ConfigAnswer {
  raw: Uint8Array;
  config: ImageConfig;
  descriptor: Descriptor;
  chosen: ChosenManifest;
}

/** The image config blob (verified) of the image for a platform. */
export async function imageConfig(
  source: ImageSource,
  options: PlatformOptions & { defaultPlatform?: string } = {},
): Promise<ConfigAnswer> {
  const chosen = await imageManifest(source, options);
  const descriptor = chosen.manifest.value.config;
  const raw = descriptorData(descriptor) ?? (await readBlob(source, descriptor, options));
  return { raw, config: parseImageConfig(raw, `config ${descriptor.digest}`), descriptor, chosen };
}

/** Index entries with the facts the `index` verb shows. */
export interface IndexEntry {
  digest: Digest;
  mediaType: string;
  size: number;
  platform: string | null;
  attestation: boolean;
  /** For attestations: the manifest they describe. */
  attests: string | null;
  annotations: Record<string, string>;
}

export function indexEntries(index: ParsedManifest): IndexEntry[] {
  if (index.kind !== 'index') return [];
  return index.value.manifests.map((d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    platform: d.platform ? formatPlatform(platformOfDescriptor(d.platform)) : null,
    attestation: isAttestation(d),
    attests: d.annotations?.['vnd.docker.reference.digest'] ?? null,
    annotations: d.annotations ?? {},
  }));
}
