/**
 * @module manifest
 * OCI and Docker manifests, indexes and descriptors: parsed from raw bytes, validated field by
 * field, and always carried beside those raw bytes.
 *
 * A digest is only ever computed from the raw bytes a source served, never from re-serialised
 * JSON. Unknown fields are kept (registries add their own); unknown artifact media types are
 * carried, not rejected; Docker schema 1 is recognised and refused with a clear message.
 * @see https://github.com/opencontainers/image-spec/blob/main/manifest.md
 */
import { type Digest, digestOf, parseDigest } from './digest.js';
import { ImgdigestError } from './errors.js';
import { isRecord } from './json.js';
import {
  isImageManifestMediaType,
  isIndexMediaType,
  isSchema1MediaType,
  MEDIA_TYPE_PATTERN,
  MediaType,
} from './media-types.js';

/** The media types and annotation keys, so `imgdigest/manifest` carries the whole vocabulary. */
export * from './media-types.js';

/** Manifests larger than this are refused before they are parsed (the spec's SHOULD-accept floor). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The platform object of an index entry, as the JSON spells it. */
export interface DescriptorPlatform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** A content descriptor: what a manifest points to. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  artifactType?: string;
  platform?: DescriptorPlatform;
  [extra: string]: unknown;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

interface ParsedBase {
  /** The exact bytes served. */
  readonly raw: Uint8Array;
  /** The digest of `raw` (with the algorithm of the digest it was fetched by, sha256 otherwise). */
  readonly digest: Digest;
  /** The effective media type: the document's own, else the served Content-Type, else inferred. */
  readonly mediaType: string;
  readonly size: number;
}

export interface ParsedIndex extends ParsedBase {
  readonly kind: 'index';
  readonly value: ImageIndex;
}

export interface ParsedImageManifest extends ParsedBase {
  readonly kind: 'manifest';
  readonly value: ImageManifest;
}

export type ParsedManifest = ParsedIndex | ParsedImageManifest;

export interface ParseManifestOptions {
  /** The Content-Type the source served, used when the document has no `mediaType`. */
  contentType?: string;
  /** When the bytes were fetched by digest: verified, and its algorithm is used. */
  expectedDigest?: string;
  /** Where the bytes came from, for error messages (a URL, a path). */
  source?: string;
}

/**
 * Parse raw manifest bytes into an index or an image manifest.
 *
 * @throws `MANIFEST_TOO_LARGE`, `MANIFEST_INVALID` (naming the field), `MANIFEST_UNSUPPORTED`
 * (schema 1), `DIGEST_MISMATCH` (with `expectedDigest`).
 * @example
 * const m = parseManifest(bytes, { contentType: res.headers['content-type'] });
 * if (m.kind === 'index') for (const d of m.value.manifests) console.log(d.digest);
 */
