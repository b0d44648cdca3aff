/**
 * @module sources/copy/mirror
 * `imgdigest mirror FILE`: a list of sources and destinations kept in step, as skopeo sync and
 * regsync do, and idempotently: a tag whose digest at the destination already equals the source's
 * is left alone, so a second run sends nothing (only HEAD requests, and GETs of indexes narrowed
 * to some platforms, whose new digest must be computed to be compared).
 *
 * The file (YAML or JSON; the CLI parses it and hands this module the value and a way to find the
 * line of a path in it, so every complaint says `file:line`):
 * ```yaml
 * apiVersion: imgdigest.dev/v1alpha1
 * kind: ImageMirror
 * defaults:                       # optional, for every entry
 *   platforms: [linux/amd64]      # keep these platforms (default: every one, digests kept)
 *   referrers: false              # copy signatures, SBOMs, attestations too
 * mirrors:
 *   - from: registry.example/team/app   # a repository (its tags), or one tag or digest; oci:DIR too
 *     to: mirror.example/team/app       # a registry repository (or oci:DIR)
 *     tags: ["1.*", latest]             # globs (Go's path.Match: *, ?, [a-z]); default: every tag
 *     tagRegex: '1\.[0-9]+'             # or a regular expression (JavaScript syntax, whole tag)
 *     exclude: ["*-rc*"]                # globs taken out again
 *     platforms: [linux/amd64, linux/arm64]
 *     referrers: true
 * ```
 * A tag is copied when it matches one of `tags` or `tagRegex` (every tag when neither is given)
 * and none of `exclude`. An entry's own `tags`/`tagRegex` replace the defaults' (they do not add
 * up). Tags deleted at the source are not deleted at the destination.
 */
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import { isValidGlob, pathMatch } from '../../core/glob.js';
import { parsePlatform } from '../../core/platform.js';
import { ANCHORED_TAG_REGEXP } from '../../core/reference.js';
import { parseSourceSpec } from '../open.js';
import type { ImageSource } from '../source.js';
import type { Copier, CopyEvent, CopyResult } from './copier.js';
import { type ImageDestination, parseDestination } from './destination.js';
import { planCopy } from './plan.js';

export const MIRROR_API_VERSION = 'imgdigest.dev/v1alpha1';
export const MIRROR_KIND = 'ImageMirror';

/** One entry of `mirrors:`, with the defaults applied. */
export interface MirrorEntry {
  from: string;
  to: string;
  tags?: string[];
  tagRegex?: string;
  exclude?: string[];
  platforms?: string[];
  referrers?: boolean;
  /** The line of the entry in its file, for messages (0 when unknown). */
  line?: number;
}

export interface MirrorConfig {
  mirrors: MirrorEntry[];
}

/** A path into the mirror document: `['mirrors', 1, 'tagRegex']`. */
export type MirrorPath = ReadonlyArray<string | number>;

