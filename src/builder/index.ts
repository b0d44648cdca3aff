/**
 * @module builder
 * Build container images in memory, without Docker, then push them to a registry (through the
 * registry client) or write them as an OCI image layout. The one import for the quick start, the
 * demo registry and the tests; the work is split by responsibility:
 * - `objects`: layers, configs, manifests, indexes, attestations (deterministic bytes);
 * - `image-set`: an {@link ImageSet} of built objects, in push order, with tags;
 * - `samples`: {@link buildSampleImages}, the quick start's multi-platform sample;
 * - `push`: {@link pushImageSet}, with a `RegistryClient`;
 * - `layout`: {@link writeOciLayout};
 * - zstd layers use the Raw-block encoder of `sources/layers/zstd` (Node 20 has no zstd compressor).
 */

export { encodeZstdRaw, ZSTD_MAX_BLOCK } from '../sources/layers/zstd.js';
export * from './image-set.js';
export * from './layout.js';
export * from './objects.js';
export * from './push.js';
export * from './samples.js';
