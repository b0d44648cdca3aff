import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/errors.js';
import { sha256 } from '../../test/support/sha256.js';
import { loadVectors } from '../../test/support/vectors.js';
import {
  artifactTypeOf,
  type Descriptor,
  descriptorData,
  descriptorOf,
  isAttestation,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseManifest,
  referencedDescriptors,
} from './manifest.js';
import { MediaType } from './media-types.js';

const v = loadVectors();

const bytes = (value: unknown, space?: number) =>
  new TextEncoder().encode(JSON.stringify(value, null, space));
const d = (n: number, mediaType: string = MediaType.OCI_MANIFEST, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: `sha256:${n.toString(16).padStart(64, '0')}`,
  size: 1000 + n,
  ...extra,
});

const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.OCI_INDEX,
  manifests: [
    d(1, MediaType.OCI_MANIFEST, { platform: { os: 'linux', architecture: 'amd64' } }),
    d(2, MediaType.OCI_MANIFEST, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
  ],
};
const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: d(10, MediaType.OCI_CONFIG),
  layers: [d(11, MediaType.OCI_LAYER_GZIP), d(12, MediaType.OCI_LAYER_ZSTD)],
};

describe('parseManifest: kinds and media types', () => {
  it('parses an OCI index', () => {
    const raw = bytes(ociIndex);
    const m = parseManifest(raw);
    expect(m.kind).toBe('index');
    expect(m.mediaType).toBe(MediaType.OCI_INDEX);
    expect(m.size).toBe(raw.byteLength);
    expect(m.raw).toBe(raw);
    if (m.kind !== 'index') throw new Error('unreachable');
    expect(m.value.manifests.map((x) => x.digest)).toEqual([
      ociIndex.manifests[0]!.digest,
      ociIndex.manifests[1]!.digest,
    ]);
    expect(referencedDescriptors(m)).toHaveLength(2);
  });

  it('parses an OCI image manifest', () => {
    const m = parseManifest(bytes(ociManifest));
    expect(m.kind).toBe('manifest');
    expect(m.mediaType).toBe(MediaType.OCI_MANIFEST);
    if (m.kind !== 'manifest') throw new Error('unreachable');
    expect(m.value.config.mediaType).toBe(MediaType.OCI_CONFIG);
    expect(referencedDescriptors(m).map((x) => x.digest)).toEqual([
      ociManifest.config.digest,
      ...ociManifest.layers.map((l) => l.digest),
    ]);
  });

  it('parses a Docker manifest list and a Docker schema 2 manifest', () => {
    const list = parseManifest(bytes({ ...ociIndex, mediaType: MediaType.DOCKER_LIST }));
    expect([list.kind, list.mediaType]).toEqual(['index', MediaType.DOCKER_LIST]);
    const image = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.DOCKER_MANIFEST,
        config: d(20, MediaType.DOCKER_CONFIG),
        layers: [d(21, MediaType.DOCKER_LAYER_GZIP)],
      }),
    );
    expect([image.kind, image.mediaType]).toEqual(['manifest', MediaType.DOCKER_MANIFEST]);
  });

  it('infers the kind from the shape when the document has no mediaType', () => {
    const { mediaType: _i, ...index } = ociIndex;
    const { mediaType: _m, ...manifest } = ociManifest;
    expect(parseManifest(bytes(index))).toMatchObject({ kind: 'index', mediaType: MediaType.OCI_INDEX });
    expect(parseManifest(bytes(manifest))).toMatchObject({
      kind: 'manifest',
      mediaType: MediaType.OCI_MANIFEST,
    });
    // a served Content-Type (with parameters) names the media type; application/json says nothing
    expect(
      parseManifest(bytes(index), { contentType: `${MediaType.DOCKER_LIST}; charset=utf-8` }),
    ).toMatchObject({
      kind: 'index',
      mediaType: MediaType.DOCKER_LIST,
    });
    expect(parseManifest(bytes(manifest), { contentType: 'application/json' }).mediaType).toBe(
      MediaType.OCI_MANIFEST,
    );
  });

  it('carries unknown artifact media types and unknown fields instead of rejecting them', () => {
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      artifactType: 'application/vnd.example.sbom.v1+json',
      config: d(30, MediaType.OCI_EMPTY),
      layers: [d(31, 'application/vnd.example.sbom.layer.v1+json')],
      'x-registry-extra': { kept: true },
    };
    const m = parseManifest(bytes(artifact));
    expect(m.value['x-registry-extra']).toEqual({ kept: true });
    expect(artifactTypeOf(m)).toBe('application/vnd.example.sbom.v1+json');
    expect(descriptorOf(m)).toEqual({
      mediaType: MediaType.OCI_MANIFEST,
      digest: m.digest,
      size: m.size,
      artifactType: 'application/vnd.example.sbom.v1+json',
    });

    const { artifactType: _a, ...plain } = artifact;
    const helm = parseManifest(
      bytes({ ...plain, config: d(32, 'application/vnd.cncf.helm.config.v1+json') }),
    );
    expect(artifactTypeOf(helm)).toBe('application/vnd.cncf.helm.config.v1+json');

    const custom = parseManifest(
      bytes({ ...plain, mediaType: 'application/vnd.example.custom.manifest+json' }),
    );
    expect([custom.kind, custom.mediaType]).toEqual([
      'manifest',
      'application/vnd.example.custom.manifest+json',
    ]);
  });

  // Known bug (see the platform/manifest report): manifest.ts gives a manifest without "layers" a
  // non-enumerable, read-only `layers`, so a spread or structuredClone of the value loses it although
  // the type says it is always there. Flip to `it` once manifest.ts assigns a plain property.
  it('keeps the defaulted layers when the value is copied', () => {
    const { layers: _l, ...noLayers } = ociManifest;
    const m = parseManifest(bytes(noLayers));
    if (m.kind !== 'manifest') throw new Error('unreachable');
    expect({ ...m.value }.layers).toEqual([]);
  });

  it('accepts an artifact manifest without layers as having none', () => {
    const { layers: _l, ...noLayers } = ociManifest;
    const m = parseManifest(bytes(noLayers));
    if (m.kind !== 'manifest') throw new Error('unreachable');
    expect(m.value.layers).toEqual([]);
    expect(referencedDescriptors(m)).toHaveLength(1);
  });

  it('refuses a document with an unknown media type that is neither an index nor a manifest', () => {
    const err = errorOf(() =>
      parseManifest(bytes({ schemaVersion: 2, mediaType: 'application/vnd.example.x+json' })),
    );
    expect(err?.code).toBe('MANIFEST_INVALID');
    expect(err?.message).toContain('application/vnd.example.x+json');
  });
});

