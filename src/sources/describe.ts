/**
 * @module sources/describe
 * What `imgdigest inspect` shows, as data, over any {@link ImageSource}: what the identifier names
 * (an index or one image manifest, with its digest), the platforms an index offers, and for one
 * image its config (entrypoint, env, ports, labels), its layers and the referrers of the top digest.
 * The CLI prints it as text or as `--json`; the field order here is the JSON's.
 */
import type { Digest } from '../core/digest.js';
import { imageConfig, indexEntries } from './image.js';
import type { CallOptions, ImageSource, SourceFacts } from './source.js';

/** One image of the summary: the chosen (or only) image manifest and its config. */
export interface ImageDetails {
  /** `os/arch[/variant]`: the index entry's platform, else the config's. */
  platform: string | null;
  /** The image manifest digest (for an index: the chosen child's). */
  digest: Digest;
  /** The config digest (what Docker calls the image ID). */
  config: Digest;
  created: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  user: string | null;
  env: string[];
  exposedPorts: string[];
  labels: Record<string, string>;
  layers: Array<{ digest: Digest; size: number; mediaType: string }>;
  /** Sum of the layer sizes as stored (compressed where the layers are). */
  totalSize: number;
}

/** The summary of what a source's identifier names. */
export interface ImageDescription {
  /** The top digest: the index's for a multi-platform tag, else the image manifest's. */
  digest: Digest;
  kind: 'index' | 'manifest';
  mediaType: string;
  size: number;
  /** An index's platforms in index order (`-` for an entry without one), attestations left out; else the image's. */
  platforms: string[];
  /** How many attestation manifests the index holds. */
  attestations: number;
  /** The image described, or null for an index when no platform was chosen. */
  image: ImageDetails | null;
  /** Referrers of the top digest, where the source can list them (none when it cannot, or fails to). */
  referrers: Array<{ digest: Digest; artifactType: string; size: number }>;
  /** What a local source knows besides manifests (image ID, RepoDigests, notes). */
  facts?: SourceFacts;
}

export interface DescribeOptions extends CallOptions {
  /** For an index: the platform to describe (`os/arch[/variant]`). */
  platform?: string;
  /** For an index, without `platform`: a platform to describe when the index offers it (the host's). */
  preferredPlatform?: string;
}

/**
 * Summarise what `source`'s identifier names. An index is described with one of its images when
 * `platform` is given, or when it offers `preferredPlatform`; otherwise `image` is null.
 *
 * @throws `PLATFORM_NOT_FOUND` when the index has no image for `platform`; source errors as raised.
 * @example
 * const source = await openSource('127.0.0.1:5000/sample:1.0');
 * const { digest, kind, platforms } = await describeImage(source, { preferredPlatform: 'linux/amd64' });
 */
export async function describeImage(
  source: ImageSource,
  options: DescribeOptions = {},
): Promise<ImageDescription> {
  const signal = options.signal ? { signal: options.signal } : {};
  const top = await source.manifest(undefined, signal);
  const entries = indexEntries(top);
  const platforms = entries.filter((e) => !e.attestation).map((e) => e.platform ?? '-');
  const preferred = options.preferredPlatform;
  const wanted =
    options.platform ??
    (top.kind === 'index' && preferred !== undefined && platforms.includes(preferred)
      ? preferred
      : undefined);
  const image =
    top.kind === 'manifest' || wanted !== undefined
      ? await imageConfig(source, wanted === undefined ? signal : { ...signal, platform: wanted })
      : null;
  const referrers = source.referrers ? await source.referrers(top.digest, signal).catch(() => []) : [];
  const facts = source.facts ? await source.facts(signal) : undefined;
  const c = image?.config;
  const configPlatform = c ? `${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}` : null;
  const layers = image?.chosen.manifest.value.layers ?? [];
  return {
    digest: top.digest,
    kind: top.kind,
    mediaType: top.mediaType,
    size: top.size,
    platforms: top.kind === 'index' ? platforms : configPlatform ? [configPlatform] : [],
    attestations: entries.filter((e) => e.attestation).length,
    image: image
      ? {
          platform: image.chosen.platform ?? configPlatform,
          digest: image.chosen.manifest.digest,
          config: image.descriptor.digest,
          created: c?.created ?? null,
          entrypoint: c?.config?.Entrypoint ?? null,
          cmd: c?.config?.Cmd ?? null,
          workingDir: c?.config?.WorkingDir || null,
          user: c?.config?.User || null,
          env: c?.config?.Env ?? [],
          exposedPorts: Object.keys(c?.config?.ExposedPorts ?? {}),
          labels: c?.config?.Labels ?? {},
          layers: layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
          totalSize: layers.reduce((n, l) => n + l.size, 0),
        }
      : null,
    referrers: referrers.map((r) => ({
      digest: r.digest,
      artifactType: r.artifactType ?? r.mediaType,
      size: r.size,
    })),
    ...(facts ? { facts } : {}),
  };
}
