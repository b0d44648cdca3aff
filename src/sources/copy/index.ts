/**
 * @module sources/copy
 * Copying images between any source and a registry, an OCI layout or (one copy) a docker archive,
 * digests kept: the engine behind `imgdigest copy`, `relocate` and `mirror`.
 */

export { OciLayoutWriter } from '../local/oci-layout-writer.js';
export { archiveDestination, archiveRepoTag, checkArchivePath } from './archive-destination.js';
export {
  Copier,
  type CopierOptions,
  type CopyEvent,
  type CopyItem,
  type CopyOptions,
  type CopyResult,
  type ItemAction,
  sourceTag,
} from './copier.js';
export {
  type CopyDestinationSpec,
  type DestinationSpec,
  type ImageDestination,
  layoutDestination,
  parseCopyDestination,
  parseDestination,
  type RegistryDestinationOptions,
  registryDestination,
} from './destination.js';
export {
  MIRROR_API_VERSION,
  MIRROR_KIND,
  type MirrorConfig,
  type MirrorEntry,
  type MirrorFileInfo,
  type MirrorOutcome,
  type MirrorPath,
  type MirrorRunOptions,
  parseMirrorConfig,
  runMirror,
  tagSelected,
} from './mirror.js';
export { type CopyPlan, type PlannedManifest, type PlanOptions, planCopy } from './plan.js';