describe('parseManifest: Docker schema 1 is refused', () => {
  it('by schemaVersion 1', () => {
    const err = errorOf(() =>
      parseManifest(bytes({ schemaVersion: 1, name: 'library/x', tag: 'latest', fsLayers: [] })),
    );
    expect(err?.code).toBe('MANIFEST_UNSUPPORTED');
    expect(err?.message).toMatch(/schema 1/);
  });

  it('by declared media type or served content type', () => {
    const body = { name: 'library/x', tag: 'latest', fsLayers: [], history: [] };
    expect(errorOf(() => parseManifest(bytes({ ...body, mediaType: MediaType.DOCKER_SCHEMA1 })))?.code).toBe(
      'MANIFEST_UNSUPPORTED',
    );
    expect(
      errorOf(() =>
        parseManifest(bytes(body), { contentType: MediaType.DOCKER_SCHEMA1_SIGNED, source: 'reg/x:1' }),
      ),
    ).toMatchObject({ code: 'MANIFEST_UNSUPPORTED', message: expect.stringContaining('reg/x:1') });
  });
});

describe('parseManifest: size limit', () => {
  it('refuses more than 4 MiB before parsing (garbage past the limit is not reported as bad JSON)', () => {
    expect(MAX_MANIFEST_BYTES).toBe(4 * 1024 * 1024);
    const big = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x7b); // '{{{{...'
    const err = errorOf(() => parseManifest(big, { source: 'https://r.example/v2/x/manifests/1' }));
    expect(err?.code).toBe('MANIFEST_TOO_LARGE');
    expect(err?.message).toContain(String(MAX_MANIFEST_BYTES + 1));
    expect(err?.message).toContain('https://r.example/v2/x/manifests/1');
  });

  it('accepts exactly 4 MiB', () => {
    const body = JSON.stringify(ociManifest);
    const padded = new TextEncoder().encode(body + ' '.repeat(MAX_MANIFEST_BYTES - body.length));
    expect(padded.byteLength).toBe(MAX_MANIFEST_BYTES);
    expect(parseManifest(padded).size).toBe(MAX_MANIFEST_BYTES);
  });
});

