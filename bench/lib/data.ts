/**
 * @module bench/lib/data
 * The large inputs, written to disk as streams (never held whole in memory) with their digests
 * computed on the way: a random blob, a gzip layer of many small text files, and an OCI image
 * layout of a large image for skopeo. Plus a streamed blob push.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { buildConfig, buildIndex, buildManifest } from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { Annotation, MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import type { StaticCredentials } from '../../src/sources/registry/index.js';
import { pushClient } from './seed.js';

const CHUNK = 1 << 20;

export interface FileBlob {
  path: string;
  digest: Digest;
  size: number;
}

function sha256(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}

/** A pass-through that hashes and counts what flows. */
function tee(hash: Hash, onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
}

/** `size` bytes of random data at `path`. */
export async function writeRandomFile(path: string, size: number): Promise<FileBlob> {
  const hash = createHash('sha256');
  await pipeline(async function* () {
    for (let left = size; left > 0; left -= CHUNK) {
      const chunk = randomBytes(Math.min(CHUNK, left));
      hash.update(chunk);
      yield chunk;
    }
  }, createWriteStream(path));
  return { path, digest: sha256(hash), size };
}

export interface GzipLayer extends FileBlob {
  diffId: Digest;
  /** Tar entries written (files and directories). */
  entries: number;
  uncompressed: number;
}

/**
 * A gzip layer of many files of pseudo-random text (hex, so it compresses about 2:1 as real
 * layers do), grown until the compressed size reaches `targetBytes`; a directory every 100 files.
 */
export async function writeManyFilesLayer(path: string, targetBytes: number): Promise<GzipLayer> {
  const tar = pack();
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let compressed = 0;
  let uncompressed = 0;
  // gzip in its own process, so generating uses both cores; level 1 because gzip -6 manages only
  // ~20 MB/s here, and inflating costs about the same whatever the level (same 2:1 ratio on hex).
  const gzip = spawn('gzip', ['-1', '-n', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) => {
    gzip.once('error', reject);
    gzip.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`gzip exited with ${code}`))));
  });
  const done = Promise.all([
    pipeline(
      tar,
      tee(tarHash, (n) => {
        uncompressed += n;
      }),
      gzip.stdin,
    ),
    pipeline(
      gzip.stdout,
      tee(gzHash, (n) => {
        compressed += n;
      }),
      createWriteStream(path),
    ),
    exited,
  ]);
  const add = (header: Parameters<typeof tar.entry>[0], body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null) => (e ? reject(e) : resolve());
      if (body) tar.entry(header, body, cb);
      else tar.entry(header, cb);
    });
  const mtime = new Date('2024-01-01T00:00:00Z');
  let entries = 0;
  let dir = '';
  for (let i = 0; compressed < targetBytes; i++) {
    if (i % 100 === 0) {
      dir = `usr/share/bench/d${String(i / 100).padStart(4, '0')}/`;
      await add({ name: dir, type: 'directory', mode: 0o755, mtime });
      entries++;
    }
    // Sizes from 0 to 64 KiB: many small files, as in a real root filesystem.
    const size = randomBytes(2).readUInt16LE(0);
    const body = Buffer.from(
      randomBytes(Math.ceil(size / 2))
        .toString('hex')
        .slice(0, size),
    );
    await add({ name: `${dir}file-${i}.txt`, type: 'file', mode: 0o644, mtime, size }, body);
    entries++;
  }
  tar.finalize();
  await done;
  return { path, digest: sha256(gzHash), size: compressed, diffId: sha256(tarHash), entries, uncompressed };
}

/** A gzip layer holding one file of `size` random bytes (for push/pull of a large image). */
async function writeBigLayer(path: string, size: number): Promise<GzipLayer> {
  const tar = pack();
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let compressed = 0;
  let uncompressed = 0;
  const done = pipeline(
    tar,
    tee(tarHash, (n) => {
      uncompressed += n;
    }),
    // Random bytes do not compress: stored deflate blocks (level 0) are what any level ends up with.
    createGzip({ level: 0 }),
    tee(gzHash, (n) => {
      compressed += n;
    }),
    createWriteStream(path),
  );
  const sink = tar.entry({ name: 'data.bin', size, mode: 0o644, mtime: new Date('2024-01-01T00:00:00Z') });
  for (let left = size; left > 0; left -= CHUNK) {
    if (!sink.write(randomBytes(Math.min(CHUNK, left)))) await once(sink, 'drain');
  }
  sink.end(() => {});
  tar.finalize();
  await done;
  return {
    path,
    digest: sha256(gzHash),
    size: compressed,
    diffId: sha256(tarHash),
    entries: 1,
    uncompressed,
  };
}

