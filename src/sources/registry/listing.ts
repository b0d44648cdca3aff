/**
 * @module registry/listing
 * Tag lists and the catalog, page by page.
 *
 * distribution-spec: `?n=` limits a page, `last` is exclusive, and a `Link: <...>; rel="next"`
 * header (RFC 8288) points at the next page; clients should prefer it. Registries that page
 * without a Link header are followed while a page comes back full, with `last` set to the last
 * name seen. A page that repeats a URL or does not move forward ends the walk.
 */
import { type Digest, isDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import type { Reference } from '../../core/reference.js';
import { CATALOG_SCOPE, repositoryScope } from './auth.js';
import { type CallOptions, throwResponseError } from './manifests.js';
import type { RegistrySession } from './session.js';

export interface PageOptions extends CallOptions {
  /** Page size asked of the registry. */
  n?: number;
  /** Start after this name (exclusive). */
  last?: string;
}

export interface ListOptions extends PageOptions {
  /** Follow every page (default true); false returns the first page only. */
  all?: boolean;
}

/** One page of a list, and where the next one is. */
export interface ListPage {
  items: string[];
  /** The next page, or null at the end. `last`/`n` are read from the next URL when it has them. */
  next: { url: string; last: string | null; n: number | null } | null;
}

/** A page of `GET /v2/<name>/tags/list`. */
export interface TagsPage extends ListPage {
  /** The repository name the registry reports. */
  name: string;
  /**
   * Tag -> digest and upload time (ms since the epoch, null when not given), when the registry
   * sends Google's `manifest` map with the page (GCR, Artifact Registry); null otherwise.
   */
  tagInfo: Map<string, { digest: Digest; uploadedMs: number | null }> | null;
}

/** Pages followed at most, so that a registry that loops cannot keep us forever. */
export const MAX_PAGES = 10_000;

/**
 * The `rel="next"` target of a Link header, resolved against the URL that sent it.
 * @example nextLink('</v2/app/tags/list?n=2&last=b>; rel="next"', base)?.searchParams.get('last') // 'b'
 */
export function nextLink(header: string | string[] | undefined, base: URL): URL | null {
  if (header === undefined) return null;
  for (const value of Array.isArray(header) ? header : [header]) {
    for (const m of value.matchAll(/<([^>]*)>([^<]*)/g)) {
      const rels = (m[2] ?? '')
        .split(';')
        .map((p) => /^\s*rel\s*=\s*"?([^"]*)"?\s*,?\s*$/i.exec(p)?.[1])
        .filter((r): r is string => r !== undefined)
        .flatMap((r) => r.toLowerCase().split(/\s+/));
      if (rels.includes('next')) {
        try {
          return new URL(m[1]!, base);
        } catch {
          return null;
        }
      }
    }
  }
  return null;
}

function pageUrl(path: string, options: PageOptions): string {
  const query: string[] = [];
  if (options.n !== undefined) {
    if (!Number.isInteger(options.n) || options.n < 0) {
      throw new ImgdigestError('INPUT_INVALID', `page size must be an integer >= 0, got ${options.n}`, {
        details: { n: options.n },
      });
    }
    query.push(`n=${options.n}`);
  }
  if (options.last !== undefined) query.push(`last=${encodeURIComponent(options.last)}`);
  return query.length > 0 ? `${path}?${query.join('&')}` : path;
}

interface ListSpec {
  path: string;
  field: 'tags' | 'repositories';
  scopes: string[];
  subject: string;
  kind: 'tags' | 'catalog';
}

async function fetchPage(
  session: RegistrySession,
  spec: ListSpec,
  url: string | URL,
  options: PageOptions,
): Promise<
  ListPage & {
    name: string;
    url: URL;
    digests: Map<string, Digest> | null;
    tagInfo: TagsPage['tagInfo'];
  }
> {
  const response = await session.request({
    method: 'GET',
    url,
    headers: { accept: 'application/json' },
    scopes: spec.scopes,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 200) await throwResponseError(response, spec.subject, spec.kind);
  const body = await response.bytes();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ImgdigestError(
      'REGISTRY_ERROR',
      `registry ${session.name} sent a ${spec.kind} list that is not JSON (GET ${response.url.pathname})`,
      {
        details: { method: 'GET', path: response.url.pathname },
      },
    );
  }
  const raw = json[spec.field];
  // distribution sends `"tags": null` for a repository whose tags were all deleted.
  const items = Array.isArray(raw) ? raw.filter((t): t is string => typeof t === 'string') : [];
  let next = nextLink(response.headers.link, response.url);
  // Without a Link header, a page of exactly n names may have a successor. More than n means the
  // registry ignores `n` (distribution 2.8 does for tags) and sent everything.
  if (!next && options.n !== undefined && options.n > 0 && items.length === options.n) {
    next = new URL(pageUrl(spec.path, { n: options.n, last: items[items.length - 1]! }), response.url);
  }
  const nextInfo = next
    ? {
        url: next.href,
        last: next.searchParams.get('last'),
        n: next.searchParams.has('n') ? Number(next.searchParams.get('n')) : null,
      }
    : null;
  return {
    items,
    next: nextInfo,
    name: typeof json.name === 'string' ? json.name : '',
    url: response.url,
    digests: spec.kind === 'tags' ? tagDigestMap(json.manifest) : null,
    tagInfo: spec.kind === 'tags' ? tagInfoMap(json.manifest) : null,
  };
}