describe('parseManifest: the digest is of the raw bytes', () => {
  it('gives whitespace-different JSON different digests, each the sha256 of its bytes', () => {
    const compact = bytes(ociIndex);
    const pretty = bytes(ociIndex, 3);
    const a = parseManifest(compact);
    const b = parseManifest(pretty);
    expect(a.digest).toBe(sha256(compact));
    expect(b.digest).toBe(sha256(pretty));
    expect(a.digest).not.toBe(b.digest);
    expect(a.value).toEqual(b.value);
  });

  it('digests a subarray view by its own bytes only', () => {
    const raw = bytes(ociManifest);
    const framed = new Uint8Array(raw.byteLength + 8);
    framed.set(raw, 4);
    const view = framed.subarray(4, 4 + raw.byteLength);
    expect(parseManifest(view).digest).toBe(sha256(raw));
  });

  it('verifies expectedDigest and names both digests on a mismatch', () => {
    const raw = bytes(ociManifest);
    expect(parseManifest(raw, { expectedDigest: sha256(raw) }).digest).toBe(sha256(raw));
    const wrong = sha256('something else');
    const err = errorOf(() => parseManifest(raw, { expectedDigest: wrong, source: 'r.example/x@' }));
    expect(err?.code).toBe('DIGEST_MISMATCH');
    expect(err?.message).toContain(wrong);
    expect(err?.message).toContain(sha256(raw));
  });

  it('uses the algorithm of expectedDigest (sha512)', () => {
    const raw = bytes(ociManifest);
    const expected = `sha512:${createHash('sha512').update(raw).digest('hex')}`;
    expect(parseManifest(raw, { expectedDigest: expected }).digest).toBe(expected);
  });
});

