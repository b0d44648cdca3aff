/**
 * @module registry/client
 * `RegistryClient`: the typed registry API of imgdigest (go-containerregistry's `remote` is the
 * model). One client holds a transport (connection pools, limits, retries), a token cache and one
 * auth session per registry; its options are frozen, and `with()` makes a new client.
 *
 * @example
 * const client = new RegistryClient({ anonymous: true });
 * const { descriptor } = await client.resolve(parseReference('127.0.0.1:5000/app:1.0'));
 * console.log(descriptor.digest);
 * await client.close();
 */

import type { Digest } from '../../core/digest.js';
import type { Descriptor, ParsedManifest } from '../../core/manifest.js';
import { MANIFEST_ACCEPT } from '../../core/media-types.js';
import { DEFAULT_DOMAIN, DOCKER_HUB_HOST, type Reference } from '../../core/reference.js';
import type { BlobReader } from '../source.js';
import { repositoryScope } from './auth.js';
import { type BlobRange, getBlob, getBlobRange } from './blobs.js';
import { isDockerHub } from './credentials/docker-config.js';
import {
  allowListKeychain,
  anonymousKeychain,
  defaultKeychain,
  type Keychain,
  staticKeychain,
} from './credentials/keychain.js';
import {
  catalogPage,
  type ListLimits,
  type ListOptions,
  type ListPage,
  listCatalog,
  listTagDigests,
  listTags,
  type PageOptions,
  type TagsPage,
  tagsPage,
} from './listing.js';
import {
  type CallOptions,
  describeRef,
  type GetManifestOptions,
  getManifest,
  headManifest,
  manifestPath,
  type RegistryResolution,
  resolve,
  throwResponseError,
} from './manifests.js';
import {
  type DeleteManifestOptions,
  type DeleteOutcome,
  deleteManifest,
  type ManifestPut,
  type PushBlobOptions,
  type PushManifestOptions,
  pushBlob,
  pushManifest,
  putManifest,
  type StreamedBlob,
} from './push.js';
import { parseRateLimit, type RateLimit } from './ratelimit.js';
import {
  type DiscoverOptions,
  discoverReferrers,
  listReferrers,
  type ReferrersListing,
  type ReferrersOptions,
} from './referrers.js';
import { schemeFor } from './scheme.js';
import { RegistrySession } from './session.js';
import { RegistrySource, type RegistrySourceOptions } from './source.js';
import { TokenCache } from './token-cache.js';
import { Transport, type TransportOptions } from './transport.js';
import {
  headBlob,
  type UploadBlobOptions,
  type UploadBody,
  type UploadResult,
  uploadBlob,
} from './upload.js';

/** Username and password given directly (the CLI's `--username` + `--password-stdin`). */
export interface StaticCredentials {
  username: string;
  password: string;
  /** How to name these in error messages (default "static credentials"). */
  source?: string;
}

/**
 * Client options: the transport's (HTTP client, TLS, timeouts, retries, concurrency, logger, proxy
 * environment) plus where credentials come from and which registries may use plain http.
 */
export interface RegistryClientOptions extends TransportOptions {
  /** Where credentials come from (default: Docker/podman config files and helpers, read from `env`). */
  keychain?: Keychain;
  /** A docker config file (or `.dockerconfigjson`) consulted before the usual places. */
  authFile?: string;
  /** One username and password for every registry; wins over `keychain`. */
  credentials?: StaticCredentials;
  /** Send no credentials at all. */
  anonymous?: boolean;
  /** Allow plain http to registries that are not on loopback. */
  insecure?: boolean;
  /** `https` forces TLS even for loopback registries (default `auto`). */
  scheme?: 'auto' | 'https';
}

/** @deprecated Use `RegistryResolution` (a `Resolution`); this name stays for existing code. */
export type Resolved = RegistryResolution;

export class RegistryClient {
  /** The options this client was made with (frozen). */
  readonly options: Readonly<RegistryClientOptions>;
  readonly #transport: Transport;
  readonly #tokens = new TokenCache();
  readonly #keychain: Keychain;
  readonly #sessions = new Map<string, RegistrySession>();

