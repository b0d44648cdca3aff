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
import pLimit from 'p-limit';
import { type ErrorCode, ImgdigestError, isImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { Resolution, Resolver } from '../resolver/types.js';
import { combine } from './check.js';
import { nodeAt, type ParsedFile, parseFile, positionAt } from './documents.js';
import type { InputFile } from './inputs.js';
import { findImages, type ImageLocation, objectsIn } from './locations.js';
import type { PathSegment } from './paths.js';
import { hasDigest, isExempt, type ObjectMeta, objectMatches } from './policy.js';
import type { Rules } from './rules.js';
import { editableAt, editFile, type PlannedSplice, planEdit } from './yaml-edit.js';

export interface PinOptions {
  rules: Rules;
  resolver: Resolver;
  /** Resolutions in flight at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called as resolutions finish: progress for a TTY. */
  onProgress?: (done: number, total: number) => void;
}

/** Where an image was found. */
export interface PinSite {
  file: string;
  line: number;
  column: number;
  document: number;
  object: ObjectMeta;
  fieldPath: string;
  image: string;
  objectPath: PathSegment[];
}

/** One value rewritten. */
export interface PinChange extends PinSite {
  to: string;
  digest: string;
  /** True when the value is shared through an anchor (edited once, at the anchor). */
  shared: boolean;
}

/** Something left alone, with why (not an error). */
export interface PinNote {
  file: string;
  /** Path of the object from the document root (`['items', 2]` in a List). */
  objectPath?: PathSegment[];
  line: number;
  image: string;
  reason: string;
}

/** A failure: nothing is written when there is any. */
export interface PinFailure {
  file: string;
  objectPath?: PathSegment[];
  line: number;
  image: string;
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

interface Candidate {
  site: PinSite;
  ref: Reference;
  key: string;
  file: ParsedFile;
  location: ImageLocation;
}

/** Pin already-read files. Throws `YAML_INVALID` (listing every bad file) before resolving anything. */
export async function pinFiles(inputs: readonly InputFile[], options: PinOptions): Promise<PinResult> {
  const { rules } = options;
  const parsed: ParsedFile[] = [];
  const yamlErrors: ImgdigestError[] = [];
  for (const f of inputs) {
    try {
      parsed.push(parseFile(f.path, f.text));
    } catch (e) {
      if (isImgdigestError(e)) yamlErrors.push(e);
      else throw e;
    }
  }
  if (yamlErrors.length > 0) throw combine(yamlErrors);

  const notes: PinNote[] = [];
  const failures: PinFailure[] = [];
  const candidates: Candidate[] = [];
  for (const file of parsed) {
    for (const d of file.docs) {
      for (const obj of objectsIn(d.value)) {
        if (!objectMatches(obj.meta, rules)) continue;
        for (const location of findImages(obj, rules.imageLocations)) {
          const { line, column } = positionAt(file, d.doc, location.path);
          const image = String(location.image);
          const where = { file: file.path, line, image, objectPath: obj.path };
          if (typeof location.image !== 'string') {
            notes.push({ ...where, reason: 'not a string, left alone' });
            continue;
          }
          if (hasDigest(image) || isExempt(image, rules.exemptImages)) continue;
          if (TEMPLATED.test(image)) {
            notes.push({ ...where, reason: 'not a literal reference (template or variable), left alone' });
            continue;
          }
          const editable = editableAt(d.doc, location.path);
          if ('refused' in editable) {
            notes.push({ ...where, reason: editable.refused });
            continue;
          }
          let ref: Reference;
          try {
            ref = parseReference(image);
          } catch (e) {
            failures.push({ ...where, reason: messageOf(e), code: codeOf(e) });
            continue;
          }
          const site: PinSite = {
            ...where,
            column,
            document: d.index,
            object: obj.meta,
            fieldPath: location.fieldPath,
          };
          const key = `${ref.canonical}|${rules.platform ?? ''}`;
          candidates.push({ site, ref, key, file, location });
        }
      }
    }
  }

  const resolved = await resolveAll(candidates, options, failures);
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
      const resolution = resolved.get(c.key)!.resolution;
      const to = pinnedValue(c.site.image, c.ref, resolution.digest, rules.dropTag);
      const doc = c.file.docs[c.site.document]!.doc;
      const plan = planEdit(doc, { document: c.site.document, path: c.location.path, value: to });
      if ('refused' in plan) {
        notes.push({ ...noteBase(c.site), reason: plan.refused });
        continue;
      }
      const shared = nodeAt(doc, c.location.path)?.shared ?? false;
      if (shared)
        notes.push({
          ...noteBase(c.site),
          reason: 'reached through an alias or merge key: edited once, at its anchor',
        });
      changes.push({ ...c.site, to, digest: resolution.digest, shared });
      byFile.set(c.file, [...(byFile.get(c.file) ?? []), plan]);
    }
    for (const [file, splices] of byFile) {
      const out = files[parsed.indexOf(file)]!;
      out.text = editFile(file, splices);
      out.changed = out.text !== out.original;
    }
  }
  const byPlace = (a: { file: string; line: number }, b: { file: string; line: number }) =>
    a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1;
  changes.sort(byPlace);
  notes.sort(byPlace);
  return { files, changes, notes, failures, resolutions: [...resolved.values()] };
}

async function resolveAll(
  candidates: readonly Candidate[],
  options: PinOptions,
  failures: PinFailure[],
): Promise<Map<string, PinResolution>> {
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) groups.set(c.key, [...(groups.get(c.key) ?? []), c]);
  const limit = pLimit(options.concurrency ?? 8);
  const out = new Map<string, PinResolution>();
  let done = 0;
  await Promise.all(
    [...groups].map(([key, group]) =>
      limit(async () => {
        const first = group[0]!;
        try {
          const resolveOptions: { platform?: string; signal?: AbortSignal } = {};
          if (options.rules.platform) resolveOptions.platform = options.rules.platform;
          if (options.signal) resolveOptions.signal = options.signal;
          const resolution = await options.resolver.resolve(first.ref, resolveOptions);
          out.set(key, { resolution, sites: group.map((c) => c.site) });
        } catch (e) {
          for (const c of group)
            failures.push({ ...noteBase(c.site), reason: messageOf(e), code: codeOf(e) });
        } finally {
          options.onProgress?.(++done, groups.size);
        }
      }),
    ),
  );
  failures.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return out;
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

function noteBase(site: PinSite): { file: string; line: number; image: string; objectPath: PathSegment[] } {
  return { file: site.file, line: site.line, image: site.image, objectPath: site.objectPath };
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function codeOf(e: unknown): ErrorCode | 'UNKNOWN' {
  return isImgdigestError(e) ? e.code : 'UNKNOWN';
}

/** `file:line: image: reason`, one per failure. */
export function formatFailure(f: PinFailure | PinNote): string {
  return `${f.file}:${f.line}: ${f.image}: ${f.reason}`;
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
