/**
 * @module builder/image-set
 * A set of built images (blobs, manifests in push order, tags) and the two ways out of memory:
 * push it to a registry with the OCI distribution API, or write it as an OCI image layout.
 *
 * The pusher is deliberately tiny (monolithic uploads, one Basic or Bearer handshake per
 * repository): it exists to seed test registries and the quick start, not to be a client.
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 * @see https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { type Digest, parseDigest } from '../core/digest.js';
import { ImgdigestError } from '../core/errors.js';
import type { Descriptor } from '../core/manifest.js';
import { MediaType } from '../core/media-types.js';
import { type Blob, type BuiltImage, type BuiltManifest, descriptorFor } from './objects.js';

/** Built images ready to push or write: every blob, every manifest (children before parents), tags. */
export interface ImageSet {
  blobs: Map<Digest, Uint8Array>;
  /** In push order: a manifest always comes after everything it references. */
  manifests: BuiltManifest[];
  tags: Record<string, Digest>;
}

export function createImageSet(): ImageSet {
  return { blobs: new Map(), manifests: [], tags: {} };
}

export function addBlob(set: ImageSet, blob: Blob): void {
  set.blobs.set(blob.digest, blob.bytes);
}

/** Add a manifest (once; later duplicates are ignored) and point `tags` at it. */
export function addManifest(set: ImageSet, manifest: BuiltManifest, ...tags: string[]): void {
  if (!set.manifests.some((m) => m.digest === manifest.digest)) set.manifests.push(manifest);
  for (const tag of tags) set.tags[tag] = manifest.digest;
}

/** Add an image's config, layers and manifest, and point `tags` at the manifest. */
export function addImage(set: ImageSet, image: BuiltImage, ...tags: string[]): void {
  addBlob(set, image.config);
  for (const layer of image.layers) addBlob(set, layer);
  addManifest(set, image.manifest, ...tags);
}

/** Copy everything of `from` into `into` (tags of `from` win). */
export function mergeImageSets(into: ImageSet, from: ImageSet): ImageSet {
  for (const [digest, bytes] of from.blobs) into.blobs.set(digest, bytes);
  for (const m of from.manifests) addManifest(into, m);
  Object.assign(into.tags, from.tags);
  return into;
}

export interface PushCredentials {
  username: string;
  password: string;
}

export interface PushOptions {
  /** Used for Basic challenges, and as Basic credentials at a Bearer challenge's token realm. */
  auth?: PushCredentials;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

/** A blob to upload; a function body is called once per attempt, so large blobs can be streamed. */
export interface BlobUpload {
  digest: Digest;
  size: number;
  body: Uint8Array | (() => AsyncIterable<Uint8Array>);
}

type Body = Uint8Array | Readable | undefined;

/**
 * Pushes blobs and manifests to one registry (`http://127.0.0.1:5000`, no trailing path).
 * @example await new RegistryPusher('http://127.0.0.1:5000').pushImageSet('sample', set);
 */
export class RegistryPusher {
  private readonly base: string;
  private readonly authorization = new Map<string, string>();

  constructor(
    baseUrl: string,
    private readonly options: PushOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** True when the repository already has the blob (HEAD answered 200). */
  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.send(repo, 'HEAD', `${this.base}/v2/${repo}/blobs/${digest}`);
    await res.body.dump();
    return res.statusCode === 200;
  }

