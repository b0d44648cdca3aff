/**
 * @module sources/copy/mirror
 * `ImageMirror`: a list of sources and destinations kept in step, as skopeo sync and regsync do,
 * and idempotently: a tag whose digest at the destination already equals the source's is left
 * alone, so a second run sends nothing (only HEAD requests, and GETs of indexes narrowed to some
 * platforms, whose new digest must be computed to be compared).
 *
 * The file (YAML or JSON; the CLI parses it, this module checks the value):
 * ```yaml
 * apiVersion: imgdigest.dev/v1alpha1
 * kind: ImageMirror
 * defaults:                       # optional, for every entry
 *   platforms: [linux/amd64]      # keep these platforms (default: every one, digests kept)
 *   referrers: false              # copy signatures, SBOMs, attestations too
 * mirrors:
 *   - from: registry.example/team/app   # a repository (its tags), or one tag or digest
 *     to: mirror.example/team/app       # a registry repository
 *     tags: ["1.*", latest]             # globs (path.Match: *, ?, [a-z]); default: every tag
 *     tagRegex: '^1\.[0-9]+$'           # or an anchored regular expression (JavaScript syntax)
 *     exclude: ["*-rc*"]                # globs taken out again
 *     platforms: [linux/amd64, linux/arm64]
 *     referrers: true
 * ```
 */
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import { pathMatch } from '../../core/glob.js';
import { parsePlatform } from '../../core/platform.js';
import { ANCHORED_TAG_REGEXP } from '../../core/reference.js';
import { parseSourceSpec } from '../open.js';
import type { ImageSource } from '../source.js';
import type { Copier, CopyEvent, CopyResult } from './copier.js';
import type { ImageDestination } from './destination.js';
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
}