export function parseManifest(raw: Uint8Array, options: ParseManifestOptions = {}): ParsedManifest {
  const where = options.source ? ` from ${options.source}` : '';
  if (raw.byteLength > MAX_MANIFEST_BYTES) {
    throw new ImgdigestError(
      'MANIFEST_TOO_LARGE',
      `manifest${where} is ${raw.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`,
      { details: { size: raw.byteLength, limit: MAX_MANIFEST_BYTES } },
    );
  }
  const algorithm = options.expectedDigest ? parseDigest(options.expectedDigest).algorithm : 'sha256';
  const digest = digestOf(raw, algorithm);
  if (options.expectedDigest && options.expectedDigest !== digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `manifest${where} digest mismatch: expected ${options.expectedDigest}, got ${digest}`,
      { details: { expected: options.expectedDigest, actual: digest } },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (e) {
    throw invalidManifest(`manifest${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(json)) throw invalidManifest(`manifest${where} must be a JSON object`);
  if (json.mediaType !== undefined && typeof json.mediaType !== 'string') {
    throw invalidManifest(`manifest${where}: "mediaType" must be a string`);
  }
  const contentType = options.contentType ? stripParameters(options.contentType) : undefined;
  const declared = json.mediaType as string | undefined;
  if (json.schemaVersion === 1 || isSchema1MediaType(declared) || isSchema1MediaType(contentType)) {
    throw new ImgdigestError(
      'MANIFEST_UNSUPPORTED',
      `manifest${where} is Docker schema 1, which is deprecated and not supported; push the image again with a current client to get an OCI or schema 2 manifest`,
      { details: { mediaType: declared ?? contentType ?? null } },
    );
  }
  if (json.schemaVersion !== 2) {
    throw invalidManifest(
      `manifest${where}: schemaVersion must be 2, got ${JSON.stringify(json.schemaVersion)}`,
    );
  }
  // A served Content-Type only counts when it names a manifest type (registries also say
  // application/json or application/octet-stream); otherwise the kind is inferred from the shape.
  const served =
    contentType && (isIndexMediaType(contentType) || isImageManifestMediaType(contentType))
      ? contentType
      : undefined;
  const mediaType = declared ?? served;
  const kind = kindOf(json, mediaType);
  const base = { raw, digest, size: raw.byteLength };
  if (kind === 'index') {
    const value = validateIndex(json, where);
    return { ...base, kind, value, mediaType: mediaType ?? MediaType.OCI_INDEX };
  }
  const value = validateImageManifest(json, where);
  return { ...base, kind, value, mediaType: mediaType ?? MediaType.OCI_MANIFEST };
}

function kindOf(json: Record<string, unknown>, mediaType: string | undefined): 'index' | 'manifest' {
  if (isIndexMediaType(mediaType)) return 'index';
  if (isImageManifestMediaType(mediaType)) return 'manifest';
  // Unknown or absent media type: infer from the shape, as the image-spec allows.
  if (Array.isArray(json.manifests)) return 'index';
  if (isRecord(json.config)) return 'manifest';
  throw invalidManifest(
    `unrecognised manifest${mediaType ? ` media type "${mediaType}"` : ''}: it has neither "manifests" nor "config"`,
  );
}

function validateIndex(json: Record<string, unknown>, where: string): ImageIndex {
  if (!Array.isArray(json.manifests)) throw invalidManifest(`index${where}: "manifests" must be an array`);
  json.manifests.forEach((d, i) => {
    validateDescriptor(d, `manifests[${i}]`, where);
  });
  validateOptional(json, where);
  return json as unknown as ImageIndex;
}

function validateImageManifest(json: Record<string, unknown>, where: string): ImageManifest {
  validateDescriptor(json.config, 'config', where);
  if (json.layers === undefined) {
    // Some artifacts omit layers; treat as empty but keep the raw bytes untouched.
  } else if (!Array.isArray(json.layers)) {
    throw invalidManifest(`manifest${where}: "layers" must be an array`);
  } else {
    json.layers.forEach((d, i) => {
      validateDescriptor(d, `layers[${i}]`, where);
    });
  }
  validateOptional(json, where);
  // The digest comes from the raw bytes, so defaulting the parsed value is safe.
  if (json.layers === undefined) json.layers = [];
  return json as unknown as ImageManifest;
}

function validateOptional(json: Record<string, unknown>, where: string): void {
  if (json.subject !== undefined) validateDescriptor(json.subject, 'subject', where);
  if (json.annotations !== undefined) validateAnnotations(json.annotations, 'annotations', where);
  if (json.artifactType !== undefined && !isMediaType(json.artifactType)) {
    throw invalidManifest(`manifest${where}: "artifactType" must be a media type`);
  }
}

/**
 * Validate one descriptor. The error names the field path (`manifests[2].digest`) and the problem.
 */
export function validateDescriptor(value: unknown, path: string, where = ''): asserts value is Descriptor {
  if (!isRecord(value)) throw invalidManifest(`manifest${where}: ${path} must be an object`);
  if (!isMediaType(value.mediaType)) {
    throw invalidManifest(
      `manifest${where}: ${path}.mediaType must be a media type, got ${show(value.mediaType)}`,
    );
  }
  if (typeof value.digest !== 'string') {
    throw invalidManifest(`manifest${where}: ${path}.digest must be a string`);
  }
  try {
    parseDigest(value.digest, { mode: 'grammar' });
  } catch (e) {
    throw invalidManifest(`manifest${where}: ${path}.digest: ${(e as Error).message}`);
  }
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw invalidManifest(
      `manifest${where}: ${path}.size must be a non-negative integer, got ${show(value.size)}`,
    );
  }
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string')) {
      throw invalidManifest(`manifest${where}: ${path}.urls must be an array of strings`);
    }
  }
  if (value.annotations !== undefined) validateAnnotations(value.annotations, `${path}.annotations`, where);
  if (value.artifactType !== undefined && !isMediaType(value.artifactType)) {
    throw invalidManifest(`manifest${where}: ${path}.artifactType must be a media type`);
  }
  if (value.data !== undefined) {
    if (typeof value.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.data)) {
      throw invalidManifest(`manifest${where}: ${path}.data must be base64`);
    }
  }
  if (value.platform !== undefined) {
    const p = value.platform;
    if (!isRecord(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw invalidManifest(`manifest${where}: ${path}.platform must have string "os" and "architecture"`);
    }
    for (const key of ['os.version', 'variant'] as const) {
      if (p[key] !== undefined && typeof p[key] !== 'string') {
        throw invalidManifest(`manifest${where}: ${path}.platform.${key} must be a string`);
      }
    }
    for (const key of ['os.features', 'features'] as const) {
      if (
        p[key] !== undefined &&
        !(Array.isArray(p[key]) && (p[key] as unknown[]).every((f) => typeof f === 'string'))
      ) {
        throw invalidManifest(`manifest${where}: ${path}.platform.${key} must be an array of strings`);
      }
    }
  }
}

function validateAnnotations(value: unknown, path: string, where: string): void {
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalidManifest(`manifest${where}: ${path} must map strings to strings`);
  }
}

/**
 * Check that an embedded `data` field matches its descriptor (image-spec: MUST match digest and
 * size) and return its bytes.
 */
export function descriptorData(descriptor: Descriptor): Uint8Array | null {
  if (descriptor.data === undefined) return null;
  const bytes = Buffer.from(descriptor.data, 'base64');
  if (bytes.byteLength !== descriptor.size) {
    throw new ImgdigestError(
      'SIZE_MISMATCH',
      `descriptor ${descriptor.digest}: embedded data is ${bytes.byteLength} bytes, descriptor says ${descriptor.size}`,
    );
  }
  const algorithm = parseDigest(descriptor.digest, { mode: 'grammar' }).algorithm;
  const actual = digestOf(bytes, algorithm);
  if (actual !== descriptor.digest) {
    throw new ImgdigestError(
      'DIGEST_MISMATCH',
      `descriptor embedded data digest mismatch: expected ${descriptor.digest}, got ${actual}`,
      { details: { expected: descriptor.digest, actual } },
    );
  }
  return bytes;
}

/** True for index entries that are not runnable images: buildx attestations (`unknown/unknown`). */
export function isAttestation(descriptor: Descriptor): boolean {
  const p = descriptor.platform;
  if (p && p.os === 'unknown' && p.architecture === 'unknown') return true;
  return descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

/** The artifactType of a manifest for the referrers API: its own, else its config media type. */
export function artifactTypeOf(manifest: ParsedManifest): string | undefined {
  if (manifest.value.artifactType) return manifest.value.artifactType;
  return manifest.kind === 'manifest' ? manifest.value.config.mediaType : undefined;
}

/** Descriptor of a parsed manifest (to put in an index or return from a resolve). */
export function descriptorOf(manifest: ParsedManifest): Descriptor {
  const d: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  const artifactType = manifest.value.artifactType;
  if (artifactType) d.artifactType = artifactType;
  return d;
}

/** Every blob and child manifest a manifest references (config, layers, or index entries). */
export function referencedDescriptors(manifest: ParsedManifest): Descriptor[] {
  return manifest.kind === 'index'
    ? [...manifest.value.manifests]
    : [manifest.value.config, ...(manifest.value.layers ?? [])];
}

/** The image config (the subset imgdigest reads), all fields optional as registries vary. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, unknown>;
    Labels?: Record<string, string> | null;
    Volumes?: Record<string, unknown>;
    StopSignal?: string;
  };
  rootfs?: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
  [extra: string]: unknown;
}

/** Parse an image config blob (already verified by the caller). */
export function parseImageConfig(raw: Uint8Array, source = 'config'): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (e) {
    throw invalidManifest(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(json)) throw invalidManifest(`${source} must be a JSON object`);
  return json as ImageConfig;
}

function invalidManifest(message: string): ImgdigestError {
  return new ImgdigestError('MANIFEST_INVALID', message);
}

function isMediaType(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE_PATTERN.test(value);
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? 'nothing' : s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** `application/json; charset=utf-8` -> `application/json`. */
export function stripParameters(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
}
