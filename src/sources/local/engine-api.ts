/**
 * @module sources/local/engine-api
 * The Docker Engine API, as much of it as imgdigest needs: a client for `DOCKER_HOST`
 * (`unix:///path`, default `/var/run/docker.sock`, or `tcp://HOST:PORT`; undici with `socketPath`
 * for sockets), `/version` as a ping, and `/images/json` as the `imgdigest images` listing. Works
 * with dockerd and with Podman's API service; where they differ, the comments say how.
 * Connection failures become one line naming the socket and what is wrong.
 * @see https://docs.docker.com/reference/api/engine/
 */
import type { Readable } from 'node:stream';
import { type Digest, isDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import type { Descriptor } from '../../core/manifest.js';
import { isImageManifestMediaType, isIndexMediaType } from '../../core/media-types.js';
import { parseReference } from '../../core/reference.js';
import { Client } from '../registry/undici.js';

const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** How long the engine may take to start answering a request (a hung socket fails, not hangs). */
const DEFAULT_TIMEOUT_MS = 30_000;

export interface DaemonOptions {
  /** `unix:///path` or `tcp://HOST:PORT`; default `$DOCKER_HOST`, else `unix:///var/run/docker.sock`. */
  dockerHost?: string;
  /** Milliseconds to wait for the engine to connect and answer each request (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The engine's answer to `GET /images/{name}/json` (the fields imgdigest reads). */
export interface ImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: string;
  Architecture?: string;
  Os?: string;
  Variant?: string;
  Size?: number;
  Descriptor?: Descriptor;
}

/** The engine's answer to `GET /images/json`, one per image. */
export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  /** Podman only: the digest the image was pulled by (docker-daemon prefers it when a repository has several). */
  Digest?: string;
  /** Docker with a multi-platform (containerd) image store: the descriptor of the image's target. */
  Descriptor?: Descriptor;
}

export class Engine {
  private readonly client: Client;

  constructor(
    /** `unix:///var/run/docker.sock`, for messages. */
    readonly host: string,
    private readonly timeoutMs: number,
  ) {
    const timeouts = { headersTimeout: timeoutMs, connectTimeout: timeoutMs };
    if (host.startsWith('unix://')) {
      const socketPath = host.slice('unix://'.length);
      if (!socketPath) throw badHost(host);
      this.client = new Client('http://docker', { socketPath, ...timeouts });
    } else if (/^(?:tcp|http):\/\/[^/]+\/?$/.test(host)) {
      this.client = new Client(`http://${host.replace(/^\w+:\/\//, '').replace(/\/$/, '')}`, timeouts);
    } else {
      throw badHost(host);
    }
  }

  private async request(path: string, signal?: AbortSignal) {
    try {
      return await this.client.request({ method: 'GET', path, ...(signal ? { signal } : {}) });
    } catch (e) {
      throw this.unreachable(e);
    }
  }

  /** GET a JSON document; null on 404 when `missingOk`. */
  async json<T>(path: string, what: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request(path, signal);
    const text = await res.body.text().catch((e: unknown) => {
      throw this.unreachable(e);
    });
    if (res.statusCode === 404) {
      throw new ImgdigestError('NOT_FOUND', `the Docker engine at ${this.host} has no ${what}`, {
        details: { host: this.host, path },
      });
    }
    if (res.statusCode >= 300) throw this.failed(path, res.statusCode, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ImgdigestError(
        'SOURCE_ERROR',
        `the Docker engine at ${this.host} answered GET ${path} with invalid JSON`,
        {
          details: { host: this.host, path },
        },
      );
    }
  }

  /** GET a byte stream (an image export). */
  async stream(path: string, what: string, signal?: AbortSignal): Promise<Readable> {
    const res = await this.request(path, signal);
    if (res.statusCode >= 300) {
      const text = await res.body.text().catch(() => '');
      if (res.statusCode === 404) {
        throw new ImgdigestError('NOT_FOUND', `the Docker engine at ${this.host} has no ${what}`, {
          details: { host: this.host, path },
        });
      }
      throw this.failed(path, res.statusCode, text);
    }
    return res.body;
  }

  private failed(path: string, status: number, text: string): ImgdigestError {
    let message = text.trim().split('\n')[0] ?? '';
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {}
    return new ImgdigestError(
      'SOURCE_ERROR',
      `the Docker engine at ${this.host} answered GET ${path} with ${status}${message ? `: ${message}` : ''}`,
      { details: { host: this.host, path, status } },
    );
  }