/** An OCI image layout in `dir` with one image of `layers` random layers totalling about `bytes`, tagged `tag`. */
export async function writeBigOciLayout(
  dir: string,
  bytes: number,
  layers: number,
  tag: string,
): Promise<{ manifestDigest: Digest; blobBytes: number }> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const built: GzipLayer[] = [];
  for (let i = 0; i < layers; i++) {
    const tmp = join(dir, `layer-${i}.tmp`);
    const layer = await writeBigLayer(tmp, Math.floor(bytes / layers));
    const final = join(blobs, layer.digest.slice('sha256:'.length));
    await rename(tmp, final);
    built.push({ ...layer, path: final });
  }
  const layerBlobs = built.map((l) => ({
    bytes: new Uint8Array(0),
    digest: l.digest,
    size: l.size,
    mediaType: MediaType.OCI_LAYER_GZIP,
  }));
  const config = buildConfig({ os: 'linux', architecture: 'amd64', diffIds: built.map((l) => l.diffId) });
  const manifest = buildManifest({ config, layers: layerBlobs });
  for (const blob of [config, manifest])
    await writeFile(join(blobs, blob.digest.slice('sha256:'.length)), blob.bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: [
      {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { [Annotation.REF_NAME]: tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { manifestDigest: manifest.digest, blobBytes: built.reduce((n, l) => n + l.size, 0) + config.size };
}

/** Upload a file as a blob, streamed from disk. */
export async function pushFileBlob(
  baseUrl: string,
  repo: string,
  blob: FileBlob,
  auth?: StaticCredentials,
): Promise<void> {
  const client = pushClient(auth);
  try {
    await client.pushBlob(parseReference(`${new URL(baseUrl).host}/${repo}`), {
      digest: blob.digest,
      size: blob.size,
      open: () => createReadStream(blob.path, { highWaterMark: CHUNK }),
    });
  } finally {
    await client.close();
  }
}

/**
 * A multi-platform image of about `bytes` as an OCI layout tagged `tag`: for each platform its own
 * `layersPerPlatform` gzip layers (no blob shared between platforms), config and manifest, and an
 * index over them. What `copy --all` and `skopeo copy --all` are timed on.
 */
export async function writeMultiPlatformLayout(
  dir: string,
  bytes: number,
  platforms: ReadonlyArray<{ os: string; architecture: string; variant?: string }>,
  layersPerPlatform: number,
  tag: string,
): Promise<{ indexDigest: Digest; blobBytes: number; blobs: number }> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  let blobBytes = 0;
  let count = 0;
  const entries = [];
  for (const [p, platform] of platforms.entries()) {
    const built: GzipLayer[] = [];
    for (let i = 0; i < layersPerPlatform; i++) {
      const tmp = join(dir, `layer-${p}-${i}.tmp`);
      const layer = await writeBigLayer(tmp, Math.floor(bytes / platforms.length / layersPerPlatform));
      await rename(tmp, join(blobs, layer.digest.slice('sha256:'.length)));
      built.push(layer);
      blobBytes += layer.size;
    }
    const config = buildConfig({ ...platform, diffIds: built.map((l) => l.diffId) });
    const manifest = buildManifest({
      config,
      layers: built.map((l) => ({
        bytes: new Uint8Array(0),
        digest: l.digest,
        size: l.size,
        mediaType: MediaType.OCI_LAYER_GZIP,
      })),
    });
    for (const blob of [config, manifest])
      await writeFile(join(blobs, blob.digest.slice('sha256:'.length)), blob.bytes);
    blobBytes += config.size;
    count += built.length + 1;
    entries.push({ manifest, platform });
  }
  const index = buildIndex({ manifests: entries });
  await writeFile(join(blobs, index.digest.slice('sha256:'.length)), index.bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const top = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: [
      {
        mediaType: index.mediaType,
        digest: index.digest,
        size: index.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(top));
  return { indexDigest: index.digest, blobBytes, blobs: count };
}
