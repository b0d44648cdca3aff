/**
 * @module sources/local/docker-daemon
 * `docker-daemon:NAME[:TAG]`: images in a Docker-compatible engine (dockerd, or Podman's API
 * service), over the Engine API at `DOCKER_HOST` (`unix:///var/run/docker.sock` by default,
 * `unix:///path`, `tcp://HOST:PORT`).
 *
 * What an engine can and cannot say: it records the registry digest of an image only when it
 * pulled the image from, or pushed it to, a registry (`RepoDigests`); it never keeps the manifest
 * bytes. So `head()` answers with the recorded digest for the requested repository (media type and
 * size unknown: `''` and `-1`, unless the engine reports a `Descriptor`, API 1.46+ with the
 * containerd store), and `manifest()`, `blob()` and the config come from an export of the image
 * (`GET /images/{name}/get`, a docker-archive) read by that module, with its synthesised manifest.
 * @see https://docs.docker.com/reference/api/engine/
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Digest, isDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import type { Descriptor, ParsedManifest } from '../../core/manifest.js';
import { parseReference, type Reference } from '../../core/reference.js';
import type { BlobReader, CallOptions, ImageSource, SourceFacts } from '../source.js';
import { openDockerArchive } from './docker-archive.js';
import {
  type DaemonOptions,
  type Engine,
  engineFor,
  type ImageInspect,
  type ImageSummary,
  imagePath,
  rowsOf,
  safeRepository,
  splitRepoDigest,
  withSha256,
} from './engine-api.js';

export {
  type DaemonImageRow,
  type DaemonOptions,
  type EngineVersion,
  listDaemonImages,
  pingDaemon,
} from './engine-api.js';

/* ----------------------------------------------------------------- source */

/** An image in the engine. */
class DaemonSource implements ImageSource {
  readonly kind = 'docker-daemon' as const;
  readonly name: string;
  readonly identifier: string;
  private archive: Promise<ImageSource> | undefined;

  constructor(
    private readonly engine: Engine,
    /** What the engine is asked for: a canonical reference or an image ID. */
    private readonly query: string,
    private readonly ref: Reference | null,
  ) {
    this.name = ref ? `docker-daemon:${ref.familiarRepository}` : 'docker-daemon';
    this.identifier = ref ? (ref.digest ?? ref.tag ?? 'latest') : query;
  }

  private label(): string {
    return this.ref ? `${this.name}:${this.identifier}` : `docker-daemon:${this.query}`;
  }

  private inspect(signal?: AbortSignal): Promise<ImageInspect> {
    return this.engine.json<ImageInspect>(imagePath(this.query, 'json'), `image "${this.query}"`, signal);
  }

  /**
   * The registry digest the engine recorded for the requested repository (RepoDigests). An image
   * that was built or loaded locally has none: that is an error, with the image ID offered instead.
   */
  async head(identifier?: string, options: CallOptions = {}): Promise<Descriptor> {
    if (identifier !== undefined && identifier !== this.identifier) {
      return (await this.sibling(identifier)).head(undefined, options);
    }
    const image = await this.inspect(options.signal);
    const all = (image.RepoDigests ?? []).map(splitRepoDigest).filter((d) => d !== null);
    const wanted = this.ref?.repository;
    const mine = wanted ? all.filter((d) => d.repository === wanted) : all;
    const id = withSha256(image.Id);
    if (mine.length === 0) {
      const others =
        all.length > 0 ? ` (it has digests only for ${(image.RepoDigests ?? []).join(', ')})` : '';
      throw new ImgdigestError(
        'NOT_FOUND',
        `${this.label()} (image ${id}) has no registry digest${others || ': it was never pushed to or pulled from a registry'}; use --image-id to print its image ID`,
        { details: { imageId: id, repoDigests: image.RepoDigests ?? [] } },
      );
    }
    const chosen = mine.length > 1 ? await this.preferPulled(mine, options.signal) : mine[0]!;
    const d = image.Descriptor;
    if (d && d.digest === chosen.digest) return d;
    return { mediaType: '', digest: chosen.digest, size: -1 };
  }

  /**
   * Podman puts both a list's digest and the pulled instance's digest in RepoDigests; its own API
   * (`/libpod/images/{name}/json`, versioned paths only) names in `Digest` the one the image was
   * pulled by, which is what the tag names in the registry. Other engines record one digest per
   * repository, so this is asked only when there are several.
   */
  private async preferPulled(
    candidates: Array<{ digest: Digest }>,
    signal?: AbortSignal,
  ): Promise<{ digest: Digest }> {
    try {
      const libpod = await this.engine.json<{ Digest?: string }>(
        `/v4.0.0/libpod${imagePath(this.query, 'json')}`,
        'libpod image',
        signal,
      );
      const pulled = candidates.find((c) => c.digest === libpod.Digest);
      if (pulled) return pulled;
    } catch {
      // Not Podman: keep the engine's order.
    }
    return candidates[0]!;
  }

