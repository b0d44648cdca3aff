/**
 * @module reference
 * Image references (`[domain/]path[:tag][@digest]`) by the distribution/reference grammar, with
 * Docker's normalisation (`nginx` is `docker.io/library/nginx`).
 *
 * A reference that carries both a tag and a digest keeps both: the digest is authoritative, the tag
 * is kept for people reading it. Parsing never throws anything but an `ImgdigestError` with code
 * `REFERENCE_INVALID` (or the digest codes for a malformed digest), and its message names the
 * position of the problem.
 * @see https://github.com/distribution/reference/blob/main/regexp.go
 */
import { type Digest, parseDigest } from './digest.js';
import { ImgdigestError, isImgdigestError } from './errors.js';
import { pathMatch } from './glob.js';
import { diagnose } from './reference-diagnose.js';

/** The domain Docker uses when a reference names none. */
export const DEFAULT_DOMAIN = 'docker.io';
/** The legacy Docker Hub domain, normalised to {@link DEFAULT_DOMAIN}. */
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** The host Docker Hub's registry API answers on. */
export const DOCKER_HUB_HOST = 'registry-1.docker.io';
const OFFICIAL_PREFIX = 'library/';
/** The tag used when a reference names neither a tag nor a digest. */
export const DEFAULT_TAG = 'latest';
/** The longest repository path (domain excluded, as distribution/reference v0.6 counts it). */
export const MAX_PATH_LENGTH = 255;
/** The longest tag. */
export const MAX_TAG_LENGTH = 128;

// Building blocks, exactly as distribution/reference regexp.go composes them.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

/** `^(name)(?::(tag))?(?:@(digest))?$`, three capture groups. */
export const REFERENCE_REGEXP = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
/** `^(?:(domain)/)?(path)$`. */
export const ANCHORED_NAME_REGEXP = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
/** A domain with an optional port, anchored. */
export const ANCHORED_DOMAIN_REGEXP = new RegExp(`^${domainAndPort}$`);
/** A repository path (no domain), anchored: what a registry accepts as `<name>`. */
export const ANCHORED_PATH_REGEXP = new RegExp(`^${remoteName}$`);
/** A tag, anchored. */
export const ANCHORED_TAG_REGEXP = new RegExp(`^${tagPat}$`);
/** A digest as the reference grammar writes it (at least 32 hex characters), anchored. */
export const DIGEST_REFERENCE_PATTERN = new RegExp(`^${digestPat}$`);
/** A 64-hex image identifier, anchored. */
export const IDENTIFIER_REGEXP = /^[a-f0-9]{64}$/;

export interface ReferenceFields {
  /** The registry domain as written after normalisation, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`; `""` only for unnormalised parses without a domain. */
  readonly domain: string;
  /** The repository path inside the registry, e.g. `library/nginx`. */
  readonly path: string;
  readonly tag: string | null;
  readonly digest: Digest | null;
}

/**
 * A parsed image reference. Immutable; `with*` methods return new references.
 *
 * @example
 * const ref = parseReference('nginx:1.27');
 * ref.canonical // 'docker.io/library/nginx:1.27'
 * ref.familiar  // 'nginx:1.27'
 * ref.registryHost // 'registry-1.docker.io'
 */
export class Reference implements ReferenceFields {
  readonly domain: string;
  readonly path: string;
  readonly tag: string | null;
  readonly digest: Digest | null;
  /** The text this reference was parsed from (or built from). */
  readonly input: string;
  #canonical: string | undefined;

  constructor(fields: ReferenceFields, input?: string) {
    this.domain = fields.domain;
    this.path = fields.path;
    this.tag = fields.tag;
    this.digest = fields.digest;
    this.input = input ?? this.canonical;
  }

  /** `domain/path`, the repository's full name. */
  get repository(): string {
    return this.domain ? `${this.domain}/${this.path}` : this.path;
  }

  /** `domain/path[:tag][@digest]`: both tag and digest are kept. */
  get canonical(): string {
    // Made once: it keys caches and maps, asked of the same reference admission after admission.
    let canonical = this.#canonical;
    if (canonical === undefined) {
      canonical = `${this.repository}${this.tag !== null ? `:${this.tag}` : ''}${this.digest !== null ? `@${this.digest}` : ''}`;
      this.#canonical = canonical;
    }
    return canonical;
  }

  /** The repository name as Docker shows it (`nginx`, `bitnami/redis`, `gcr.io/x/y`). */
  get familiarRepository(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.repository;
    if (this.path.startsWith(OFFICIAL_PREFIX)) {
      const rest = this.path.slice(OFFICIAL_PREFIX.length);
      if (!rest.includes('/')) return rest;
    }
    return this.path;
  }

