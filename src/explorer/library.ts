/**
 * @module explorer/library
 * Everything the explorer uses from the library, in one place: the explorer reads through the same
 * sources, registry client, resolver and Kubernetes code as the CLI (no second client), and only
 * through the package-level index modules, so a move inside those packages is an edit here only.
 */
export { type Digest, digestOf, isDigest, parseDigest } from '../core/digest.js';
export { listenError } from '../core/errno.js';
export { ERROR_CODES, type ErrorCode, exitCodeOf, ImgdigestError, isImgdigestError } from '../core/errors.js';
export {
  type Descriptor,
  descriptorData,
  type ImageConfig,
  isAttestation,
  type ParsedImageManifest,
  type ParsedManifest,
  parseImageConfig,
} from '../core/manifest.js';
export { isIndexMediaType, layerCompression, MediaType } from '../core/media-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformOfDescriptor } from '../core/platform.js';
export { isReference, parseReference, type Reference } from '../core/reference.js';
export {
  checkFiles,
  defaultRules,
  type Finding,
  formatFinding,
  type InputFile,
  loadRules,
  pinFiles,
  type Rules,
  unifiedDiff,
} from '../k8s/index.js';
export { openResolver } from '../resolver/index.js';
export {
  childManifest,
  type ImageSource,
  imageConfig,
  imageManifest,
  indexEntries,
  type LayerEntry,
  modeString,
  openSource,
  parseSourceSpec,
  peek,
  readBlob,
  readLayerFile,
  resolveDigest,
  type SourceSpec,
  sniffCompression,
  walkLayer,
} from '../sources/index.js';
export { zstdDecompressBuffer } from '../sources/layers/zstd.js';
export {
  compileAllowList,
  configuredRegistries,
  isLoopbackHost,
  RegistryClient,
  type RegistryClientOptions,
  RegistrySource,
} from '../sources/registry/index.js';
