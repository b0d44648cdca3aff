/**
 * @module test/local-sources/fixtures
 * Local image fixtures made by the real tools: OCI layouts by `umoci` (a scratch image plus files,
 * then a config), copies and docker-archive tarballs by `skopeo copy`, and what `skopeo inspect`
 * says about them, so tests compare imgdigest's answers with another implementation's.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Run a tool; its stderr goes into the error when it fails. */
export function run(cmd: string, args: string[], options: { input?: string | Buffer } = {}): Buffer {
  try {
    return execFileSync(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr?.toString('utf8').trim() ?? err.message}`);
  }
}

export interface UmociImage {
  tag: string;
  /** Files written into the image's single layer (path -> contents). */
  files: Record<string, string | Buffer>;
  architecture?: string;
  cmd?: string;
}

/** Create (or extend) an OCI layout at `layout` with one image per spec, each under its tag. */
export async function umociLayout(layout: string, images: UmociImage[]): Promise<void> {
  run('umoci', ['init', '--layout', layout]);
  for (const image of images) {
    const base = `${image.tag}-base`;
    run('umoci', ['new', '--image', `${layout}:${base}`]);
    const bundle = `${layout}-bundle-${image.tag}`;
    run('umoci', ['unpack', '--rootless', '--image', `${layout}:${base}`, bundle]);
    for (const [path, body] of Object.entries(image.files)) {
      const target = join(bundle, 'rootfs', path);
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, body);
    }
    run('umoci', ['repack', '--image', `${layout}:${image.tag}`, bundle]);
    run('umoci', [
      'config',
      '--image',
      `${layout}:${image.tag}`,
      '--architecture',
      image.architecture ?? 'amd64',
      '--config.cmd',
      image.cmd ?? '/bin/true',
    ]);
    run('umoci', ['rm', '--image', `${layout}:${base}`]);
    run('rm', ['-rf', bundle]);
  }
  // umoci leaves unreferenced blobs behind; gc makes the layout what a user would have.
  run('umoci', ['gc', '--layout', layout]);
}

/** `skopeo copy SRC DEST` (no signatures, quiet). */
export function skopeoCopy(src: string, dest: string): void {
  run('skopeo', ['copy', '--quiet', src, dest]);
}

/** What `skopeo inspect` says: the raw manifest, the raw config, and its summary. */
export function skopeoInspect(transportRef: string): {
  manifest: Buffer;
  config: Buffer;
  summary: { Digest: string; Layers: string[]; Architecture: string };
} {
  return {
    manifest: run('skopeo', ['inspect', '--raw', transportRef]),
    config: run('skopeo', ['inspect', '--config', '--raw', transportRef]),
    summary: JSON.parse(run('skopeo', ['inspect', transportRef]).toString('utf8')),
  };
}
