/**
 * @module sources/open
 * Turn what a user typed into an {@link ImageSource}, with skopeo's transport names:
 * `oci:DIR[:TAG]`, `docker-archive:FILE[:REF]`, `docker-daemon:NAME[:TAG]`, `docker://REF` or a
 * bare reference (a registry). Each source module is loaded only when used.
 */
import { isAbsolute, resolve } from 'node:path';
import { ImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { RegistryClientOptions } from './registry/index.js';
import type { ImageSource } from './source.js';

export type SourceSpec =
  | { transport: 'registry'; reference: Reference }
  | { transport: 'oci'; path: string; tag: string | undefined }
  | { transport: 'docker-archive'; path: string; ref: string | undefined }
  | { transport: 'docker-daemon'; name: string };

/** skopeo transports imgdigest does not read; named so the error can say so. */
const UNSUPPORTED_TRANSPORTS = ['containers-storage', 'dir', 'oci-archive', 'ostree', 'sif'];

/**
 * Split `oci:/path/to/dir:tag`. A path may itself contain `:`; as skopeo does, the last `:` starts
 * the tag only when what follows has no `/`.
 */
function splitPathAndTag(rest: string): { path: string; tag: string | undefined } {
  const i = rest.lastIndexOf(':');
  if (i > 0 && !rest.slice(i + 1).includes('/')) {
    return { path: rest.slice(0, i), tag: rest.slice(i + 1) || undefined };
  }
  return { path: rest, tag: undefined };
}

/** Parse a source string without opening anything. */
export function parseSourceSpec(input: string): SourceSpec {
  if (input.startsWith('oci:')) {
    const { path, tag } = splitPathAndTag(input.slice(4));
    if (!path)
      throw new ImgdigestError('INPUT_INVALID', `"${input}": oci: needs a directory (oci:DIR[:TAG])`);
    return { transport: 'oci', path, tag };
  }
  if (input.startsWith('docker-archive:')) {
    const rest = input.slice('docker-archive:'.length);
    // The REF part of docker-archive:FILE:REF may contain ':' (repo:tag), so FILE ends at the
    // first ':', whatever the file is named, as skopeo reads it (a FILE cannot hold a ':').
    const colon = rest.indexOf(':');
    const path = colon === -1 ? rest : rest.slice(0, colon);
    const ref = colon === -1 ? undefined : rest.slice(colon + 1) || undefined;
    if (!path) throw new ImgdigestError('INPUT_INVALID', `"${input}": docker-archive: needs a file`);
    return { transport: 'docker-archive', path, ref };
  }
  if (input.startsWith('docker-daemon:')) {
    const name = input.slice('docker-daemon:'.length);
    if (!name)
      throw new ImgdigestError('INPUT_INVALID', `"${input}": docker-daemon: needs an image name or ID`);
    return { transport: 'docker-daemon', name };
  }
  // `dir:/path` is a transport; `dir:5000/app` is a registry host with a port.
  const transport = /^([a-z-]+):(?!\d)/.exec(input)?.[1];
  if (transport && UNSUPPORTED_TRANSPORTS.includes(transport)) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `"${input}": the ${transport}: transport is not supported; use oci:, docker-archive:, docker-daemon: or a registry reference`,
    );
  }
  const text = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  return { transport: 'registry', reference: parseReference(text) };
}

export interface OpenOptions {
  registry?: RegistryClientOptions;
  dockerHost?: string;
  /** The folder relative `oci:` and `docker-archive:` paths are read from (default: the process's). */
  cwd?: string;
}

/**
 * A local path as the caller's folder `cwd` sees it. Relative paths are left to the operating
 * system when `cwd` is the process's own folder (so messages show them as the user typed them);
 * an embedding program or a test running the CLI for another folder gets them resolved there.
 */
export function localPath(path: string, cwd: string | undefined): string {
  if (cwd === undefined || isAbsolute(path)) return path;
  const base = resolve(cwd);
  return base === process.cwd() ? path : resolve(base, path);
}

/** Open a source for reading. The caller closes it (`source.close?.()`). */
export async function openSource(input: string, options: OpenOptions = {}): Promise<ImageSource> {
  const spec = parseSourceSpec(input);
  switch (spec.transport) {
    case 'registry': {
      // The client alone, not the registry/ index: its login helpers and their file-system
      // modules are not needed to read.
      const { RegistryClient } = await import('./registry/client.js');
      const client = new RegistryClient(options.registry ?? {});
      return client.openSource(spec.reference, { closeClient: true });
    }
    case 'oci': {
      const { openOciLayout } = await import('./local/oci-layout.js');
      return openOciLayout(localPath(spec.path, options.cwd), spec.tag);
    }
    case 'docker-archive': {
      const { openDockerArchive } = await import('./local/docker-archive.js');
      return openDockerArchive(localPath(spec.path, options.cwd), spec.ref);
    }
    case 'docker-daemon': {
      const { openDockerDaemon } = await import('./local/docker-daemon.js');
      return openDockerDaemon(
        spec.name,
        options.dockerHost === undefined ? {} : { dockerHost: options.dockerHost },
      );
    }
  }
}