export interface MirrorFileInfo {
  /** How the file is named in messages. */
  name: string;
  /** The 1-based line of the value at `path` (or of its nearest parent that exists), if known. */
  lineOf?: (path: MirrorPath) => number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `mirrors[1].tagRegex` */
function formatPath(path: MirrorPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const ENTRY_KEYS = ['from', 'to', 'tags', 'tagRegex', 'exclude', 'platforms', 'referrers'];
const DEFAULT_KEYS = ['tags', 'tagRegex', 'exclude', 'platforms', 'referrers'];

/**
 * Check a parsed ImageMirror document. Throws `INPUT_INVALID` (exit 2) with `FILE:LINE: PATH: why`
 * for the first thing wrong.
 */
export function parseMirrorConfig(value: unknown, file: MirrorFileInfo): MirrorConfig {
  const invalid = (path: MirrorPath, why: string): ImgdigestError => {
    const line = file.lineOf?.(path);
    const where = `${file.name}${line ? `:${line}` : ''}`;
    const what = path.length > 0 ? `${formatPath(path)}: ` : '';
    return new ImgdigestError('INPUT_INVALID', `${where}: ${what}${why}`, {
      details: { file: file.name, ...(line ? { line } : {}), path: formatPath(path) },
    });
  };
  if (!isRecord(value)) throw invalid([], `expected a mapping with kind: ${MIRROR_KIND}`);
  if (value.apiVersion !== MIRROR_API_VERSION) throw invalid(['apiVersion'], `must be ${MIRROR_API_VERSION}`);
  if (value.kind !== MIRROR_KIND) throw invalid(['kind'], `must be ${MIRROR_KIND}`);
  for (const key of Object.keys(value)) {
    if (!['apiVersion', 'kind', 'defaults', 'mirrors'].includes(key))
      throw invalid([key], 'unknown field (expected apiVersion, kind, defaults, mirrors)');
  }
  const defaults = value.defaults === undefined ? {} : value.defaults;
  if (!isRecord(defaults)) throw invalid(['defaults'], 'must be a mapping');
  const base = readOptions(defaults, ['defaults'], DEFAULT_KEYS, invalid);
  if (!Array.isArray(value.mirrors) || value.mirrors.length === 0) {
    throw invalid(['mirrors'], 'must be a non-empty list of entries with from and to');
  }
  const mirrors = value.mirrors.map((raw: unknown, i: number) => {
    const at: MirrorPath = ['mirrors', i];
    if (!isRecord(raw)) throw invalid(at, 'must be a mapping with from and to');
    for (const key of ['from', 'to']) {
      if (typeof raw[key] !== 'string' || raw[key] === '')
        throw invalid([...at, key], 'must be a non-empty string');
    }
    const own = readOptions(raw, at, ENTRY_KEYS, invalid);
    const from = raw.from as string;
    const to = raw.to as string;
    const one = namesOneImage(from, [...at, 'from'], invalid);
    checkDestination(to, one, [...at, 'to'], invalid);
    if (one && (own.tags || own.tagRegex || own.exclude)) {
      const key = own.tags ? 'tags' : own.tagRegex ? 'tagRegex' : 'exclude';
      throw invalid([...at, key], `chooses among a repository's tags, but from names one image (${from})`);
    }
    const entry: MirrorEntry = { ...base, ...own, from, to };
    if (own.tags || own.tagRegex) {
      // The entry's own tag choice replaces the defaults' (globs and a regex do not add up).
      if (!own.tags) delete entry.tags;
      if (!own.tagRegex) delete entry.tagRegex;
    }
    if (one) {
      delete entry.tags;
      delete entry.tagRegex;
      delete entry.exclude;
    }
    const line = file.lineOf?.(at);
    if (line) entry.line = line;
    return entry;
  });
  return { mirrors };
}

type Invalid = (path: MirrorPath, why: string) => ImgdigestError;

/** Whether `from` names one image (a tag, a digest, a tagged layout, an archive, an engine image). */
function namesOneImage(from: string, path: MirrorPath, invalid: Invalid): boolean {
  try {
    const spec = parseSourceSpec(from);
    if (spec.transport === 'registry') return spec.reference.tag !== null || spec.reference.digest !== null;
    if (spec.transport === 'oci') return spec.tag !== undefined;
    return true;
  } catch (e) {
    throw invalid(path, isImgdigestError(e) ? e.message : String(e));
  }
}

/** `to`: a registry repository or an OCI layout; a tag only when `from` names one image. */
function checkDestination(to: string, one: boolean, path: MirrorPath, invalid: Invalid): void {
  let spec: ReturnType<typeof parseDestination>;
  try {
    spec = parseDestination(to);
  } catch (e) {
    throw invalid(path, isImgdigestError(e) ? e.message : String(e));
  }
  if (spec.transport === 'registry' && spec.reference.digest) {
    throw invalid(path, `${to}: a destination is a repository (or REPO:TAG), not a digest`);
  }
  const tagged = spec.transport === 'registry' ? spec.reference.tag !== null : spec.tag !== undefined;
  if (tagged && !one) {
    throw invalid(
      path,
      `${to} names a tag, but from is a repository: each tag keeps its name (drop the tag)`,
    );
  }
}

function readOptions(
  raw: Record<string, unknown>,
  at: MirrorPath,
  allowed: string[],
  invalid: Invalid,
): Partial<MirrorEntry> {
  for (const key of Object.keys(raw))
    if (!allowed.includes(key)) throw invalid([...at, key], `unknown field (expected ${allowed.join(', ')})`);
  const out: Partial<MirrorEntry> = {};
  for (const key of ['tags', 'exclude', 'platforms'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) {
      throw invalid([...at, key], 'must be a non-empty list of non-empty strings');
    }
    out[key] = v as string[];
  }
  for (const key of ['tags', 'exclude'] as const) {
    out[key]?.forEach((glob, i) => {
      if (!isValidGlob(glob))
        throw invalid(
          [...at, key, i],
          `"${glob}" is not a valid glob (an unclosed [ or a trailing backslash)`,
        );
    });
  }
  out.platforms?.forEach((platform, i) => {
    try {
      parsePlatform(platform);
    } catch (e) {
      throw invalid([...at, 'platforms', i], (e as Error).message);
    }
  });
  if (raw.tagRegex !== undefined) {
    if (typeof raw.tagRegex !== 'string' || raw.tagRegex === '')
      throw invalid([...at, 'tagRegex'], 'must be a non-empty string (a regular expression)');
    try {
      new RegExp(raw.tagRegex);
    } catch (e) {
      throw invalid([...at, 'tagRegex'], (e as Error).message);
    }
    out.tagRegex = raw.tagRegex;
  }
  if (raw.referrers !== undefined) {
    if (typeof raw.referrers !== 'boolean') throw invalid([...at, 'referrers'], 'must be true or false');
    out.referrers = raw.referrers;
  }
  return out;
}

/** Whether a tag is chosen by an entry's patterns (globs, a whole-tag regex, exclusions). */
export function tagSelected(entry: Pick<MirrorEntry, 'tags' | 'tagRegex' | 'exclude'>, tag: string): boolean {
  const included =
    (!entry.tags && !entry.tagRegex) ||
    (entry.tags?.some((g) => pathMatch(g, tag)) ?? false) ||
    (entry.tagRegex !== undefined && new RegExp(`^(?:${entry.tagRegex})$`).test(tag));
  return included && !(entry.exclude?.some((g) => pathMatch(g, tag)) ?? false);
}

/** What happened to one tag (or digest) of a mirror entry. */
export interface MirrorOutcome {
  from: string;
  to: string;
  /** The tag or digest copied; empty when the entry failed before any (its tags could not be listed). */
  identifier: string;
  /** What was copied, as a person names it: `FROM:TAG` for a tag of a repository entry, else `FROM`. */
  source: string;
  /** `copied`: something was written (in a dry run: would be); `unchanged`: nothing needed writing. */
  status: 'copied' | 'unchanged' | 'failed';
  /** `DST:TAG@DIGEST` once known. */
  destination?: string;
  digest?: string;
  error?: string;
  result?: CopyResult;
}

export interface MirrorRunOptions {
  copier: Copier;
  /** Open a source (`from`), and a destination (`to` with a tag) for an entry. */
  openSource(input: string): Promise<ImageSource>;
  openDestination(to: string, tag: string | undefined): Promise<ImageDestination>;
  /** Copy every platform, whatever the entries' `platforms` say. */
  allPlatforms?: boolean;
  dryRun?: boolean;
  /** Tags of one entry handled at once (default 8; blob transfers are bounded by the copier). */
  concurrency?: number;
  signal?: AbortSignal;
  onOutcome?: (outcome: MirrorOutcome) => void;
  onEvent?: (event: CopyEvent) => void;
}

/** Run every entry; a failed tag or entry is recorded and the run goes on. */
export async function runMirror(config: MirrorConfig, options: MirrorRunOptions): Promise<MirrorOutcome[]> {
  const outcomes: MirrorOutcome[] = [];
  for (const entry of config.mirrors) {
    const found = options.allPlatforms ? { ...entry, platforms: undefined } : entry;
    let source: ImageSource | undefined;
    try {
      source = await options.openSource(entry.from);
      outcomes.push(...(await mirrorEntry(found, source, options)));
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const outcome: MirrorOutcome = {
        from: entry.from,
        to: entry.to,
        identifier: '',
        source: entry.from,
        status: 'failed',
        error: isImgdigestError(error) ? error.message : String(error),
      };
      options.onOutcome?.(outcome);
      outcomes.push(outcome);
    } finally {
      await source?.close?.();
    }
  }
  return outcomes;
}

/**
 * The tags (or the one tag or digest) an entry copies from its source; `listed` when they are tags
 * of a repository (or layout) chosen by the entry's patterns.
 */
async function identifiersOf(
  entry: MirrorEntry,
  source: ImageSource,
  signal?: AbortSignal,
): Promise<{ ids: string[]; listed: boolean }> {
  const spec = parseSourceSpec(entry.from);
  if (spec.transport === 'registry') {
    const named = spec.reference.digest ?? spec.reference.tag;
    if (named) return { ids: [named], listed: false };
  } else if (spec.transport === 'oci') {
    if (spec.tag) return { ids: [spec.tag], listed: false };
  } else {
    return { ids: [source.identifier], listed: false };
  }
  const tags = await source.tags(signal ? { signal } : {});
  return { ids: tags.filter((t) => ANCHORED_TAG_REGEXP.test(t) && tagSelected(entry, t)), listed: true };
}

async function mirrorEntry(
  entry: MirrorEntry,
  source: ImageSource,
  options: MirrorRunOptions,
): Promise<MirrorOutcome[]> {
  const { ids, listed } = await identifiersOf(entry, source, options.signal);
  const outcomes: MirrorOutcome[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const name = listed ? `${entry.from}:${ids[i]}` : entry.from;
      outcomes[i] = await mirrorOne(entry, source, ids[i]!, name, options);
      options.onOutcome?.(outcomes[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, ids.length) }, worker));
  return outcomes;
}

async function mirrorOne(
  entry: MirrorEntry,
  source: ImageSource,
  id: string,
  name: string,
  options: MirrorRunOptions,
): Promise<MirrorOutcome> {
  const signal = options.signal;
  const isDigest = id.includes(':');
  const outcome: MirrorOutcome = {
    from: entry.from,
    to: entry.to,
    identifier: id,
    source: name,
    status: 'failed',
  };
  try {
    const destination = await options.openDestination(entry.to, isDigest ? undefined : id);
    // The tag written: the destination's own (an entry for one image may rename it), else the source's.
    const tag = destination.tag ?? (isDigest ? undefined : id);
    const call = signal ? { signal } : {};
    const unchanged = (digest: string) => {
      outcome.status = 'unchanged';
      outcome.digest = digest;
      outcome.destination = destination.format(tag, digest as CopyResult['digest']);
      return outcome;
    };
    // HEADs first, both at once: the digest the destination should name, and what it names.
    const [wanted, there] = await Promise.all([
      entry.platforms?.length ? null : source.head(id, call).then((d) => d.digest),
      tag ? destination.tagDigest(tag, signal) : null,
    ]);
    if (
      wanted &&
      !entry.referrers &&
      (there === wanted || (!tag && (await destination.hasManifest(wanted, signal))))
    ) {
      return unchanged(wanted);
    }
    const plan = await planCopy(source, {
      identifier: id,
      platforms: entry.platforms,
      referrers: entry.referrers,
      ...call,
    });
    if (!entry.referrers && tag && there === plan.root.digest) return unchanged(plan.root.digest);
    const result = await options.copier.copyPlan(source, plan, destination, {
      identifier: id,
      tag,
      dryRun: options.dryRun,
      signal,
      onEvent: options.onEvent,
    });
    const wrote = result.blobs.sent + result.blobs.mounted + result.manifests.written > 0;
    outcome.status = wrote ? 'copied' : 'unchanged';
    outcome.digest = result.digest;
    outcome.destination = result.destination;
    outcome.result = result;
  } catch (error) {
    if (signal?.aborted) throw error;
    outcome.error = isImgdigestError(error) ? error.message : String(error);
  }
  return outcome;
}