describe('parseManifest: validation errors name the field', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'a negative size',
      { ...ociIndex, manifests: [d(1), { ...d(2), size: -1 }] },
      /manifests\[1\]\.size must be a non-negative integer, got -1/,
    ],
    ['a fractional size', { ...ociIndex, manifests: [{ ...d(1), size: 1.5 }] }, /manifests\[0\]\.size/],
    [
      'a bad digest',
      { ...ociManifest, layers: [d(1), { ...d(2), digest: 'sha256:XYZ' }] },
      /layers\[1\]\.digest/,
    ],
    [
      'a missing media type',
      { ...ociManifest, config: { ...d(1), mediaType: undefined } },
      /config\.mediaType/,
    ],
    [
      'no config',
      { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, layers: [] },
      /config must be an object/,
    ],
    ['manifests not an array', { ...ociIndex, manifests: {} }, /"manifests" must be an array/],
    [
      'a platform without os',
      { ...ociIndex, manifests: [{ ...d(1), platform: { architecture: 'amd64' } }] },
      /manifests\[0\]\.platform/,
    ],
    [
      'non-string os.features',
      {
        ...ociIndex,
        manifests: [{ ...d(1), platform: { os: 'windows', architecture: 'amd64', 'os.features': [1] } }],
      },
      /manifests\[0\]\.platform\.os\.features/,
    ],
    [
      'non-string annotations',
      { ...ociManifest, annotations: { a: 1 } },
      /annotations must map strings to strings/,
    ],
    ['non-base64 data', { ...ociManifest, config: { ...d(1), data: '!!' } }, /config\.data must be base64/],
    ['urls not strings', { ...ociManifest, layers: [{ ...d(1), urls: [1] }] }, /layers\[0\]\.urls/],
    ['schemaVersion 3', { ...ociManifest, schemaVersion: 3 }, /schemaVersion must be 2, got 3/],
    ['a JSON array', [ociManifest], /must be a JSON object/],
  ];
  for (const [what, doc, message] of cases) {
    it(`refuses ${what}`, () => {
      const err = errorOf(() => parseManifest(bytes(doc)));
      expect(err?.code).toBe('MANIFEST_INVALID');
      expect(err?.message).toMatch(message);
      expect(err?.message).not.toContain('\n');
    });
  }

  it('refuses bytes that are not JSON, saying where they came from', () => {
    const err = errorOf(() =>
      parseManifest(new TextEncoder().encode('<html>'), { source: 'registry.example/x:1' }),
    );
    expect(err?.code).toBe('MANIFEST_INVALID');
    expect(err?.message).toMatch(/registry\.example\/x:1 is not valid JSON/);
  });

  it('accepts an unregistered but grammatical digest algorithm in a descriptor', () => {
    const doc = {
      ...ociManifest,
      layers: [{ ...d(1), digest: 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564' }],
    };
    expect(parseManifest(bytes(doc)).kind).toBe('manifest');
  });
});

describe('descriptorData', () => {
  const empty = v.known_digests.find((k: { content: string }) => k.content === '{}');

  it('returns the embedded bytes when they match the digest and size (the {} empty descriptor)', () => {
    const desc: Descriptor = {
      mediaType: MediaType.OCI_EMPTY,
      digest: empty.digest,
      size: empty.size,
      data: empty.data,
    };
    expect(new TextDecoder().decode(descriptorData(desc)!)).toBe('{}');
  });

  it('returns null without data', () => {
    expect(descriptorData({ mediaType: MediaType.OCI_EMPTY, digest: empty.digest, size: 2 })).toBeNull();
  });

  it('refuses data of the wrong size or digest', () => {
    const base = { mediaType: MediaType.OCI_EMPTY, digest: empty.digest, size: 2 } as Descriptor;
    expect(errorOf(() => descriptorData({ ...base, data: 'e30K' }))?.code).toBe('SIZE_MISMATCH'); // "{}\n"
    const err = errorOf(() => descriptorData({ ...base, data: 'W10=' })); // "[]"
    expect(err?.code).toBe('DIGEST_MISMATCH');
    expect(err?.message).toContain(empty.digest);
    expect(err?.message).toContain(sha256('[]'));
  });
});

describe('isAttestation', () => {
  it('recognises buildx attestations by platform or annotation', () => {
    const base = d(1) as Descriptor;
    expect(isAttestation({ ...base, platform: { os: 'unknown', architecture: 'unknown' } })).toBe(true);
    expect(
      isAttestation({ ...base, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }),
    ).toBe(true);
    expect(isAttestation({ ...base, platform: { os: 'linux', architecture: 'amd64' } })).toBe(false);
    expect(isAttestation({ ...base, platform: { os: 'linux', architecture: 'unknown' } })).toBe(false);
    expect(isAttestation(base)).toBe(false);
  });
});

describe('parseImageConfig', () => {
  it('parses a config object and refuses anything else', () => {
    const cfg = parseImageConfig(bytes({ architecture: 'arm64', os: 'linux', config: { User: 'app' } }));
    expect(cfg.config?.User).toBe('app');
    expect(errorOf(() => parseImageConfig(bytes([1]), 'config sha256:abc'))?.message).toMatch(
      /config sha256:abc must be a JSON object/,
    );
  });
});