  private unreachable(e: unknown): ImgdigestError {
    if (e instanceof ImgdigestError) return e;
    const err = e as { code?: string; name?: string; message?: string };
    const hint = 'is dockerd or `podman system service` running? set DOCKER_HOST to its socket';
    const why: Record<string, string> = {
      ENOENT: 'no such socket',
      ECONNREFUSED: 'connection refused',
      EACCES: 'permission denied on the socket',
      UND_ERR_CONNECT_TIMEOUT: `no connection within ${this.timeoutMs} ms`,
      UND_ERR_HEADERS_TIMEOUT: `no answer within ${this.timeoutMs} ms`,
      UND_ERR_SOCKET: 'the connection was closed',
    };
    if (err?.name === 'AbortError') return e as ImgdigestError;
    const reason = (err?.code && why[err.code]) ?? err?.message ?? String(e);
    const timeout = err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_CONNECT_TIMEOUT';
    return new ImgdigestError(
      timeout ? 'TIMEOUT' : 'SOURCE_ERROR',
      `cannot reach the Docker engine at ${this.host}: ${reason} (${hint})`,
      { cause: e, details: { host: this.host, code: err?.code ?? null }, retryable: timeout },
    );
  }

  close(): Promise<void> {
    return this.client.close().catch(() => undefined);
  }
}

function badHost(host: string): ImgdigestError {
  return new ImgdigestError(
    'INPUT_INVALID',
    `unsupported DOCKER_HOST "${host}": use unix:///path/to/socket or tcp://HOST:PORT (TLS and ssh:// are not supported)`,
    { details: { host } },
  );
}

