/**
 * @module explorer/models
 * The data behind each page, as plain JSON-ready objects: the JSON API returns them as they are,
 * and the HTML pages render them. Everything is read through the library's sources.
 */
import { type Address, atDigest, formatAddress, identifierOf, pinnedDigest, sourceName } from './address.js';
import {
  type Descriptor,
  descriptorData,
  digestOf,
  formatPlatform,
  type ImageConfig,
  type ImageSource,
  ImgdigestError,
  indexEntries,
  isIndexMediaType,
  type ParsedManifest,
  parseImageConfig,
  platformOfDescriptor,
  RegistrySource,
  readBlob,
} from './library.js';
import type { ExplorerState } from './state.js';

export interface DescriptorModel {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string>;
}

function descriptorModel(d: Descriptor): DescriptorModel {
  return {
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    artifactType: d.artifactType ?? null,
    annotations: d.annotations ?? {},
  };
}

export interface PlatformModel extends DescriptorModel {
  platform: string | null;
  attestation: boolean;
  attests: string | null;
  /** Address of the child (a page of its own). */
  address: string;
}

export interface ImageModel {
  address: string;
  source: string;
  sourceKind: string;
  tag: string | null;
  digest: string;
  kind: 'index' | 'manifest';
  mediaType: string;
  size: number;
  /** `name:tag@sha256:…` (or `name@sha256:…`). */
  pinned: string;
  /** Address of this image by digest (what to share). */
  pinnedAddress: string;
  /** The manifest as served, as text. */
  raw: string;
  /** sha256 of the raw bytes, computed here. */
  computedDigest: string;
  /** The digest the bytes were checked against (the one requested, or the registry's), or null. */
  expectedDigest: string | null;
  verified: boolean | null;
  artifactType: string | null;
  annotations: Record<string, string>;
  subject: DescriptorModel | null;
  platforms: PlatformModel[] | null;
  config: DescriptorModel | null;
  layers: DescriptorModel[] | null;
  totalSize: number | null;
  referrers: DescriptorModel[] | null;
  referrersError: string | null;
  notes: string[];
}

/** The digest page: the manifest or index as served, checked, with what it points at. */
export async function imageModel(
  state: ExplorerState,
  address: Address,
  signal: AbortSignal,
): Promise<ImageModel> {
  const source = await state.source(address);
  const id = identifierOf(address);
  const pinned = pinnedDigest(address);
  let expected: string | null = pinned;
  let manifest: ParsedManifest;
  if (!pinned && source instanceof RegistrySource) {
    const head = await source.head(id, { signal });
    expected = head.digest;
    manifest = await source.manifest(head.digest, { signal });
  } else {
    manifest = await source.manifest(id, { signal });
    if (!pinned) {
      const head = await source.head(id, { signal }).catch(() => null);
      if (head && (head.digest === manifest.digest || isIndexMediaType(head.mediaType)))
        expected = head.digest;
    }
  }
  const computed = digestOf(manifest.raw);
  const facts = (source as ImageSource).facts;
  const notes = facts
    ? (((await facts.call(source, { signal }).catch(() => ({}))) as { notes?: string[] }).notes ?? [])
    : [];
  const self = atDigest(address, manifest.digest);
  const tag = address.kind === 'registry' ? address.ref.tag : null;
  const model: ImageModel = {
    address: formatAddress(address),
    source: sourceName(address),
    sourceKind: source.kind,
    tag: address.kind === 'registry' ? (address.ref.tag ?? (address.ref.digest ? null : 'latest')) : null,
    digest: manifest.digest,
    kind: manifest.kind,
    mediaType: manifest.mediaType,
    size: manifest.size,
    pinned:
      address.kind === 'registry' && tag
        ? `${address.ref.repository}:${tag}@${manifest.digest}`
        : formatAddress(self),
    pinnedAddress: formatAddress(self),
    raw: Buffer.from(manifest.raw).toString('utf8'),
    computedDigest: computed,
    expectedDigest: expected,
    verified: expected ? expected === computed : null,
    artifactType:
      manifest.kind === 'manifest'
        ? (manifest.value.artifactType ?? null)
        : (manifest.value.artifactType ?? null),
    annotations: manifest.value.annotations ?? {},
    subject: manifest.value.subject ? descriptorModel(manifest.value.subject) : null,
    platforms: null,
    config: null,
    layers: null,
    totalSize: null,
    referrers: null,
    referrersError: null,
    notes,
  };
  if (manifest.kind === 'index') {
    model.platforms = indexEntries(manifest).map((e, i) => ({
      ...descriptorModel(manifest.value.manifests[i]!),
      platform: e.platform,
      attestation: e.attestation,
      attests: e.attests,
      address: formatAddress(atDigest(address, e.digest)),
    }));
  } else {
    model.config = descriptorModel(manifest.value.config);
    model.layers = manifest.value.layers.map(descriptorModel);
    model.totalSize = manifest.value.layers.reduce((n, l) => n + l.size, 0);
  }
  if (source.referrers) {
    try {
      model.referrers = (await source.referrers(manifest.digest, { signal })).map(descriptorModel);
    } catch (e) {
      model.referrersError = (e as Error).message;
    }
  }
  return model;
}