/**
 * Google's registries (GCR, Artifact Registry) add `"manifest": {"sha256:...": {"tag": [...]}}` to
 * a tags list, which answers "which tags point at this digest" without a HEAD per tag.
 */
function tagDigestMap(value: unknown): Map<string, Digest> | null {
  if (!isRecord(value)) return null;
  const map = new Map<string, Digest>();
  for (const [digest, info] of Object.entries(value)) {
    if (!isDigest(digest)) continue;
    const tags = (info as { tag?: unknown } | null)?.tag;
    if (Array.isArray(tags)) for (const t of tags) if (typeof t === 'string') map.set(t, digest);
  }
  return map;
}

/** The same map with the upload time Google's registries add (`timeUploadedMs`, a decimal string). */
function tagInfoMap(value: unknown): TagsPage['tagInfo'] {
  const digests = tagDigestMap(value);
  if (!digests) return null;
  const out: NonNullable<TagsPage['tagInfo']> = new Map();
  const info = value as Record<string, { timeUploadedMs?: unknown }>;
  for (const [tag, digest] of digests) {
    const raw = info[digest]?.timeUploadedMs;
    const ms = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : Number.NaN;
    out.set(tag, { digest, uploadedMs: Number.isFinite(ms) && ms > 0 ? ms : null });
  }
  return out;
}

async function listAll(
  session: RegistrySession,
  spec: ListSpec,
  options: ListOptions,
  onPage?: (page: { digests: Map<string, Digest> | null }) => void,
): Promise<string[]> {
  const all: string[] = [];
  const names = new Set<string>();
  const seen = new Set<string>();
  let url: string | URL = pageUrl(spec.path, options);
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await fetchPage(session, spec, url, options);
    onPage?.(page);
    seen.add(page.url.href);
    // Names are unique in a repository or registry; a page of repeats means `last` was ignored.
    const fresh = page.items.filter((name) => !names.has(name));
    for (const name of fresh) names.add(name);
    all.push(...fresh);
    if (options.all === false || !page.next || fresh.length === 0 || seen.has(page.next.url)) break;
    url = new URL(page.next.url);
  }
  return all;
}

function tagsSpec(repo: Reference): ListSpec {
  return {
    path: `/v2/${repo.path}/tags/list`,
    field: 'tags',
    scopes: [repositoryScope(repo.path)],
    subject: repo.repository,
    kind: 'tags',
  };
}

function catalogSpec(session: RegistrySession): ListSpec {
  return {
    path: '/v2/_catalog',
    field: 'repositories',
    scopes: [CATALOG_SCOPE],
    subject: session.name,
    kind: 'catalog',
  };
}

/** One page of tags. */
export async function tagsPage(
  session: RegistrySession,
  repo: Reference,
  options: PageOptions = {},
): Promise<TagsPage> {
  const page = await fetchPage(session, tagsSpec(repo), pageUrl(tagsSpec(repo).path, options), options);
  return { name: page.name, items: page.items, next: page.next, tagInfo: page.tagInfo };
}

/** The tags of a repository in the registry's order (every page unless `all: false`). */
export function listTags(
  session: RegistrySession,
  repo: Reference,
  options: ListOptions = {},
): Promise<string[]> {
  return listAll(session, tagsSpec(repo), options);
}

/**
 * Tag -> digest for every tag, when the registry sends Google's `manifest` map with every page of
 * the tags list; null when it does not (ask with a HEAD per tag instead).
 */
export async function listTagDigests(
  session: RegistrySession,
  repo: Reference,
  options: CallOptions = {},
): Promise<Map<string, Digest> | null> {
  const all = new Map<string, Digest>();
  let complete = true;
  await listAll(session, tagsSpec(repo), options, (page) => {
    if (page.digests === null) complete = false;
    else for (const [tag, digest] of page.digests) all.set(tag, digest);
  });
  return complete ? all : null;
}

/** The repositories of a registry (`GET /v2/_catalog`, scope `registry:catalog:*`). */
export function listCatalog(session: RegistrySession, options: ListOptions = {}): Promise<string[]> {
  return listAll(session, catalogSpec(session), options);
}

/** One page of the catalog. */
export async function catalogPage(session: RegistrySession, options: PageOptions = {}): Promise<ListPage> {
  const spec = catalogSpec(session);
  const page = await fetchPage(session, spec, pageUrl(spec.path, options), options);
  return { items: page.items, next: page.next };
}
