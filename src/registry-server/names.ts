/**
 * @module registry-server/names
 * Validation of everything that comes from a URL and later becomes part of a file name: repository
 * names, tags, digests and upload session ids.
 *
 * These checks run BEFORE any storage call, so no byte of a request path reaches the filesystem
 * unless it matches a grammar that cannot express `..`, an absolute path or an encoded slash: the
 * repository grammar (distribution/reference `remoteName`) only allows `[a-z0-9._/-]` with a
 * separator between alphanumerics, and a `%` never matches, so `%2e%2e` and `%2f` are refused as is.
 */
import { type Digest, parseDigest } from '../core/digest.js';
import { isImgdigestError } from '../core/errors.js';
import { ANCHORED_PATH_REGEXP, ANCHORED_TAG_REGEXP, MAX_PATH_LENGTH } from '../core/reference.js';
import { registryError } from './errors.js';

/** A repository name accepted by {@link checkName}. */
export type RepoName = string & { readonly __repo: unique symbol };

/**
 * The repository name as the URL spells it, validated. Names are matched undecoded: the grammar has
 * no character that needs percent-encoding, so any `%` is an attempt we refuse (NAME_INVALID).
 */
export function checkName(raw: string): RepoName {
  if (raw.length === 0 || raw.length > MAX_PATH_LENGTH || !ANCHORED_PATH_REGEXP.test(raw)) {
    throw registryError('NAME_INVALID', {
      message: `invalid repository name "${truncate(raw)}"`,
      detail: { name: truncate(raw) },
    });
  }
  return raw as RepoName;
}

/** True when `raw` is a valid tag (`[\w][\w.-]{0,127}`): no `/`, cannot start with `.`. */
export function isTag(raw: string): boolean {
  return ANCHORED_TAG_REGEXP.test(raw);
}

/** A tag from a URL, or TAG_INVALID (distribution's legacy code; the spec has no better one). */
export function checkTag(raw: string): string {
  if (!isTag(raw)) {
    throw registryError('TAG_INVALID', {
      message: `invalid tag "${truncate(raw)}"`,
      detail: { tag: truncate(raw) },
    });
  }
  return raw;
}

/**
 * A digest from a URL or a query parameter. Only registered algorithms (sha256, sha512, ...) are
 * accepted, with their exact lowercase-hex length, so a digest is always safe as a file name.
 */
export function checkDigest(raw: string): Digest {
  try {
    return parseDigest(raw).digest;
  } catch (error) {
    if (!isImgdigestError(error)) throw error;
    throw registryError('DIGEST_INVALID', { message: error.message, detail: { digest: truncate(raw) } });
  }
}

/** True when a manifest reference (`<reference>` in the URL) is written as a digest, not a tag. */
export function looksLikeDigest(reference: string): boolean {
  return reference.includes(':');
}

const UPLOAD_ID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

/** Upload ids are UUIDs this server made; anything else cannot name a session. */
export function isUploadId(raw: string): boolean {
  return UPLOAD_ID_RE.test(raw);
}

function truncate(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}
