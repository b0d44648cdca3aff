/**
 * @module sources/builder
 * Build container images in memory, without Docker, and push them to a registry or write them as
 * an OCI image layout. The one import for the quick start and the tests; the work is split by
 * responsibility:
 * - `builder-objects`: layers, configs, manifests, indexes, attestations (deterministic bytes);
 * - `builder-set`: an {@link ImageSet} of built objects, {@link pushImageSet}, {@link writeOciLayout};
 * - `builder-samples`: {@link buildSampleImages}, the quick start's multi-platform sample;
 * - `zstd-raw`: a zstd encoder that stores Raw blocks (Node 20 has no zstd compressor).
 */

export { encodeZstdRaw, ZSTD_MAX_BLOCK } from '../sources/layers/zstd.js';
export * from './image-set.js';
export * from './objects.js';
export * from './samples.js';