export interface HistoryStep {
  created: string | null;
  createdBy: string;
  comment: string | null;
  emptyLayer: boolean;
  layer: (DescriptorModel & { diffId: string | null; address: string }) | null;
}

export interface ConfigModel {
  address: string;
  image: string;
  manifestDigest: string;
  config: DescriptorModel;
  raw: string;
  platform: string | null;
  created: string | null;
  author: string | null;
  user: string | null;
  env: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  ports: string[];
  volumes: string[];
  labels: Record<string, string>;
  stopSignal: string | null;
  history: HistoryStep[];
  /** Layers no history step accounts for (a config without history). */
  unaccounted: number;
}

/** The image manifest an address names, refusing an index with the list of its platforms. */
export async function imageManifestAt(state: ExplorerState, address: Address, signal: AbortSignal) {
  const source = await state.source(address);
  const manifest = await source.manifest(identifierOf(address), { signal });
  if (manifest.kind === 'index') {
    const offers = indexEntries(manifest)
      .filter((e) => !e.attestation)
      .map((e) => e.platform ?? e.digest);
    throw new ImgdigestError(
      'PLATFORM_NOT_FOUND',
      `${formatAddress(address)} is a multi-platform index; choose one platform (offers ${offers.join(', ') || 'no platforms'})`,
      { details: { platforms: offers } },
    );
  }
  return { source, manifest };
}

/** The config page: runtime settings and the history beside the layers each step made. */
export async function configModel(
  state: ExplorerState,
  address: Address,
  signal: AbortSignal,
): Promise<ConfigModel> {
  const { source, manifest } = await imageManifestAt(state, address, signal);
  const descriptor = manifest.value.config;
  const raw = descriptorData(descriptor) ?? (await readBlob(source, descriptor, { signal }));
  const config: ImageConfig = parseImageConfig(raw, `config ${descriptor.digest}`);
  const c = config.config ?? {};
  const layers = manifest.value.layers;
  const diffIds = config.rootfs?.diff_ids ?? [];
  const image = atDigest(address, manifest.digest);
  let next = 0;
  const history: HistoryStep[] = (config.history ?? []).map((h) => {
    const empty = h.empty_layer === true;
    const layer = !empty && next < layers.length ? layers[next] : undefined;
    const index = next;
    if (!empty) next++;
    return {
      created: h.created ?? null,
      createdBy: h.created_by ?? '',
      comment: h.comment ?? null,
      emptyLayer: empty,
      layer: layer
        ? {
            ...descriptorModel(layer),
            diffId: diffIds[index] ?? null,
            address: formatAddress(atDigest(address, layer.digest)),
          }
        : null,
    };
  });
  const platform =
    config.os && config.architecture
      ? formatPlatform(
          platformOfDescriptor({
            os: config.os,
            architecture: config.architecture,
            ...(config.variant ? { variant: config.variant } : {}),
          }),
        )
      : null;
  return {
    address: formatAddress(address),
    image: formatAddress(image),
    manifestDigest: manifest.digest,
    config: descriptorModel(descriptor),
    raw: Buffer.from(raw).toString('utf8'),
    platform,
    created: config.created ?? null,
    author: config.author ?? null,
    user: c.User || null,
    env: c.Env ?? [],
    entrypoint: c.Entrypoint ?? null,
    cmd: c.Cmd ?? null,
    workingDir: c.WorkingDir || null,
    ports: Object.keys(c.ExposedPorts ?? {}),
    volumes: Object.keys(c.Volumes ?? {}),
    labels: c.Labels ?? {},
    stopSignal: c.StopSignal ?? null,
    history,
    unaccounted: Math.max(0, layers.length - next),
  };
}

