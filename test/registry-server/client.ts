/**
 * @module test/registry-server/client
 * A raw registry client for the registry-server tests: one undici request per call, nothing
 * hidden, so tests see the exact status, headers and error codes a registry answers. Also small
 * image fixtures (config, layers, manifests, artifacts) built from bytes the test controls.
 */
import { type Dispatcher, request } from 'undici';
import { sha256 } from '../support/sha256.js';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The parsed body (throws if it is not JSON). */
  json<T = unknown>(): T;
  /** `errors[].code` of a spec error body, [] otherwise. */
  codes(): string[];
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** E.g. an Agent bound to another local address, to be another client. */
  dispatcher?: Dispatcher;
}

/** Send one request to `base` + `path` (path may be an absolute Location). */
export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const res = await request(url, {
    method: method as 'GET',
    headers: options.headers,
    body: options.body,
    dispatcher: options.dispatcher,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    status: res.statusCode,
    headers,
    body,
    json<T>() {
      return JSON.parse(body.toString('utf8')) as T;
    },
    codes() {
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code: string }> };
        return (parsed.errors ?? []).map((e) => e.code);
      } catch {
        return [];
      }
    },
  };
}

/** Append `digest=` to an upload Location, whatever query it already has (distribution adds `_state`). */
export function withDigest(location: string, digest: string, base: string): string {
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** Push a blob with POST + PUT (the flow every registry supports); returns the digest. */
export async function pushBlob(
  base: string,
  repo: string,
  bytes: Buffer | string,
  headers: Record<string, string> = {},
): Promise<`sha256:${string}`> {
  const digest = sha256(bytes);
  const started = await call(base, 'POST', `/v2/${repo}/blobs/uploads/`, { headers });
  if (started.status !== 202) throw new Error(`POST upload: ${started.status} ${started.body}`);
  const done = await call(base, 'PUT', withDigest(started.headers.location!, digest, base), {
    body: bytes,
    headers: { ...headers, 'content-type': 'application/octet-stream' },
  });
  if (done.status !== 201) throw new Error(`PUT upload: ${done.status} ${done.body}`);
  return digest;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

export interface ImageFixture {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: `sha256:${string}`;
}

/** An image whose bytes depend on `seed`, so different seeds never share a digest. */
export function imageFixture(seed: string, extra: Record<string, unknown> = {}): ImageFixture {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layers = [Buffer.from(`layer one of ${seed}`), Buffer.from(`layer two of ${seed}`)];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.byteLength },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: sha256(l), size: l.byteLength })),
      ...extra,
    }),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}

/** Push an image's blobs and then its manifest under `reference`. */
export async function pushImage(
  base: string,
  repo: string,
  image: ImageFixture,
  reference: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  for (const blob of [image.config, ...image.layers]) await pushBlob(base, repo, blob, headers);
  return call(base, 'PUT', `/v2/${repo}/manifests/${reference}`, {
    body: image.manifest,
    headers: { ...headers, 'content-type': OCI_MANIFEST },
  });
}

/** An index of the given manifests (by digest and size). */
export function indexFixture(children: ImageFixture[]): { bytes: Buffer; digest: `sha256:${string}` } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({
        mediaType: OCI_MANIFEST,
        digest: c.digest,
        size: c.manifest.byteLength,
        platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
      })),
    }),
  );
  return { bytes, digest: sha256(bytes) };
}

/** An OCI artifact (empty config, one layer) whose subject is `subject`. */
export function artifactFixture(
  seed: string,
  subject: { digest: string; size: number },
  artifactType: string,
): ImageFixture {
  const config = Buffer.from('{}');
  const layers = [Buffer.from(`artifact ${seed}`)];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: 2 },
      layers: [
        { mediaType: 'application/octet-stream', digest: sha256(layers[0]!), size: layers[0]!.byteLength },
      ],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
      annotations: { 'org.example.seed': seed },
    }),
  );
  return { config, layers, manifest, digest: sha256(manifest) };
}
