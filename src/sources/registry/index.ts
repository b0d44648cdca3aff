/**
 * @module registry
 * The registry client of imgdigest: `RegistryClient` and the parts it is made of (keychains,
 * auth helpers, retry timing, rate-limit parsing), for callers that need them one by one.
 */

export { isLoopbackHost } from '../../core/net.js';
export type { DigestKind, Resolution, ResolutionVia } from '../../core/resolution.js';
export { compileAllowList, type HostAllowList } from './allowed-hosts.js';
export {
  CATALOG_SCOPE,
  type Challenge,
  parseChallenges,
  parseScope,
  pickChallenge,
  repositoryScope,
  type Scope,
  tokenRequestUrl,
} from './auth.js';
export type { BlobRange } from './blobs.js';
export {
  RegistryClient,
  type RegistryClientOptions,
  type Resolved,
  type StaticCredentials,
} from './client.js';
export {
  authConfigKey,
  authFilePaths,
  configuredRegistries,
  convertToHostname,
  DOCKER_HUB_AUTH_KEY,
  decodeAuth,
  encodeAuth,
} from './credentials/docker-config.js';
export {
  eraseWithCredentialHelper,
  runCredentialHelper,
  storeWithCredentialHelper,
} from './credentials/helpers.js';
export {
  allowListKeychain,
  anonymousKeychain,
  type Credential,
  type DefaultKeychainOptions,
  defaultKeychain,
  type Keychain,
  multiKeychain,
  staticKeychain,
} from './credentials/keychain.js';
export {
  dockerConfigFile,
  type LoginFileOptions,
  loginRegistry,
  type RemovedLogin,
  removeLogin,
  type SavedLogin,
  saveLogin,
} from './credentials/login.js';
export { parseErrorBody, type RegistryErrorEntry, redactUrl } from './errors.js';
export type { ListOptions, ListPage, PageOptions, TagsPage } from './listing.js';
export type {
  CallOptions,
  GetManifestOptions,
  RegistryResolution,
  ResolvedDescriptor,
} from './manifests.js';
export type {
  DeleteManifestOptions,
  DeleteOutcome,
  ManifestPut,
  PushBlobOptions,
  PushManifestOptions,
  StreamedBlob,
} from './push.js';
export { parseRateLimit, type RateLimit } from './ratelimit.js';
export {
  COSIGN_TAGS,
  cosignTag,
  type DiscoverOptions,
  type Referrer,
  type ReferrerSource,
  type ReferrersListing,
  type ReferrersOptions,
  referrersTag,
} from './referrers.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export { schemeFor } from './scheme.js';
export { RegistrySource, type RegistrySourceOptions, type RepositoryReader } from './source.js';
export type { HttpClientKind, RequestLogEntry, RequestLogger, TransportOptions } from './transport.js';
export {
  directoryStateStore,
  type UploadAction,
  type UploadBlobOptions,
  type UploadBody,
  type UploadResult,
  type UploadState,
  type UploadStateStore,
} from './upload.js';