export interface TagModel {
  tag: string;
  digest: string | null;
  mediaType: string | null;
  error: string | null;
  /** When the registry says the tag last moved (Google's tag map), ISO 8601; else null. */
  uploaded?: string | null;
}

export interface RepoModel {
  repository: string;
  registry: string | null;
  tags: TagModel[];
  /** The `last` to ask for the next page, or null at the end. */
  next: string | null;
  /** Whether digests are filled in (the JSON API resolves them; the page streams them). */
  resolved: boolean;
  /** Tags that moved most recently, when the registry reports upload times (newest first, at most 10). */
  recent: TagModel[] | null;
}

export const TAGS_PAGE = 100;

/** One page of tags (registries page; local sources list all). */
export async function repoPage(
  state: ExplorerState,
  address: Address,
  last: string | undefined,
  signal: AbortSignal,
): Promise<RepoModel> {
  if (address.kind === 'registry') {
    const repo = address.ref.repositoryOnly();
    const page = await state.client.tagsPage(repo, { n: TAGS_PAGE, ...(last ? { last } : {}), signal });
    const items = last ? page.items.filter((t) => t > last || !page.next) : page.items;
    const info = page.tagInfo;
    // Google's registries send each tag's digest and upload time with the list: no HEAD needed.
    const tags: TagModel[] = items.map((tag) => {
      const known = info?.get(tag);
      return known
        ? {
            tag,
            digest: known.digest,
            mediaType: null,
            error: null,
            uploaded: known.uploadedMs ? new Date(known.uploadedMs).toISOString() : null,
          }
        : { tag, digest: null, mediaType: null, error: null };
    });
    const timed = tags.filter((t) => t.uploaded);
    return {
      repository: repo.repository,
      registry: repo.domain,
      tags,
      next: page.next ? (page.next.last ?? items[items.length - 1] ?? null) : null,
      resolved: tags.length > 0 && tags.every((t) => t.digest !== null),
      recent:
        timed.length > 0
          ? [...timed].sort((a, b) => (a.uploaded! < b.uploaded! ? 1 : -1)).slice(0, 10)
          : null,
    };
  }
  const source = await state.source(address);
  const tags = await source.tags({ signal });
  return {
    repository: address.open,
    registry: null,
    tags: tags.map((tag) => ({ tag, digest: null, mediaType: null, error: null })),
    next: null,
    resolved: false,
    recent: null,
  };
}

/** Resolve tags to digests with bounded concurrency, calling `onTag` as each answer arrives. */
export async function resolveTags(
  state: ExplorerState,
  address: Address,
  tags: string[],
  onTag: (t: TagModel) => void,
  signal: AbortSignal,
  concurrency = 8,
): Promise<void> {
  const source = await state.source(address);
  let next = 0;
  const worker = async () => {
    while (next < tags.length && !signal.aborted) {
      const tag = tags[next++]!;
      try {
        const d = await source.head(tag, { signal });
        onTag({ tag, digest: d.digest, mediaType: d.mediaType, error: null });
      } catch (e) {
        onTag({ tag, digest: null, mediaType: null, error: (e as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tags.length)) }, worker));
}

/** Tags grouped by the digest they point at (tags whose look-up failed last). */
export function groupTags(
  tags: TagModel[],
): Array<{ digest: string | null; mediaType: string | null; tags: string[] }> {
  const groups = new Map<string, { digest: string | null; mediaType: string | null; tags: string[] }>();
  for (const t of tags) {
    const key = t.digest ?? `error:${t.tag}`;
    const g = groups.get(key) ?? { digest: t.digest, mediaType: t.mediaType, tags: [] };
    g.tags.push(t.tag);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) =>
    a.digest === null ? 1 : b.digest === null ? -1 : b.tags.length - a.tags.length,
  );
}

export interface CatalogModel {
  registry: string;
  repositories: string[];
  next: string | null;
}

export const CATALOG_PAGE = 100;

export async function catalogModel(
  state: ExplorerState,
  registry: string,
  last: string | undefined,
  signal: AbortSignal,
): Promise<CatalogModel> {
  const page = await state.client.catalogPage(registry, {
    n: CATALOG_PAGE,
    ...(last ? { last } : {}),
    signal,
  });
  return {
    registry,
    repositories: page.items,
    next: page.next ? (page.next.last ?? page.items[page.items.length - 1] ?? null) : null,
  };
}

/** Used by compare: the descriptor of a child, for links. */
export function childAddress(address: Address, digest: string): string {
  return formatAddress(atDigest(address, digest));
}
