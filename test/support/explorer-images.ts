/**
 * @module test/support/explorer-images
 * Images the explorer tests need beyond the sample set: an eStargz layer written here by its
 * published format (containerd/stargz-snapshotter docs/estargz.md), a zstd:chunked layer made by the
 * real skopeo (`--dest-compress-format zstd:chunked`), and an image whose annotations, labels and
 * file names carry HTML and script.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  addBlob,
  addImage,
  addManifest,
  blobOf,
  buildConfig,
  buildImage,
  createImageSet,
  type FileSpec,
  jsonBlob,
  writeOciLayout,
} from '../../src/builder/index.js';
import type { Digest } from '../../src/core/digest.js';
import { pushWithClient } from './images.js';
import { tempDir } from './tmp.js';

function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A ustar header for one entry (names up to 100 bytes are enough here). */
function tarHeader(name: string, size: number, type: '0' | '2' | '5', mode: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(
    `${Math.floor(Date.UTC(2024, 0, 1) / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
    'latin1',
  );
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

export interface EstargzLayer {
  bytes: Uint8Array;
  digest: Digest;
  size: number;
  diffId: Digest;
  tocDigest: Digest;
}

/**
 * An eStargz layer: each regular file's content starts a gzip member (its TOC `offset`), the TOC
 * `stargz.index.json` sits in a gzip member of its own, and a 51-byte footer gives its offset.
 */
export function buildEstargzLayer(files: FileSpec[]): EstargzLayer {
  const members: Buffer[] = [];
  const plain: Buffer[] = [];
  let offset = 0;
  let current: Buffer[] = [];
  const close = () => {
    if (current.length === 0) return;
    const member = gzipSync(Buffer.concat(current));
    members.push(member);
    offset += member.length;
    current = [];
  };
  const add = (b: Buffer) => {
    current.push(b);
    plain.push(b);
  };
  const entries: Array<Record<string, unknown>> = [];
  for (const f of files) {
    const type = f.type ?? (f.linkname ? 'symlink' : 'file');
    if (type === 'dir') {
      add(tarHeader(f.path.endsWith('/') ? f.path : `${f.path}/`, 0, '5', f.mode ?? 0o755));
      entries.push({
        name: f.path.replace(/\/$/, ''),
        type: 'dir',
        mode: f.mode ?? 0o755,
        modtime: '2024-01-01T00:00:00Z',
      });
    } else if (type === 'symlink') {
      add(tarHeader(f.path, 0, '2', f.mode ?? 0o777, f.linkname));
      entries.push({
        name: f.path,
        type: 'symlink',
        linkName: f.linkname,
        mode: 0o777,
        modtime: '2024-01-01T00:00:00Z',
      });
    } else {
      const content = Buffer.from(f.content ?? '');
      add(tarHeader(f.path, content.length, '0', f.mode ?? 0o644));
      const entry: Record<string, unknown> = {
        name: f.path,
        type: 'reg',
        size: content.length,
        mode: f.mode ?? 0o644,
        modtime: '2024-01-01T00:00:00Z',
      };
      if (content.length > 0) {
        close();
        entry.offset = offset;
        entry.digest = sha256(content);
        entry.chunkSize = content.length;
        add(Buffer.concat([content, pad(content.length)]));
      }
      entries.push(entry);
    }
  }
  close();
  const json = Buffer.from(JSON.stringify({ version: 1, entries }));
  const tocOffset = offset;
  const tocTar = Buffer.concat([
    tarHeader('stargz.index.json', json.length, '0', 0o644),
    json,
    pad(json.length),
    Buffer.alloc(1024),
  ]);
  plain.push(tocTar);
  members.push(gzipSync(tocTar));
  const footer = Buffer.alloc(51);
  Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]).copy(footer, 0);
  footer.writeUInt16LE(26, 10);
  footer.write('SG', 12, 'latin1');
  footer.writeUInt16LE(22, 14);
  footer.write(`${tocOffset.toString(16).padStart(16, '0')}STARGZ`, 16, 'latin1');
  Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]).copy(footer, 38);
  members.push(footer);
  const bytes = Buffer.concat(members);
  return {
    bytes,
    digest: sha256(bytes),
    size: bytes.length,
    diffId: sha256(Buffer.concat(plain)),
    tocDigest: sha256(json),
  };
}

/** Push an image whose one layer is eStargz, with the TOC digest annotation; returns its manifest digest. */
export async function pushEstargzImage(registryUrl: string, repo: string, tag: string, files: FileSpec[]) {
  const layer = buildEstargzLayer(files);
  const mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
  const config = buildConfig({ os: 'linux', architecture: 'amd64', diffIds: [layer.diffId] });
  const manifest = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: [
        {
          mediaType,
          digest: layer.digest,
          size: layer.size,
          annotations: { 'containerd.io/snapshot/stargz/toc.digest': layer.tocDigest },
        },
      ],
    },
    'application/vnd.oci.image.manifest.v1+json',
  );
  const set = createImageSet();
  addBlob(set, config);
  addBlob(set, blobOf(layer.bytes, mediaType));
  addManifest(set, manifest, tag);
  await pushWithClient(new URL(registryUrl).host, repo, set);
  return { manifest: manifest.digest, layer };
}

/**
 * Push an image with a zstd:chunked layer made by skopeo from a gzip image; returns the manifest
 * skopeo pushed (its layer carries the zstd-chunked annotations).
 */
export async function pushZstdChunkedImage(
  registryHost: string,
  repo: string,
  tag: string,
  files: FileSpec[],
) {
  const dir = await tempDir('zstd-chunked');
  const image = await buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: [files] });
  const set = createImageSet();
  addImage(set, image, tag);
  const layout = join(dir, 'layout');
  await writeOciLayout(layout, set);
  // Asynchronous: the registry may run in this very process (the embedded one).
  const run = promisify(execFile);
  await run('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--dest-compress-format',
    'zstd:chunked',
    `oci:${layout}:${tag}`,
    `docker://${registryHost}/${repo}:${tag}`,
  ]);
  const raw = Buffer.from(
    (
      await run(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${registryHost}/${repo}:${tag}`],
        { encoding: 'buffer' },
      )
    ).stdout,
  );
  const manifest = JSON.parse(raw.toString('utf8')) as {
    layers: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }>;
  };
  return { manifestDigest: sha256(raw), manifest };
}

/** HTML and script in every place an image lets its author write text. */
export const HOSTILE = `<img src=x onerror="window.__pwned='img'"><script>window.__pwned='script'</script>`;

/** An image whose labels, annotations, env, history and file names carry {@link HOSTILE}. */
export async function pushHostileImage(registryUrl: string, repo: string) {
  const image = await buildImage({
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      [
        { path: 'evil/', type: 'dir' },
        { path: `evil/<img src=x onerror=window.__pwned=1>.txt`, content: HOSTILE },
        { path: 'evil/<script>window.__pwned=2</script>', content: 'x' },
        {
          path: 'evil/page.html',
          content: `<!doctype html><script>window.__pwned='file'</script>${HOSTILE}`,
        },
        { path: 'evil/link', linkname: `"><script>window.__pwned='link'</script>` },
      ],
    ],
    config: {
      labels: { [`label${HOSTILE}`]: HOSTILE, 'org.opencontainers.image.title': HOSTILE },
      env: [`HOSTILE=${HOSTILE}`],
      entrypoint: [HOSTILE],
    },
    annotations: { [`org.example${HOSTILE}`]: HOSTILE, 'org.opencontainers.image.description': HOSTILE },
  });
  const set = createImageSet();
  addImage(set, image, 'hostile');
  await pushWithClient(new URL(registryUrl).host, repo, set);
  return image;
}