  /** The reference as Docker shows it: `nginx:1.27`, `nginx:1.27@sha256:...`. */
  get familiar(): string {
    return `${this.familiarRepository}${this.tag !== null ? `:${this.tag}` : ''}${this.digest !== null ? `@${this.digest}` : ''}`;
  }

  /** What to ask the registry for: the digest when there is one, else the tag, else `latest`. */
  get identifier(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG;
  }

  /** The host (with port) to connect to: `docker.io` is served by `registry-1.docker.io`. */
  get registryHost(): string {
    return registryHostOf(this.domain);
  }

  /** `repository@digest` (the tag dropped), or null without a digest. */
  get digested(): string | null {
    return this.digest ? `${this.repository}@${this.digest}` : null;
  }

  withTag(tag: string): Reference {
    if (!ANCHORED_TAG_REGEXP.test(tag)) {
      throw new ImgdigestError('REFERENCE_INVALID', `invalid tag "${tag}": must match ${tagPat}`, {
        details: { tag },
      });
    }
    return new Reference({ ...this.fields(), tag });
  }

  /** A copy carrying `digest` (validated); the tag stays, as `name:tag@digest` keeps both. */
  withDigest(digest: string): Reference {
    return new Reference({ ...this.fields(), digest: parseDigest(digest).digest });
  }

  withoutTag(): Reference {
    return new Reference({ ...this.fields(), tag: null });
  }

  withoutDigest(): Reference {
    return new Reference({ ...this.fields(), digest: null });
  }

  /** The repository alone (no tag, no digest). */
  repositoryOnly(): Reference {
    return new Reference({ domain: this.domain, path: this.path, tag: null, digest: null });
  }

  /** A registry token scope for this repository. */
  scope(actions: string = 'pull'): string {
    return `repository:${this.path}:${actions}`;
  }

  toString(): string {
    return this.canonical;
  }

  toJSON(): {
    input: string;
    canonical: string;
    familiar: string;
    domain: string;
    path: string;
    tag: string | null;
    digest: string | null;
  } {
    return {
      input: this.input,
      canonical: this.canonical,
      familiar: this.familiar,
      domain: this.domain,
      path: this.path,
      tag: this.tag,
      digest: this.digest,
    };
  }

  private fields(): ReferenceFields {
    return { domain: this.domain, path: this.path, tag: this.tag, digest: this.digest };
  }
}

/** The host to connect to for a reference domain. */
export function registryHostOf(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? DOCKER_HUB_HOST : domain;
}

export interface ParseReferenceOptions {
  /**
   * Apply Docker's normalisation (default true): a default domain `docker.io`, `library/` for
   * one-component Docker Hub names, `index.docker.io` read as `docker.io`. With false this is
   * distribution/reference's plain `Parse`, and `domain` may be `""`.
   */
  normalize?: boolean;
}