  private async sibling(identifier: string): Promise<DaemonSource> {
    if (!this.ref)
      throw new ImgdigestError('INPUT_INVALID', `${this.label()}: an image ID has no other tags`);
    const ref = isDigest(identifier)
      ? this.ref.withoutTag().withDigest(identifier)
      : this.ref.withTag(identifier);
    return new DaemonSource(this.engine, ref.canonical, ref);
  }

  /** The image exported as a docker-archive into a temporary file, once. */
  private exported(signal?: AbortSignal): Promise<ImageSource> {
    this.archive ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgdigest-daemon-'));
      const cleanup = () => rm(dir, { recursive: true, force: true });
      try {
        const file = join(dir, 'image.tar');
        const body = await this.engine.stream(imagePath(this.query, 'get'), `image "${this.query}"`, signal);
        await pipeline(body, createWriteStream(file));
        return await openDockerArchive(file, undefined, { name: this.label(), onClose: cleanup });
      } catch (e) {
        await cleanup();
        throw e;
      }
    })();
    this.archive.catch(() => {
      this.archive = undefined;
    });
    return this.archive;
  }

  /** The manifest synthesised from the engine's export (see docker-archive); not a registry manifest. */
  async manifest(identifier?: string, options: CallOptions = {}): Promise<ParsedManifest> {
    const archive = await this.exported(options.signal);
    if (identifier !== undefined && identifier !== this.identifier) {
      if (!isDigest(identifier)) return (await this.sibling(identifier)).manifest(undefined, options);
      try {
        return await archive.manifest(identifier, options);
      } catch (e) {
        throw new ImgdigestError(
          'NOT_FOUND',
          `${this.label()}: the engine keeps no manifest ${identifier}; it records registry digests but not manifest bytes (read it from the registry instead)`,
          { cause: e, details: { digest: identifier } },
        );
      }
    }
    return archive.manifest(undefined, options);
  }

  async blob(descriptor: { digest: Digest; size?: number }, options: CallOptions = {}): Promise<BlobReader> {
    return (await this.exported(options.signal)).blob(descriptor, options);
  }

  /** Tags the engine has for this repository, sorted. */
  async tags(options: CallOptions = {}): Promise<string[]> {
    const images = await this.engine.json<ImageSummary[]>('/images/json', 'image list', options.signal);
    const wanted = this.ref?.repository;
    const tags = images
      .flatMap(rowsOf)
      .filter((r) => r.tag !== null && r.repository !== null && safeRepository(r.repository) === wanted)
      .map((r) => r.tag as string);
    return [...new Set(tags)].sort();
  }

  async facts(options: CallOptions = {}): Promise<SourceFacts> {
    const image = await this.inspect(options.signal);
    const repoDigests = image.RepoDigests ?? [];
    return {
      imageId: withSha256(image.Id),
      repoDigests,
      repoTags: (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      notes: [
        repoDigests.length > 0
          ? `the engine at ${this.engine.host} recorded these registry digests when the image was pulled or pushed`
          : `the engine at ${this.engine.host} has no registry digest for this image: it was built or loaded locally, never pushed or pulled`,
        'the engine keeps no manifest: manifest, config and layers are read from an export of the image, and that manifest is synthesised (its digest is not a registry digest)',
      ],
    };
  }

  async close(): Promise<void> {
    const archive = this.archive;
    this.archive = undefined;
    if (archive) await (await archive.catch(() => undefined))?.close?.();
    await this.engine.close();
  }
}

/**
 * Open `docker-daemon:NAME[:TAG]` (or an image ID, `sha256:...` or its short hex form). Nothing is
 * sent until a method is called.
 *
 * @throws `INPUT_INVALID` (bad DOCKER_HOST), `REFERENCE_INVALID` (bad name)
 * @example
 * const src = await openDockerDaemon('127.0.0.1:5000/app:v1', { dockerHost: 'unix:///run/podman.sock' });
 * (await src.head()).digest // the RepoDigest recorded for 127.0.0.1:5000/app
 */
export async function openDockerDaemon(
  nameAndTag: string,
  options: DaemonOptions = {},
): Promise<ImageSource> {
  const engine = engineFor(options);
  if (/^(?:sha256:[a-f0-9]{64}|[a-f0-9]{12,64})$/.test(nameAndTag)) {
    return new DaemonSource(engine, nameAndTag, null);
  }
  let ref: Reference;
  try {
    ref = parseReference(nameAndTag);
  } catch (e) {
    await engine.close();
    throw e;
  }
  if (ref.tag === null && ref.digest === null) ref = ref.withTag('latest');
  return new DaemonSource(engine, ref.canonical, ref);
}
