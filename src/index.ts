/**
 * @module imgdigest
 * The package root: the names most programs need (references, digests, platforms, manifests and
 * errors). Every module's full set, constants and patterns included, is on its sub-path
 * (`imgdigest/reference`, `imgdigest/digest`, `imgdigest/platform`, `imgdigest/manifest`,
 * `imgdigest/errors`), and sources, the resolver, Kubernetes helpers and the servers have their
 * own (`imgdigest/registry`, `imgdigest/sources`, `imgdigest/resolver`, `imgdigest/k8s`, ...).
 * @example
 * import { parseReference } from 'imgdigest';
 * parseReference('nginx:1.27').canonical; // 'docker.io/library/nginx:1.27'
 */
export {
  type Digest,
  digestOf,
  digestOfStream,
  isDigest,
  type ParsedDigest,
  parseDigest,
  verifyingStream,
} from './core/digest.js';
export {
  ERROR_CODES,
  type ErrorCode,
  EXIT,
  exitCodeOf,
  ImgdigestError,
  isImgdigestError,
} from './core/errors.js';
export {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type ParsedImageManifest,
  type ParsedIndex,
  type ParsedManifest,
  parseImageConfig,
  parseManifest,
} from './core/manifest.js';
export { isImageManifestMediaType, isIndexMediaType, MediaType } from './core/media-types.js';
export {
  formatPlatform,
  hostPlatform,
  type Platform,
  parsePlatform,
} from './core/platform.js';
export { createMatcher, type PlatformMatcher, selectManifest } from './core/platform-match.js';
export { type ParseReferenceOptions, parseReference, Reference } from './core/reference.js';
export type { DigestKind, Resolution } from './core/resolution.js';