/**
 * Parse an image reference.
 *
 * @throws ImgdigestError `REFERENCE_INVALID` with the position of the problem, or `DIGEST_INVALID` /
 * `DIGEST_UNSUPPORTED` for a malformed digest part.
 * @example parseReference('gcr.io/google-containers/pause-amd64:3.2').path // 'google-containers/pause-amd64'
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  if (typeof input !== 'string') {
    throw refError(String(input), 'reference must be a string', 0);
  }
  if (options.normalize === false) return parsePlain(input, input);
  if (IDENTIFIER_REGEXP.test(input)) {
    throw refError(
      input,
      'cannot use a 64-character hexadecimal string as a repository name (is it an image ID?)',
      0,
    );
  }
  const { domain, remainder } = splitDockerDomain(input);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    const offset = input.length - remainder.length;
    const at = [...remote].findIndex((c) => c !== c.toLowerCase());
    throw refError(input, 'repository name must be lowercase', Math.max(0, offset + at));
  }
  const ref = parsePlain(`${domain}/${remainder}`, input);
  return ref;
}

/** Split as Docker does: a first component with `.` or `:`, `localhost`, or uppercase is a domain. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  if (i === -1) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    const first = name.slice(0, i);
    const looksLikeDomain =
      first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
    if (looksLikeDomain) {
      domain = first;
      remainder = name.slice(i + 1);
    } else {
      domain = DEFAULT_DOMAIN;
      remainder = name;
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** distribution/reference `Parse`; `shown` is what error messages quote. */
function parsePlain(text: string, shown: string): Reference {
  // Positions in error messages refer to `shown`; when normalisation prepended a domain, shift back.
  const shift = text.length - shown.length;
  if (text.length === 0) throw refError(shown, 'repository name must have at least one component', 0);
  const m = REFERENCE_REGEXP.exec(text);
  if (!m) {
    const lower = text.toLowerCase();
    if (lower !== text && REFERENCE_REGEXP.test(lower)) {
      const at = [...text].findIndex((c, idx) => c !== lower[idx]);
      throw refError(shown, 'repository name must be lowercase', Math.max(0, at - shift));
    }
    const { position, reason } = diagnose(text);
    throw refError(shown, reason, Math.max(0, position - shift));
  }
  const name = m[1]!;
  const nm = ANCHORED_NAME_REGEXP.exec(name);
  if (!nm) throw refError(shown, 'invalid reference format', 0);
  const domain = nm[1] ?? '';
  const path = nm[2]!;
  if (path.length > MAX_PATH_LENGTH) {
    throw refError(
      shown,
      `repository path must not be longer than ${MAX_PATH_LENGTH} characters (it has ${path.length})`,
      Math.max(0, name.length - path.length + MAX_PATH_LENGTH - shift),
    );
  }
  let digest: Digest | null = null;
  if (m[3] !== undefined) {
    try {
      digest = parseDigest(m[3]).digest;
    } catch (e) {
      if (isImgdigestError(e)) {
        const at = text.length - m[3].length - shift;
        throw new ImgdigestError(
          e.code,
          `invalid reference "${shown}": ${stripPrefix(e.message)} (position ${at})`,
          {
            details: { ...e.details, input: shown, position: at },
          },
        );
      }
      throw e;
    }
  }
  return new Reference({ domain, path, tag: m[2] ?? null, digest }, shown);
}

function stripPrefix(message: string): string {
  return message.replace(/^invalid digest "[^"]*": /, 'invalid digest: ');
}

function refError(input: string, reason: string, position: number): ImgdigestError {
  const shown = input.length > 300 ? `${input.slice(0, 300)}...` : input;
  return new ImgdigestError(
    'REFERENCE_INVALID',
    `invalid reference "${shown}": ${reason} (position ${position})`,
    {
      details: { input, reason, position },
    },
  );
}

/** distribution/reference `ParseNamed`: the input must already be in canonical form. */
export function parseNamed(input: string): Reference {
  const ref = parseReference(input);
  if (ref.canonical !== input) {
    throw new ImgdigestError(
      'REFERENCE_INVALID',
      `invalid reference "${input}": repository name must be canonical (did you mean "${ref.canonical}"?)`,
      { details: { input, canonical: ref.canonical } },
    );
  }
  return ref;
}

/**
 * distribution/reference `ParseDockerRef`: normalised, `:latest` added when neither tag nor digest,
 * and the tag dropped when a digest is present. Returns the string form.
 */
export function parseDockerRef(input: string): string {
  const ref = parseReference(input);
  if (ref.digest) return ref.withoutTag().canonical;
  if (ref.tag === null) return ref.withTag(DEFAULT_TAG).canonical;
  return ref.canonical;
}

/** distribution/reference `ParseAnyReference`: a bare 64-hex ID or a digest is a digest; anything else a reference. */
export function parseAnyReference(
  input: string,
): { kind: 'digest'; digest: Digest } | { kind: 'named'; ref: Reference } {
  if (IDENTIFIER_REGEXP.test(input)) return { kind: 'digest', digest: `sha256:${input}` };
  try {
    return { kind: 'digest', digest: parseDigest(input).digest };
  } catch {
    return { kind: 'named', ref: parseReference(input) };
  }
}

/** Parse a repository (a reference that must carry neither tag nor digest). */
export function parseRepository(input: string): Reference {
  const ref = parseReference(input);
  if (ref.tag !== null || ref.digest !== null) {
    throw new ImgdigestError(
      'REFERENCE_INVALID',
      `invalid repository "${input}": must not have a tag or digest`,
      {
        details: { input },
      },
    );
  }
  return ref;
}

/** True when `input` parses as a reference. Never throws. */
export function isReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * distribution/reference `FamiliarMatch`: Go `path.Match` of `pattern` against the familiar string,
 * then against the familiar name.
 */
export function familiarMatch(pattern: string, ref: Reference): boolean {
  return pathMatch(pattern, ref.familiar) || pathMatch(pattern, ref.familiarRepository);
}

export { pathMatch } from './glob.js';
