/**
 * @module explorer/address
 * What an explorer URL names: an image source (a registry repository or a local source) and,
 * optionally, a tag or digest in it. The text form is what a user types (`host/repo:tag`,
 * `host/repo@sha256:…`, `oci:DIR[:TAG]`, `oci:DIR[:TAG]@sha256:…`, `docker-archive:FILE`,
 * `docker-daemon:NAME`), and it is also the URL path after `/image/`, `/config/`, `/layer/`.
 */
import { ImgdigestError, isDigest, parseReference, parseSourceSpec, type Reference } from './library.js';

export type Address =
  | { kind: 'registry'; ref: Reference }
  | {
      kind: 'local';
      /** What to open (`oci:DIR[:TAG]`), the digest left off. */
      open: string;
      /** A digest inside the source, when the address names one. */
      digest: string | null;
    };

const LOCAL = /^(oci|docker-archive|docker-daemon):/;
const TRAILING_DIGEST = /@([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/;

/** Whether `text` names a local source (not a registry). */
export function isLocal(text: string): boolean {
  return LOCAL.test(text);
}

/**
 * Parse an address.
 * @throws `REFERENCE_INVALID`/`INPUT_INVALID` as the CLI would for the same text.
 */
export function parseAddress(text: string): Address {
  const input = text.trim();
  if (!input) throw new ImgdigestError('INPUT_INVALID', 'give a reference or a source');
  if (!isLocal(input)) return { kind: 'registry', ref: parseReference(input.replace(/^docker:\/\//, '')) };
  const m = TRAILING_DIGEST.exec(input);
  const digest = m && isDigest(m[1]!) ? m[1]! : null;
  const open = digest ? input.slice(0, -(digest.length + 1)) : input;
  parseSourceSpec(open); // validates, with the CLI's messages
  return { kind: 'local', open, digest };
}

/** The text form of an address (what the URL carries). */
export function formatAddress(address: Address): string {
  if (address.kind === 'registry') {
    const r = address.ref;
    if (r.digest) return r.tag ? `${r.repository}:${r.tag}@${r.digest}` : `${r.repository}@${r.digest}`;
    return `${r.repository}:${r.identifier}`;
  }
  return address.digest ? `${address.open}@${address.digest}` : address.open;
}

/** The same source at a digest (a child of an index, a layer, a config). */
export function atDigest(address: Address, digest: string): Address {
  if (address.kind === 'registry') {
    return {
      kind: 'registry',
      ref: address.ref.repositoryOnly().withDigest(digest as `${string}:${string}`),
    };
  }
  return { kind: 'local', open: address.open, digest };
}

/** The identifier (tag or digest) the address names inside its source, or undefined for the default. */
export function identifierOf(address: Address): string | undefined {
  if (address.kind === 'registry') return address.ref.digest ?? address.ref.identifier;
  return address.digest ?? undefined;
}

/** The digest the address pins, if any: a page for it never changes. */
export function pinnedDigest(address: Address): string | null {
  return address.kind === 'registry' ? (address.ref.digest ?? null) : address.digest;
}

/** The repository (registry) or source (local) part, for headings and the repository link. */
export function sourceName(address: Address): string {
  return address.kind === 'registry' ? address.ref.repository : address.open;
}

/** Encode an address for a URL path: every character that is not safe is escaped, `/ : @` kept. */
export function encodePath(text: string): string {
  return text
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');
}

/** Decode the rest of a URL path back into address text. */
export function decodePath(path: string): string {
  try {
    return path
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    throw new ImgdigestError('INPUT_INVALID', `the URL path "${path}" is not valid percent-encoding`);
  }
}

/** URLs of the explorer's pages. */
export const urls = {
  start: () => '/',
  registry: (host: string) => `/registry/${encodePath(host)}`,
  repo: (repository: string) => `/repo/${encodePath(repository)}`,
  image: (address: Address | string) =>
    `/image/${encodePath(typeof address === 'string' ? address : formatAddress(address))}`,
  config: (address: Address) => `/config/${encodePath(formatAddress(address))}`,
  /** A layer; `image` (a manifest digest) tells the page the layer's descriptor and annotations. */
  layer: (address: Address, image?: string | null) =>
    `/layer/${encodePath(formatAddress(address))}${image ? `?image=${encodeURIComponent(image)}` : ''}`,
  file: (layer: Address, path: string, image?: string | null) =>
    `/layer/${encodePath(formatAddress(layer))}?path=${encodeURIComponent(path)}${image ? `&image=${encodeURIComponent(image)}` : ''}`,
  download: (layer: Address, path: string, image?: string | null) =>
    `/layer/${encodePath(formatAddress(layer))}?path=${encodeURIComponent(path)}&download=1${image ? `&image=${encodeURIComponent(image)}` : ''}`,
  compare: (a: string, b: string) => `/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`,
  tagEvents: (repository: string, query: string) => `/events/tags/${encodePath(repository)}${query}`,
};
