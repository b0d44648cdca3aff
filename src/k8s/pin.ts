/**
 * @module k8s/pin
 * The pin engine: find every image without a digest, resolve each unique reference once
 * (concurrently) through the `Resolver` it is handed, and splice `name:tag@digest` into the
 * original text.
 *
 * All or nothing: when any image fails to resolve, no file text changes and every failure is
 * listed (`file:line: image: reason`), as kbld does. Values that are not literal references (Helm
 * `{{ }}`, `${VAR}`, `$(VAR)`), block scalars and non-string values are reported and left alone.
 */
import { type ErrorCode, ImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { Resolution, Resolver } from '../resolver/types.js';
import { isViolation } from './check.js';
import { nodeAt, type ParsedFile, parseFiles } from './documents.js';
import type { InputFile } from './inputs.js';
import { codeOf, reasonOf, resolveEach } from './resolve.js';
import type { Rules } from './rules.js';
import { byFileAndLine, type FileSite, formatSite, type ImageSite, walkSites } from './sites.js';
import { editableAt, editFile, type PlannedSplice, planEdit } from './yaml-edit.js';

export interface PinOptions {
  rules: Rules;
  /**
   * Answers every unique reference; all are asked at once, so the resolver is what bounds
   * concurrency (`openResolver` limits per registry; see its `concurrency`).
   */
  resolver: Resolver;
  /** @deprecated Ignored: the resolver bounds concurrency (`openResolver`'s `concurrency`). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called as resolutions finish: progress for a TTY. */
  onProgress?: (done: number, total: number) => void;
}

/** Where an image was found (pin only looks at string values). */
export interface PinSite extends ImageSite {
  image: string;
}

/** One value rewritten. */
export interface PinChange extends PinSite {
  to: string;
  digest: string;
  /** True when the value is shared through an anchor (edited once, at the anchor). */
  shared: boolean;
}

/** Something left alone, with why (not an error). A value that is not a string is given as text. */
export interface PinNote extends PinSite {
  reason: string;
}

/** A failure: nothing is written when there is any. */
export interface PinFailure extends PinSite {
  reason: string;
  code: ErrorCode | 'UNKNOWN';
}

export interface PinnedFile {
  path: string;
  original: string;
  text: string;
  changed: boolean;
  mode?: number;
}

/** A unique resolution and everywhere its reference was found. */
export interface PinResolution {
  resolution: Resolution;
  sites: PinSite[];
}

export interface PinResult {
  files: PinnedFile[];
  changes: PinChange[];
  notes: PinNote[];
  failures: PinFailure[];
  resolutions: PinResolution[];
}

const TEMPLATED = /\{\{|\$\{|\$\(/;

interface Candidate extends FileSite {
  site: PinSite;
  ref: Reference;
  /** What identifies one resolution: the canonical reference and the platform. */
  key: string;
}

/**
 * Pin already-read files. Throws `YAML_INVALID` (listing every bad file) before resolving anything.
 * Each unique reference is asked of `options.resolver` once, all at the same time: the resolver
 * bounds how many are in flight (one from `openResolver` does, per registry).
 */
export async function pinFiles(inputs: readonly InputFile[], options: PinOptions): Promise<PinResult> {
  const { rules, resolver, signal, onProgress } = options;
  const parsed = parseFiles(inputs);
  const notes: PinNote[] = [];
  const failures: PinFailure[] = [];
  const candidates = candidatesOf(parsed, rules, notes, failures);

  // Each unique reference is resolved once, for every candidate that names it.
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) groups.set(c.key, [...(groups.get(c.key) ?? []), c]);
  const answers = await resolveEach(new Map([...groups].map(([key, group]) => [key, group[0]!.ref])), {
    resolver,
    platform: rules.platform,
    signal,
    onProgress,
  });
  const resolved = new Map<string, PinResolution>();
  for (const [key, group] of groups) {
    const answer = answers.get(key)!;
    if (answer.status === 'fulfilled') {
      resolved.set(key, { resolution: answer.value, sites: group.map((c) => c.site) });
    } else {
      const reason = reasonOf(answer.reason);
      for (const c of group) failures.push({ ...c.site, reason, code: codeOf(answer.reason) });
    }
  }
  failures.sort(byFileAndLine);

  const files = parsed.map((f, i) => ({
    path: f.path,
    original: f.text,
    text: f.text,
    changed: false,
    mode: inputs[i]?.mode,
  }));
  const changes: PinChange[] = [];
  if (failures.length === 0) {
    const byFile = new Map<ParsedFile, PlannedSplice[]>();
    for (const c of candidates) {
      const { digest } = resolved.get(c.key)!.resolution;
      const to = pinnedValue(c.site.image, c.ref, digest, rules.dropTag);
      const plan = planEdit(c.doc, { document: c.site.document, path: c.path, value: to });
      if ('refused' in plan) {
        notes.push({ ...c.site, reason: plan.refused });
        continue;
      }
      const shared = nodeAt(c.doc, c.path)?.shared ?? false;
      if (shared) notes.push({ ...c.site, reason: SHARED_NOTE });
      changes.push({ ...c.site, to, digest, shared });
      byFile.set(c.source, [...(byFile.get(c.source) ?? []), plan]);
    }
    for (const [file, splices] of byFile) {
      const out = files[parsed.indexOf(file)]!;
      out.text = editFile(file, splices);
      out.changed = out.text !== out.original;
    }
  }
  changes.sort(byFileAndLine);
  notes.sort(byFileAndLine);
  return { files, changes, notes, failures, resolutions: [...resolved.values()] };
}

const SHARED_NOTE = 'reached through an alias or merge key: edited once, at its anchor';

/**
 * The sites pin will resolve and edit, in walk order; what it leaves alone goes to `notes`
 * (not a string, templated, not editable), what is not a reference to `failures`.
 */
function candidatesOf(
  parsed: readonly ParsedFile[],
  rules: Rules,
  notes: PinNote[],
  failures: PinFailure[],
): Candidate[] {
  const candidates: Candidate[] = [];
  for (const found of walkSites(parsed, rules)) {
    const site: PinSite = { ...found.site, image: String(found.site.image) };
    if (typeof found.site.image !== 'string') {
      notes.push({ ...site, reason: 'not a string, left alone' });
      continue;
    }
    if (!isViolation(site, rules)) continue;
    if (TEMPLATED.test(site.image)) {
      notes.push({ ...site, reason: 'not a literal reference (template or variable), left alone' });
      continue;
    }
    const editable = editableAt(found.doc, found.path);
    if ('refused' in editable) {
      notes.push({ ...site, reason: editable.refused });
      continue;
    }
    try {
      const ref = parseReference(site.image);
      candidates.push({ ...found, site, ref, key: `${ref.canonical}|${rules.platform ?? ''}` });
    } catch (e) {
      failures.push({ ...site, reason: reasonOf(e), code: codeOf(e) });
    }
  }
  return candidates;
}

/**
 * The pinned form of an image as written: `original@digest` (tag kept), or with `dropTag` the
 * original without its `:tag` (`repo@digest`). The repository is never normalised.
 */
export function pinnedValue(original: string, ref: Reference, digest: string, dropTag: boolean): string {
  if (dropTag && ref.tag !== null && original.endsWith(`:${ref.tag}`)) {
    return `${original.slice(0, -(ref.tag.length + 1))}@${digest}`;
  }
  return `${original}@${digest}`;
}

/** `file:line: image: reason`, one per failure. */
export function formatFailure(f: PinFailure | PinNote): string {
  return `${formatSite(f, 'file:line')}: ${f.image}: ${f.reason}`;
}

/**
 * The error that ends a failed pin run: the most common code among the failures (LOCK_MISSING when
 * any image is missing from a lock), every failure listed in the message after the first line.
 */
export function failureError(failures: readonly PinFailure[]): ImgdigestError {
  const codes = failures.map((f) => f.code);
  const code: ErrorCode = codes.includes('LOCK_MISSING')
    ? 'LOCK_MISSING'
    : codes.every((c) => c !== 'UNKNOWN' && c === codes[0])
      ? (codes[0] as ErrorCode)
      : 'REGISTRY_ERROR';
  const what = code === 'LOCK_MISSING' ? 'missing from the lock' : 'could not be pinned';
  return new ImgdigestError(
    code,
    `${failures.length} image${failures.length === 1 ? '' : 's'} ${what}, nothing written`,
    {
      details: { failures: failures.map(formatFailure) },
    },
  );
}