export function engineFor(options: DaemonOptions): Engine {
  const host = options.dockerHost || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  return new Engine(host, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

/**
 * `/images/a/b:c/json`: the engine routes `{name:.*}`, so the name goes in as the Docker CLI sends
 * it, slashes and colons included (names are validated references; encodeURI is a safety net).
 */
export function imagePath(name: string, suffix: string): string {
  return `/images/${encodeURI(name)}/${suffix}`;
}

export function withSha256(id: string): Digest {
  return (id.includes(':') ? id : `sha256:${id}`) as Digest;
}

/** `repo@sha256:...` split, or null when it does not parse. */
export function splitRepoDigest(entry: string): { repository: string; digest: Digest } | null {
  const at = entry.lastIndexOf('@');
  if (at <= 0 || !isDigest(entry.slice(at + 1))) return null;
  try {
    return {
      repository: parseReference(entry.slice(0, at)).repository,
      digest: entry.slice(at + 1) as Digest,
    };
  } catch {
    return null;
  }
}

/* ------------------------------------------------------------------ ping */

export interface EngineVersion {
  /** `Docker Engine - Community`, `Podman Engine`, ... */
  name: string;
  version: string;
  apiVersion: string | null;
  host: string;
}

/** `GET /version`: which engine answers at DOCKER_HOST. */
export async function pingDaemon(options: DaemonOptions = {}): Promise<EngineVersion> {
  const engine = engineFor(options);
  try {
    const v = await engine.json<{
      Version?: string;
      ApiVersion?: string;
      Components?: Array<{ Name?: string; Version?: string }>;
    }>('/version', 'version endpoint', options.signal);
    const component = v.Components?.[0];
    return {
      name: component?.Name ?? 'Docker Engine',
      version: component?.Version ?? v.Version ?? 'unknown',
      apiVersion: v.ApiVersion ?? null,
      host: engine.host,
    };
  } finally {
    await engine.close();
  }
}

/* ---------------------------------------------------------------- listing */

/** One line of `imgdigest images`, as `docker images --digests` shows it. */
export interface DaemonImageRow {
  /** `nginx`, `127.0.0.1:5000/app`, or null for an untagged image. */
  repository: string | null;
  tag: string | null;
  /** A registry digest recorded for this repository, or null. */
  digest: Digest | null;
  /**
   * What {@link digest} names, when the engine tells: `index` (a multi-platform index), `manifest`
   * (one platform's image), `unknown` when it does not say; null without a digest.
   */
  kind: 'index' | 'manifest' | 'unknown' | null;
  /** The image ID (config digest). */
  id: Digest;
  /** ISO 8601. */
  created: string | null;
  size: number | null;
}

/**
 * The engine's images with their registry digests, one row per (repository, tag, digest) as
 * `docker images --digests` lists them: a tag whose repository has several recorded digests gets
 * a row for each (Podman records the index's and the pulled platform manifest's after pulling a
 * multi-platform tag), and a repository known only by digest gets rows without a tag.
 * Note: Podman 4.3 answers `GET /images/json?digests=true` with an empty body, so the parameter
 * is not sent; RepoDigests are in every answer anyway.
 */
export async function listDaemonImages(options: DaemonOptions = {}): Promise<DaemonImageRow[]> {
  const engine = engineFor(options);
  try {
    const images = await engine.json<ImageSummary[]>('/images/json', 'image list', options.signal);
    return images.flatMap(rowsOf);
  } finally {
    await engine.close();
  }
}

export function rowsOf(image: ImageSummary): DaemonImageRow[] {
  const base = {
    id: withSha256(image.Id),
    created: typeof image.Created === 'number' ? new Date(image.Created * 1000).toISOString() : null,
    size: image.Size ?? null,
  };
  const entries = (image.RepoDigests ?? []).flatMap((entry) => {
    const d = splitRepoDigest(entry);
    return d ? [{ ...d, name: entry.slice(0, entry.lastIndexOf('@')) }] : [];
  });
  const kinds = digestKinds(image, entries);
  // The digest the engine says it pulled comes first: it is what the tag named in the registry.
  const ordered = [...entries].sort(
    (a, b) => Number(b.digest === image.Digest) - Number(a.digest === image.Digest),
  );
  const digestsOf = (repository: string) => ordered.filter((d) => d.repository === repository);
  const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  const rows: DaemonImageRow[] = tags.flatMap((t): DaemonImageRow[] => {
    const colon = t.lastIndexOf(':');
    const repository = colon > t.lastIndexOf('/') ? t.slice(0, colon) : t;
    const tag = colon > t.lastIndexOf('/') ? t.slice(colon + 1) : null;
    const mine = digestsOf(safeRepository(repository));
    if (mine.length === 0) return [{ repository, tag, digest: null, kind: null, ...base }];
    return mine.map((d) => ({
      repository,
      tag,
      digest: d.digest,
      kind: kinds.get(d.digest) ?? 'unknown',
      ...base,
    }));
  });
  // Repositories known only by digest (untagged, or the tag moved on): one row per digest.
  for (const d of ordered) {
    if (!rows.some((r) => r.repository !== null && safeRepository(r.repository) === d.repository)) {
      rows.push({
        repository: d.name,
        tag: null,
        digest: d.digest,
        kind: kinds.get(d.digest) ?? 'unknown',
        ...base,
      });
    }
  }
  if (rows.length === 0) rows.push({ repository: null, tag: null, digest: null, kind: null, ...base });
  return rows;
}

/**
 * What each recorded digest names, where the engine's answer tells: Docker's image `Descriptor`
 * (multi-platform image store) gives the target's media type; Podman, after pulling through an
 * index, records the index's digest beside the platform manifest's for the same repository and
 * names the index in `Digest` (the digest it pulled), so of several digests of one repository the
 * one in `Digest` is the index and the others are manifests.
 */
function digestKinds(
  image: ImageSummary,
  entries: ReadonlyArray<{ repository: string; digest: Digest }>,
): Map<Digest, 'index' | 'manifest'> {
  const kinds = new Map<Digest, 'index' | 'manifest'>();
  const pulled = image.Digest;
  if (pulled !== undefined) {
    for (const repository of new Set(entries.map((e) => e.repository))) {
      const mine = entries.filter((e) => e.repository === repository);
      if (mine.length < 2 || !mine.some((e) => e.digest === pulled)) continue;
      for (const e of mine) kinds.set(e.digest, e.digest === pulled ? 'index' : 'manifest');
    }
  }
  const target = image.Descriptor;
  if (target && isDigest(target.digest)) {
    if (isIndexMediaType(target.mediaType)) kinds.set(target.digest, 'index');
    else if (isImageManifestMediaType(target.mediaType)) kinds.set(target.digest, 'manifest');
  }
  return kinds;
}

export function safeRepository(name: string): string {
  try {
    return parseReference(name).repository;
  } catch {
    return name;
  }
}