export interface MirrorConfig {
  mirrors: MirrorEntry[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(where: string, why: string): ImgdigestError {
  return new ImgdigestError('INPUT_INVALID', `${where}: ${why}`, { details: { where } });
}

const ENTRY_KEYS = ['from', 'to', 'tags', 'tagRegex', 'exclude', 'platforms', 'referrers'];
const DEFAULT_KEYS = ['tags', 'tagRegex', 'exclude', 'platforms', 'referrers'];

/** Check a parsed ImageMirror document; `source` names the file in messages. */
export function parseMirrorConfig(value: unknown, source: string): MirrorConfig {
  if (!isRecord(value)) throw invalid(source, `expected a mapping with kind ${MIRROR_KIND}`);
  if (value.apiVersion !== MIRROR_API_VERSION)
    throw invalid(source, `apiVersion must be ${MIRROR_API_VERSION}`);
  if (value.kind !== MIRROR_KIND) throw invalid(source, `kind must be ${MIRROR_KIND}`);
  for (const key of Object.keys(value)) {
    if (!['apiVersion', 'kind', 'defaults', 'mirrors'].includes(key))
      throw invalid(`${source}: ${key}`, 'unknown field');
  }
  const defaults = value.defaults === undefined ? {} : value.defaults;
  if (!isRecord(defaults)) throw invalid(`${source}: defaults`, 'must be a mapping');
  const base = readOptions(defaults, `${source}: defaults`, DEFAULT_KEYS);
  if (!Array.isArray(value.mirrors) || value.mirrors.length === 0) {
    throw invalid(`${source}: mirrors`, 'must be a non-empty list of {from, to}');
  }
  const mirrors = value.mirrors.map((raw, i) => {
    const where = `${source}: mirrors[${i}]`;
    if (!isRecord(raw)) throw invalid(where, 'must be a mapping with from and to');
    for (const key of ['from', 'to']) {
      if (typeof raw[key] !== 'string' || raw[key] === '')
        throw invalid(`${where}.${key}`, 'must be a non-empty string');
    }
    const own = readOptions(raw, where, ENTRY_KEYS);
    const entry: MirrorEntry = { ...base, ...own, from: raw.from as string, to: raw.to as string };
    if (own.tags || own.tagRegex) {
      // The entry's own tag choice replaces the defaults' (globs and a regex do not add up).
      if (!own.tags) delete entry.tags;
      if (!own.tagRegex) delete entry.tagRegex;
    }
    return entry;
  });
  return { mirrors };
}

function readOptions(raw: Record<string, unknown>, where: string, allowed: string[]): Partial<MirrorEntry> {
  for (const key of Object.keys(raw))
    if (!allowed.includes(key)) throw invalid(`${where}.${key}`, 'unknown field');
  const out: Partial<MirrorEntry> = {};
  for (const key of ['tags', 'exclude', 'platforms'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
      throw invalid(`${where}.${key}`, 'must be a list of non-empty strings');
    }
    out[key] = v as string[];
  }
  for (const platform of out.platforms ?? []) {
    try {
      parsePlatform(platform);
    } catch (e) {
      throw invalid(`${where}.platforms`, (e as Error).message);
    }
  }
  if (raw.tagRegex !== undefined) {
    if (typeof raw.tagRegex !== 'string') throw invalid(`${where}.tagRegex`, 'must be a string');
    try {
      new RegExp(raw.tagRegex);
    } catch (e) {
      throw invalid(`${where}.tagRegex`, (e as Error).message);
    }
    out.tagRegex = raw.tagRegex;
  }
  if (raw.referrers !== undefined) {
    if (typeof raw.referrers !== 'boolean') throw invalid(`${where}.referrers`, 'must be true or false');
    out.referrers = raw.referrers;
  }
  return out;
}

/** Whether a tag is chosen by an entry's patterns (globs, an anchored regex, exclusions). */
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
  /** The tag, or the digest for an entry that names one. */
  identifier: string;
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
  dryRun?: boolean;
  /** Tags of one entry handled at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  onOutcome?: (outcome: MirrorOutcome) => void;
  onEvent?: (event: CopyEvent) => void;
}

/** Run every entry; a failed tag is recorded and the run goes on. */
export async function runMirror(config: MirrorConfig, options: MirrorRunOptions): Promise<MirrorOutcome[]> {
  const outcomes: MirrorOutcome[] = [];
  for (const entry of config.mirrors) {
    const source = await options.openSource(entry.from);
    try {
      for (const outcome of await mirrorEntry(entry, source, options)) outcomes.push(outcome);
    } finally {
      await source.close?.();
    }
  }
  return outcomes;
}

/** The tags (or the one tag or digest) an entry copies from its source. */
async function identifiersOf(
  entry: MirrorEntry,
  source: ImageSource,
  signal?: AbortSignal,
): Promise<string[]> {
  const spec = parseSourceSpec(entry.from);
  if (spec.transport === 'registry') {
    const named = spec.reference.digest ?? spec.reference.tag;
    if (named) return [named];
  } else if (spec.transport === 'oci') {
    if (spec.tag) return [spec.tag];
  } else {
    return [source.identifier];
  }
  const tags = await source.tags(signal ? { signal } : {});
  return tags.filter((t) => ANCHORED_TAG_REGEXP.test(t) && tagSelected(entry, t));
}

async function mirrorEntry(
  entry: MirrorEntry,
  source: ImageSource,
  options: MirrorRunOptions,
): Promise<MirrorOutcome[]> {
  const signal = options.signal;
  const ids = await identifiersOf(entry, source, signal);
  const outcomes: MirrorOutcome[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      outcomes[i] = await mirrorOne(entry, source, ids[i]!, options);
      options.onOutcome?.(outcomes[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, ids.length) }, worker));
  return outcomes;
}

async function mirrorOne(
  entry: MirrorEntry,
  source: ImageSource,
  id: string,
  options: MirrorRunOptions,
): Promise<MirrorOutcome> {
  const signal = options.signal;
  const isDigest = id.includes(':');
  const outcome: MirrorOutcome = { from: entry.from, to: entry.to, identifier: id, status: 'failed' };
  try {
    const destination = await options.openDestination(entry.to, isDigest ? undefined : id);
    const tag = isDigest ? undefined : id;
    const call = signal ? { signal } : {};
    // HEAD first: the digest the destination should name, against what it names.
    const wanted = entry.platforms?.length ? null : (await source.head(id, call)).digest;
    const there = tag ? await destination.tagDigest(tag, signal) : null;
    if (
      wanted &&
      !entry.referrers &&
      (there === wanted || (!tag && (await destination.hasManifest(wanted, signal))))
    ) {
      outcome.status = 'unchanged';
      outcome.digest = wanted;
      outcome.destination = destination.format(tag, wanted);
      return outcome;
    }
    const plan = await planCopy(source, {
      identifier: id,
      platforms: entry.platforms,
      referrers: entry.referrers,
      ...call,
    });
    if (!entry.referrers && tag && there === plan.root.digest) {
      outcome.status = 'unchanged';
      outcome.digest = plan.root.digest;
      outcome.destination = destination.format(tag, plan.root.digest);
      return outcome;
    }
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
