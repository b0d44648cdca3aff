/**
 * @module sources
 * Where images come from, behind one interface: open a registry reference, an OCI layout, a
 * `docker save` archive or an engine's image, then ask any of them the same questions.
 */

export * from './copy/index.js';
export * from './describe.js';
export * from './image.js';
export { peek, sniffCompression } from './layers/compression.js';
export * from './layers/layer-files.js';
export * from './open.js';
export * from './reverse.js';
export type * from './source.js';
