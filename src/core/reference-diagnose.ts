/**
 * @module reference-diagnose
 * Why a string is not a reference, and where: the grammar decides validity (reference.ts); this
 * only explains a rejection, walking the text the way a person reads it, so the error can say
 * `invalid separator ".." in repository name (position 4)`.
 */
import { ANCHORED_DOMAIN_REGEXP, DIGEST_REFERENCE_PATTERN, MAX_TAG_LENGTH } from './reference.js';

/**
 * Find where an invalid reference goes wrong, for the error message. The grammar decides validity;
 * this only explains a rejection, so it walks the text the way a person would read it.
 */
export function diagnose(text: string): { position: number; reason: string } {
  const at = text.indexOf('@');
  const nameAndTag = at === -1 ? text : text.slice(0, at);
  if (at !== -1) {
    const digestPart = text.slice(at + 1);
    if (digestPart.includes('@'))
      return { position: at + 1 + digestPart.indexOf('@'), reason: 'unexpected "@"' };
    if (nameAndTag.length === 0)
      return { position: 0, reason: 'a digest needs a repository name before "@"' };
    if (!DIGEST_REFERENCE_PATTERN.test(digestPart)) {
      return { position: at + 1, reason: 'digest must be algorithm:hex with at least 32 hex characters' };
    }
  }
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
  if (colon !== -1) {
    const tag = nameAndTag.slice(colon + 1);
    if (tag.length === 0) return { position: colon + 1, reason: 'tag must not be empty' };
    if (tag.length > MAX_TAG_LENGTH) {
      return {
        position: colon + 1 + MAX_TAG_LENGTH,
        reason: `tag must be at most ${MAX_TAG_LENGTH} characters`,
      };
    }
    if (!/^\w/.test(tag))
      return { position: colon + 1, reason: 'tag must start with a letter, digit or "_"' };
    const bad = tag.search(/[^\w.-]/);
    if (bad !== -1) return { position: colon + 1 + bad, reason: `invalid character "${tag[bad]}" in tag` };
  }
  if (name.length === 0) return { position: 0, reason: 'repository name must not be empty' };
  const parts = name.split('/');
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const isDomain = i === 0 && parts.length > 1 && ANCHORED_DOMAIN_REGEXP.test(part);
    if (!isDomain) {
      const problem = diagnoseComponent(part, i === 0 && parts.length > 1);
      if (problem) return { position: offset + problem.position, reason: problem.reason };
    }
    offset += part.length + 1;
  }
  if (parts.length === 1 && name.startsWith('[')) {
    return { position: name.length, reason: 'an IPv6 registry address needs a repository path after it' };
  }
  return { position: 0, reason: 'invalid reference format' };
}

function diagnoseComponent(part: string, mayBeDomain: boolean): { position: number; reason: string } | null {
  if (part.length === 0)
    return { position: 0, reason: 'empty path component ("//" or a leading or trailing "/")' };
  if (mayBeDomain && part.startsWith('[')) {
    return {
      position: 0,
      reason: 'invalid IPv6 registry address (zone IDs and embedded IPv4 are not allowed)',
    };
  }
  if (mayBeDomain && part.includes(':')) {
    const c = part.indexOf(':');
    return { position: c + 1, reason: 'registry port must be a number' };
  }
  const bad = part.search(/[^a-z0-9._-]/);
  if (bad !== -1) {
    const ch = part[bad]!;
    const reason =
      ch.toLowerCase() !== ch
        ? 'repository name must be lowercase'
        : `invalid character "${ch}" in repository name`;
    return { position: bad, reason };
  }
  if (!/^[a-z0-9]/.test(part))
    return { position: 0, reason: 'path component must start with a letter or digit' };
  if (!/[a-z0-9]$/.test(part)) {
    return { position: part.length - 1, reason: 'path component must end with a letter or digit' };
  }
  const sep = /[._-]+/g;
  for (let m = sep.exec(part); m; m = sep.exec(part)) {
    const s = m[0];
    if (!(s === '.' || s === '_' || s === '__' || /^-+$/.test(s))) {
      return { position: m.index, reason: `invalid separator "${s}" in repository name` };
    }
  }
  return null;
}