  constructor(options: RegistryClientOptions = {}) {
    this.options = Object.freeze({ ...options });
    this.#transport = new Transport({
      ...pick(options, [
        'dispatcher',
        'httpClient',
        'skipTlsVerify',
        'caFile',
        'userAgent',
        'concurrency',
        'timeoutMs',
        'retry',
        'logger',
        'env',
        'allowedHosts',
      ]),
    });
    const keychain = options.anonymous
      ? anonymousKeychain
      : options.credentials
        ? staticKeychain(
            { username: options.credentials.username, password: options.credentials.password },
            options.credentials.source ?? 'static credentials',
          )
        : (options.keychain ??
          defaultKeychain({
            ...(options.env ? { env: options.env } : {}),
            ...(options.authFile ? { authFiles: [options.authFile] } : {}),
          }));
    // Credentials are looked up only for listed registries (the transport refuses the rest anyway).
    this.#keychain = options.allowedHosts ? allowListKeychain(keychain, options.allowedHosts) : keychain;
  }

  /** A new client with some options changed (nothing is shared: pools, tokens, sessions are new). */
  with(changes: Partial<RegistryClientOptions>): RegistryClient {
    return new RegistryClient({ ...this.options, ...changes });
  }

  /** The auth session of a registry host (`registry-1.docker.io`, `127.0.0.1:5000`). */
  #session(host: string): RegistrySession {
    let session = this.#sessions.get(host);
    if (!session) {
      session = new RegistrySession({
        host,
        // Docker Hub credentials are looked up under Hub's names, not the API host.
        name: isDockerHub(host) ? DEFAULT_DOMAIN : host,
        scheme: schemeFor(host, this.options),
        transport: this.#transport,
        keychain: this.#keychain,
        tokens: this.#tokens,
        insecure: this.options.insecure === true,
      });
      this.#sessions.set(host, session);
    }
    return session;
  }

  #for(ref: Reference): RegistrySession {
    return this.#session(ref.registryHost);
  }

  /** The descriptor from one HEAD; null when the registry says the manifest does not exist. */
  headManifest(ref: Reference, options: CallOptions = {}): Promise<Descriptor | null> {
    return headManifest(this.#for(ref), ref, options);
  }

  /** The manifest or index with its exact bytes (at most 4 MiB), verified when `ref` has a digest. */
  getManifest(ref: Reference, options: GetManifestOptions = {}): Promise<ParsedManifest> {
    return getManifest(this.#for(ref), ref, options);
  }

  /** The digest behind a reference: one HEAD when possible, else a GET whose bytes are hashed. */
  resolve(ref: Reference, options: CallOptions = {}): Promise<RegistryResolution> {
    return resolve(this.#for(ref), ref, options);
  }

  /** A blob, streamed and verified while it flows (redirects followed without credentials). */
  getBlob(
    repo: Reference,
    descriptor: { digest: Digest; size?: number | null },
    options: CallOptions = {},
  ): Promise<BlobReader> {
    return getBlob(this.#for(repo), repo, descriptor, options);
  }

  /**
   * Bytes of a blob by HTTP Range (`start..end` inclusive; a negative `start` is a suffix), or null
   * when the registry ignores ranges. Not verified: the caller checks what it reads (a table of
   * contents against its digest, a file against the digest the table gives).
   */
  getBlobRange(
    repo: Reference,
    digest: Digest,
    range: { start: number; end?: number },
    options: CallOptions = {},
  ): Promise<BlobRange | null> {
    return getBlobRange(this.#for(repo), repo, digest, range, options);
  }

  /** Tags in the registry's order; every page unless `all: false`. */
  tags(repo: Reference, options: ListOptions = {}): Promise<string[]> {
    return listTags(this.#for(repo), repo, options);
  }

  /** Tag -> digest from the tags list itself (Google registries), or null when the registry has no such map. */
  tagDigests(repo: Reference, options: CallOptions & ListLimits = {}): Promise<Map<string, Digest> | null> {
    return listTagDigests(this.#for(repo), repo, options);
  }

  /** One page of tags and the pointer to the next. */
  tagsPage(repo: Reference, options: PageOptions = {}): Promise<TagsPage> {
    return tagsPage(this.#for(repo), repo, options);
  }

  /** Repositories of a registry host (`GET /v2/_catalog`); every page unless `all: false`. */
  catalog(registryHost: string, options: ListOptions = {}): Promise<string[]> {
    return listCatalog(this.#session(hostOf(registryHost)), options);
  }

  /** One page of the catalog. */
  catalogPage(registryHost: string, options: PageOptions = {}): Promise<ListPage> {
    return catalogPage(this.#session(hostOf(registryHost)), options);
  }

  /** Manifests whose `subject` is `digest` (referrers API, else the `sha256-<hex>` tag). */
  referrers(repo: Reference, digest: Digest, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    return listReferrers(this.#for(repo), repo, digest, options);
  }

  /**
   * Referrers of `digest` with where each was found: the referrers API (or the referrers tag on a
   * registry without it), then cosign's legacy `.sig`, `.att` and `.sbom` tags.
   */
  discoverReferrers(
    repo: Reference,
    digest: Digest,
    options: DiscoverOptions = {},
  ): Promise<ReferrersListing> {
    return discoverReferrers(this.#for(repo), repo, digest, options);
  }

  /**
   * Check this client's credentials for a registry host as `docker login` does, before anything
   * is saved: the ping, then the auth the registry asks for with no repository in the scope
   * (Basic: `GET /v2/` with the credentials; Bearer: a token with no scope, then `GET /v2/` with
   * it). Answers the scheme, `none` when the registry asks for no credentials at all.
   * @throws `AUTH_FAILED` when the registry or its token server refuses the credentials.
   */
  async verifyLogin(registryHost: string, options: CallOptions = {}): Promise<{ auth: string }> {
    const session = this.#session(hostOf(registryHost));
    const scheme = await session.authScheme(options.signal);
    const response = await session.request({
      method: 'GET',
      url: '/v2/',
      scopes: [],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status !== 200) await throwResponseError(response, session.name, 'ping');
    await response.dump();
    return { auth: scheme ?? 'none' };
  }

  /**
   * Docker Hub's pull limit as one HEAD reports it (HEADs are not counted as pulls), or null when
   * the registry announces no limit. A 429 is not retried here: its headers are the answer.
   */
  async rateLimit(ref: Reference, options: CallOptions = {}): Promise<RateLimit | null> {
    const session = this.#for(ref);
    const response = await session.request({
      method: 'HEAD',
      url: manifestPath(ref),
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      scopes: [repositoryScope(ref.path)],
      retryStatuses: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const limit = parseRateLimit(response.headers);
    if (!limit && response.status >= 300 && response.status !== 404) {
      await throwResponseError(response, describeRef(ref), 'manifest');
    }
    return limit;
  }

  /**
   * Upload a blob (monolithic POST + PUT), skipped when the registry already has it: bytes in
   * memory, or a {@link StreamedBlob} (digest, size, and a function opening the bytes) for a blob
   * too large to hold.
   */
  pushBlob(
    repo: Reference,
    content: Uint8Array | StreamedBlob,
    options: PushBlobOptions = {},
  ): Promise<Descriptor> {
    return pushBlob(this.#for(repo), repo, content, options);
  }

  /** PUT a manifest with its media type as Content-Type; returns its descriptor. */
  pushManifest(ref: Reference, raw: Uint8Array, options: PushManifestOptions = {}): Promise<Descriptor> {
    return pushManifest(this.#for(ref), ref, raw, options);
  }

  /** {@link pushManifest}, with the registry's `OCI-Subject` answer (see `ManifestPut`). */
  putManifest(ref: Reference, raw: Uint8Array, options: PushManifestOptions = {}): Promise<ManifestPut> {
    return putManifest(this.#for(ref), ref, raw, options);
  }

  /** The size of a blob the repository has (one HEAD), or null when it has not. */
  headBlob(repo: Reference, digest: Digest, options: CallOptions = {}): Promise<number | null> {
    return headBlob(this.#for(repo), repo, digest, options);
  }

  /**
   * Upload a blob for a copy: skipped when the repository has it, mounted from `mountFrom` (a
   * repository of the same registry) when the registry allows, else streamed from `body.open()`;
   * above `chunkSize` in PATCH chunks whose progress `state` keeps, so an interrupted upload
   * resumes (see `registry/upload.ts`).
   */
  uploadBlob(repo: Reference, body: UploadBody, options: UploadBlobOptions = {}): Promise<UploadResult> {
    return uploadBlob(this.#for(repo), repo, body, options);
  }

  /** Requests this client keeps in flight per registry host at most (its transport's limit). */
  get concurrency(): number {
    return this.options.concurrency ?? 8;
  }

  /**
   * DELETE a manifest (registries delete by digest; some also untag by tag). Given the deleted
   * manifest's `subject`, a registry without the referrers API also gets its referrers tag updated.
   */
  deleteManifest(ref: Reference, options: DeleteManifestOptions = {}): Promise<DeleteOutcome> {
    return deleteManifest(this.#for(ref), ref, options);
  }

  /** The repository of `ref` as an `ImageSource` (`identifier` defaults to the ref's tag or digest). */
  openSource(ref: Reference, options: RegistrySourceOptions = {}): RegistrySource {
    return new RegistrySource(this, ref, options);
  }

  /** Close connections. The client must not be used afterwards. */
  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/** Docker Hub's names all reach its API host. */
function hostOf(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_HOST : registry;
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