  /** Upload one blob monolithically: POST to open the upload, then PUT `?digest=` with the bytes. */
  async pushBlob(repo: string, blob: BlobUpload): Promise<void> {
    if (await this.hasBlob(repo, blob.digest)) return;
    const opened = await this.send(repo, 'POST', `${this.base}/v2/${repo}/blobs/uploads/`);
    await expectStatus(opened, [202], 'POST', `${this.base}/v2/${repo}/blobs/uploads/`);
    const location = header(opened, 'location');
    if (!location) throw registryError(`POST ${this.base}/v2/${repo}/blobs/uploads/ sent no Location`);
    // Location may be relative (distribution-spec "Pushing blobs") and may carry a query already.
    const url = new URL(location, `${this.base}/`);
    url.searchParams.append('digest', blob.digest);
    const body = (): Body =>
      blob.body instanceof Uint8Array ? blob.body : Readable.from(blob.body(), { objectMode: false });
    const res = await this.send(repo, 'PUT', url.href, body, {
      'content-type': 'application/octet-stream',
      'content-length': String(blob.size),
    });
    await expectStatus(res, [201], 'PUT', url.href);
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry reports (or computed). */
  async pushManifest(
    repo: string,
    reference: string,
    manifest: { bytes: Uint8Array; mediaType: string; digest: Digest },
  ): Promise<Digest> {
    const url = `${this.base}/v2/${repo}/manifests/${reference}`;
    const res = await this.send(repo, 'PUT', url, () => manifest.bytes, {
      'content-type': manifest.mediaType,
    });
    await expectStatus(res, [201], 'PUT', url);
    const served = header(res, 'docker-content-digest');
    if (served && served !== manifest.digest) {
      throw new ImgdigestError(
        'DIGEST_MISMATCH',
        `PUT ${url}: registry reports ${served}, pushed ${manifest.digest}`,
      );
    }
    return manifest.digest;
  }

  /** Push every blob, then every manifest by digest (children first), then every tag. */
  async pushImageSet(repo: string, set: ImageSet): Promise<void> {
    for (const [digest, bytes] of set.blobs)
      await this.pushBlob(repo, { digest, size: bytes.byteLength, body: bytes });
    for (const m of set.manifests) await this.pushManifest(repo, m.digest, m);
    for (const [tag, digest] of Object.entries(set.tags)) {
      await this.pushManifest(repo, tag, manifestIn(set, digest, tag));
    }
  }

  /** Send once; on a 401 answer the challenge (Basic or Bearer) for this repository and send again. */
  private async send(
    repo: string,
    method: Dispatcher.HttpMethod,
    url: string,
    body?: () => Body,
    headers: Record<string, string> = {},
  ): Promise<Dispatcher.ResponseData> {
    for (let attempt = 0; ; attempt++) {
      const authorization = this.authorization.get(repo);
      const res = await request(url, {
        method,
        headers: { ...headers, ...(authorization ? { authorization } : {}) },
        body: body?.(),
        signal: this.options.signal,
        dispatcher: this.options.dispatcher,
      });
      if (res.statusCode !== 401 || attempt > 0) return res;
      await res.body.dump();
      await this.authorize(repo, header(res, 'www-authenticate') ?? '', url);
    }
  }

  private async authorize(repo: string, challenge: string, url: string): Promise<void> {
    const creds = this.options.auth;
    const scheme = challenge.split(/\s+/, 1)[0]?.toLowerCase();
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const basic = creds
      ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      : undefined;
    if (scheme === 'basic' && basic) {
      this.authorization.set(repo, basic);
      return;
    }
    if (scheme !== 'bearer' || !params.realm) {
      throw new ImgdigestError('AUTH_FAILED', `${stripQuery(url)} needs credentials (challenge: ${scheme})`);
    }
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.append('scope', `repository:${repo}:pull,push`);
    const res = await request(tokenUrl, {
      headers: basic ? { authorization: basic } : {},
      signal: this.options.signal,
      dispatcher: this.options.dispatcher,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new ImgdigestError(
        'AUTH_FAILED',
        `token realm ${stripQuery(tokenUrl.href)} answered ${res.statusCode}`,
      );
    }
    const json = (await res.body.json()) as { token?: string; access_token?: string };
    const token = json.access_token ?? json.token;
    if (!token)
      throw new ImgdigestError('AUTH_FAILED', `token realm ${stripQuery(tokenUrl.href)} sent no token`);
    this.authorization.set(repo, `Bearer ${token}`);
  }
}

/** Push `set` to `repo` at `baseUrl`. See {@link RegistryPusher}. */
export async function pushImageSet(
  baseUrl: string,
  repo: string,
  set: ImageSet,
  options: PushOptions = {},
): Promise<void> {
  await new RegistryPusher(baseUrl, options).pushImageSet(repo, set);
}

function manifestIn(set: ImageSet, digest: Digest, tag: string): BuiltManifest {
  const m = set.manifests.find((x) => x.digest === digest);
  if (!m)
    throw new ImgdigestError(
      'INPUT_INVALID',
      `tag "${tag}" points at ${digest}, which the set does not hold`,
    );
  return m;
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function expectStatus(
  res: Dispatcher.ResponseData,
  ok: number[],
  method: string,
  url: string,
): Promise<void> {
  if (ok.includes(res.statusCode)) {
    await res.body.dump();
    return;
  }
  const text = (await res.body.text()).replace(/\s+/g, ' ').slice(0, 200);
  throw registryError(`${method} ${stripQuery(url)} answered ${res.statusCode}: ${text}`);
}

function registryError(message: string): ImgdigestError {
  return new ImgdigestError('REGISTRY_ERROR', message);
}

/** Upload URLs carry opaque state in the query; keep messages to one readable line. */
function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The `index.json` annotation that names a tag in an OCI layout. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/**
 * Write `set` as an OCI image layout in `dir` (created if missing): `oci-layout`, `blobs/<alg>/<hex>`
 * for every blob and manifest, and `index.json` with one entry per tag, named by
 * `org.opencontainers.image.ref.name`, sorted by tag.
 */
export async function writeOciLayout(dir: string, set: ImageSet): Promise<void> {
  const objects: Array<[Digest, Uint8Array]> = [
    ...set.blobs,
    ...set.manifests.map((m): [Digest, Uint8Array] => [m.digest, m.bytes]),
  ];
  for (const [digest, bytes] of objects) {
    const { algorithm, encoded } = parseDigest(digest);
    await mkdir(join(dir, 'blobs', algorithm), { recursive: true });
    await writeFile(join(dir, 'blobs', algorithm, encoded), bytes);
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = Object.entries(set.tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([tag, digest]) =>
      descriptorFor(manifestIn(set, digest, tag), { annotations: { [REF_NAME_ANNOTATION]: tag } }),
    );
  const index = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
