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
import { resolve } from 'node:path';
import type { Document } from 'yaml';
import { type ErrorCode, ImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { FileChange, FileIdentity } from '../core/write.js';
import type { Resolution, Resolver } from '../resolver/types.js';
import { isViolation } from './check.js';
import { nodeAt, visitFiles } from './documents.js';
import type { InputFile } from './inputs.js';
import type { ImageParts } from './locations.js';
import type { PathSegment } from './paths.js';
import { isExempt } from './policy.js';
import { codeOf, reasonOf, resolveEach } from './resolve.js';
import type { Rules } from './rules.js';
import { byFileAndLine, fileSites, formatSite, type ImageSite, type WalkStats } from './sites.js';
import { editableAt, editText, encodeScalar, insertionAfter, type Splice, type Style } from './yaml-edit.js';

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
  /**
   * What to do with `name:tag@digest` images: leave them alone (default), `update` their digest
   * when the tag now resolves to another one (as well as pinning the rest), or `only-update` (pin
   * nothing new: `outdated --write`). The digest is replaced byte for byte, nothing else moves.
   */
  update?: 'update' | 'only-update';
}

/** Where an image was found (pin only looks at string values). */
export interface PinSite extends ImageSite {
  image: string;
}

/** One value rewritten. */
export interface PinChange extends PinSite {
  to: string;
  digest: string;
  /** The digest the image was pinned to, when an update replaced it (`--update`). */
  previous?: string;
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
  /** The text as read. Made when asked for (read again from disk): keep it in a local. */
  readonly original: string;
  /** The pinned text (`original` when nothing changed). Made when asked for: keep it in a local. */
  readonly text: string;
  changed: boolean;
  /** Standard input: printed, never written back. */
  stdin?: boolean;
  /** No Kubernetes object and no image path in it (a Chart.yaml, random YAML): not printed. */
  skipped?: boolean;
  mode?: number;
  /** The file as it was read (see {@link InputFile.identity}): a writer refuses one that changed since. */
  identity?: FileIdentity;
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
  /** With `update`: `name:tag@digest` images compared with their tag, and those pinned without a tag. */
  pinned: { checked: number; untagged: number };
}

const TEMPLATED = /\{\{|\$\{|\$\(/;

/**
 * An image to resolve and where to write its pinned form: plain facts only (offsets into the
 * file's text, the quote style), so no YAML document is kept while the resolver works.
 */
interface Candidate {
  site: PinSite;
  ref: Reference;
  /** What identifies one resolution: the canonical reference and the platform. */
  key: string;
  /** Index of the file in the inputs. */
  file: number;
  /** Source range of the scalar token that holds the value (the anchor's, for an alias). */
  start: number;
  end: number;
  style: Style;
  /** True when the value is reached through an alias or merge key. */
  shared: boolean;
  /** For an update: the digest pinned now. */
  previous?: string;
  /**
   * When the digest alone is written (an update, or the `digest` of an image in parts): what goes
   * before and after it in the new text of `start`..`end`.
   */
  around?: [string, string];
  /** Where a `digest:` key is added: its document and path (to verify the edit by value). */
  expect?: { document: number; path: readonly PathSegment[] };
}

/**
 * Pin already-read files. Throws `YAML_INVALID` (listing every bad file) before resolving anything.
 * Each unique reference is asked of `options.resolver` once, all at the same time: the resolver
 * bounds how many are in flight (one from `openResolver` does, per registry).
 *
 * Files are read one YAML document at a time and only the positions of the values to edit are
 * kept (a file's text is read again when its edits are made, written or printed), so memory is a
 * small multiple of the largest file plus a small record per image site.
 */
export async function pinFiles(inputs: readonly InputFile[], options: PinOptions): Promise<PinResult> {
  const { rules, resolver, signal, onProgress } = options;
  const notes: PinNote[] = [];
  const failures: PinFailure[] = [];
  const pinned = { checked: 0, untagged: 0 };
  const skipped = new Set<number>();
  const candidates = candidatesOf(inputs, rules, {
    notes,
    failures,
    pinned,
    skipped,
    update: options.update,
  });

  // Each unique reference is resolved once, for every candidate that names it.
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const group = groups.get(c.key);
    if (group) group.push(c);
    else groups.set(c.key, [c]);
  }
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

  const byFile = new Map<number, Splice[]>();
  const files: PinnedFile[] = inputs.map((f, i) => pinnedFile(f, () => byFile.get(i), skipped.has(i)));
  const changes: PinChange[] = [];
  if (failures.length === 0) {
    // The same image pinned at many sites shares one new value (and one written form per style).
    const written = new Map<string, { to: string; text: string | undefined }>();
    for (const c of candidates) {
      const { digest } = resolved.get(c.key)!.resolution;
      if (c.around) {
        // The digest alone is written: an update, or the `digest` of an image in parts.
        if (digest === c.previous) continue; // still current
        const { image } = c.site;
        const at = c.previous === undefined ? -1 : image.lastIndexOf(c.previous);
        const to =
          at < 0 ? `${image}@${digest}` : image.slice(0, at) + digest + image.slice(at + c.previous!.length);
        changes.push(changeOf(c.site, to, digest, c.shared, c.previous));
        const [before, after] = c.around;
        const text = before + digest + after;
        const expect = c.expect ? { expect: { ...c.expect, value: digest } } : {};
        pushSplice(byFile, c.file, { start: c.start, end: c.end, text, ...expect });
        continue;
      }
      const writtenKey = `${c.style}|${c.site.image}`;
      let w = written.get(writtenKey);
      if (!w) {
        const to = pinnedValue(c.site.image, c.ref, digest, rules.dropTag);
        w = { to, text: encodeScalar(to, c.style) };
        written.set(writtenKey, w);
      }
      const { to, text } = w;
      if (text === undefined) {
        notes.push({ ...c.site, reason: `cannot write "${to}" as a ${c.style} scalar` });
        continue;
      }
      if (c.shared) notes.push({ ...c.site, reason: SHARED_NOTE });
      changes.push(changeOf(c.site, to, digest, c.shared));
      pushSplice(byFile, c.file, { start: c.start, end: c.end, text });
    }
    // Every edit is made (and verified) now, one file at a time; the texts are made again when
    // they are written or printed, so no file's text outlives its turn.
    for (const [i, splices] of byFile) {
      const original = inputs[i]!.text;
      files[i]!.changed = editText(files[i]!.path, original, splices) !== original;
    }
  }
  changes.sort(byFileAndLine);
  notes.sort(byFileAndLine);
  return { files, changes, notes, failures, resolutions: [...resolved.values()], pinned };
}

/**
 * A file's pin result whose `original` and `text` are made when asked for (the input's text, read
 * again, and the splices applied to it): pinning 100,000 documents keeps positions, not texts.
 */
function pinnedFile(f: InputFile, splices: () => Splice[] | undefined, skipped: boolean): PinnedFile {
  const out: PinnedFile = {
    path: f.path,
    get original() {
      return f.text;
    },
    get text() {
      const original = f.text;
      const edits = splices();
      return edits && out.changed ? editText(f.path, original, edits) : original;
    },
    changed: false,
  };
  if (f.mode !== undefined) out.mode = f.mode;
  if (f.identity) out.identity = f.identity;
  if (f.stdin) out.stdin = true;
  if (skipped) out.skipped = true;
  return out;
}

/**
 * A change, its fields written out rather than spread from the site: V8 gave each object made by
 * `{ ...site, to, digest }` a hidden class of its own (some 340 bytes each; 20 MB at 60,000 changes).
 */
function changeOf(site: PinSite, to: string, digest: string, shared: boolean, previous?: string): PinChange {
  const change: PinChange = {
    file: site.file,
    line: site.line,
    column: site.column,
    document: site.document,
    object: site.object,
    objectPath: site.objectPath,
    field: site.field,
    fieldPath: site.fieldPath,
    name: site.name,
    image: site.image,
    to,
    digest,
    shared,
  };
  if (site.parts) change.parts = site.parts;
  if (previous) change.previous = previous;
  return change;
}

function pushSplice(byFile: Map<number, Splice[]>, file: number, splice: Splice): void {
  const list = byFile.get(file);
  if (list) list.push(splice);
  else byFile.set(file, [splice]);
}

const SHARED_NOTE = 'reached through an alias or merge key: edited once, at its anchor';

/**
 * The sites pin will resolve and edit, in walk order, read document by document; what it leaves
 * alone goes to `notes` (not a string, templated, not editable), what is not a reference to
 * `failures`. Throws one `YAML_INVALID` naming every file that does not parse.
 */
function candidatesOf(
  inputs: readonly InputFile[],
  rules: Rules,
  out: {
    notes: PinNote[];
    failures: PinFailure[];
    pinned: PinResult['pinned'];
    /** Receives the index of each file with no Kubernetes object and no image path. */
    skipped: Set<number>;
    update: PinOptions['update'];
  },
): Candidate[] {
  const { notes, failures, pinned, update } = out;
  const candidates: Candidate[] = [];
  const refs = new Map<string, { ref: Reference; key: string } | Error>();
  const tags = new Map<string, Reference>();
  visitFiles(inputs, (source, file) => {
    const stats: WalkStats = { files: 0, documents: 0, objects: 0, skippedDocuments: 0 };
    let sites = 0;
    for (const found of fileSites([source], rules, stats)) {
      sites++;
      const site: PinSite = { ...found.site, image: String(found.site.image) };
      if (typeof found.site.image !== 'string') {
        const why = site.parts
          ? 'the tag is not a string (quote it), left alone'
          : 'not a string, left alone';
        notes.push({ ...site, reason: why });
        continue;
      }
      const violation = isViolation(site, rules);
      if (violation ? update === 'only-update' : !update || isExempt(site.image, rules.exemptImages))
        continue;
      if (TEMPLATED.test(site.image)) {
        notes.push({ ...site, reason: 'not a literal reference (template or variable), left alone' });
        continue;
      }
      if (site.parts && violation && !site.parts.tag) {
        notes.push({ ...site, reason: 'no tag to resolve, left alone' });
        continue;
      }
      // Where the digest goes: the scalar, or for an image in parts its `digest` key.
      const place = site.parts
        ? partsPlace(found.doc, source.text, site.parts, violation)
        : scalarPlace(found);
      if ('refused' in place) {
        notes.push({ ...site, reason: place.refused });
        continue;
      }
      // One parse per distinct value: thousands of sites usually name a few images.
      let parsed = refs.get(site.image);
      if (parsed === undefined) {
        try {
          const ref = parseReference(site.image);
          parsed = { ref, key: `${ref.canonical}|${rules.platform ?? ''}` };
        } catch (e) {
          parsed = e as Error;
        }
        refs.set(site.image, parsed);
      }
      if (parsed instanceof Error) {
        // A pinned value that is not a valid reference is check's business, not the update's.
        if (violation) failures.push({ ...site, reason: reasonOf(parsed), code: codeOf(parsed) });
        continue;
      }
      const { start, end, style, shared } = place;
      // Only an added key keeps its path: a small record per site, whatever the size of the file.
      const expect = start === end ? { expect: { document: site.document, path: place.path } } : {};
      if (violation) {
        const { ref, key } = parsed;
        const around = 'around' in place ? place.around : undefined;
        candidates.push({
          site,
          ref,
          key,
          file,
          start,
          end,
          style,
          shared,
          ...expect,
          ...(around ? { around } : {}),
        });
        continue;
      }
      // Pinned: compare with what its tag resolves to now (`update`).
      const { ref } = parsed.ref.digest ? parsed : { ref: undefined };
      if (!ref?.digest) continue;
      if (ref.tag === null) {
        pinned.untagged++;
        continue;
      }
      pinned.checked++;
      const at = place.source.lastIndexOf(ref.digest);
      if (at < 0) {
        notes.push({ ...site, reason: 'digest written with escapes, left alone' });
        continue;
      }
      const tag = tags.get(parsed.key) ?? ref.withoutDigest();
      tags.set(parsed.key, tag);
      candidates.push({
        site,
        ref: tag,
        key: `${tag.canonical}|${rules.platform ?? ''}`,
        file,
        start,
        end,
        style,
        shared,
        previous: ref.digest,
        around: [place.source.slice(0, at), place.source.slice(at + ref.digest.length)],
      });
    }
    if (stats.objects === 0 && sites === 0) out.skipped.add(file);
  });
  return candidates;
}

/** Where a pin or an update writes: a scalar's token, or (`start === end`) where a key is added. */
type Place =
  | {
      start: number;
      end: number;
      style: Style;
      shared: boolean;
      /** The token as written ('' where a key is added). */
      source: string;
      /** Path of the value written, from the document root. */
      path: readonly PathSegment[];
      /** For a digest written on its own: what goes before and after it. */
      around?: [string, string];
    }
  | { refused: string };

/** The scalar that holds a whole reference. */
function scalarPlace(found: { doc: Document.Parsed; path: PathSegment[] }): Place {
  const editable = editableAt(found.doc, found.path);
  if ('refused' in editable) return editable;
  const { token, style } = editable;
  return {
    start: token.offset,
    end: token.offset + token.source.length,
    style,
    shared: nodeAt(found.doc, found.path)?.shared ?? false,
    source: token.source,
    path: found.path,
  };
}

/**
 * The `digest` of an image in parts: its scalar when there is one (`digest: ""` is filled in
 * place, in its quotes), or a new `digest:` key after the tag when the mapping has none.
 */
function partsPlace(doc: Document.Parsed, text: string, parts: ImageParts, violation: boolean): Place {
  const existing = nodeAt(doc, parts.digestPath);
  if (existing) {
    const editable = editableAt(doc, parts.digestPath);
    if ('refused' in editable || editable.token.source === '') {
      return { refused: 'digest: has no value to fill in (write digest: "" to have it filled), left alone' };
    }
    const { token, style } = editable;
    const quote = style === 'double' ? '"' : style === 'single' ? "'" : '';
    const place = {
      start: token.offset,
      end: token.offset + token.source.length,
      style,
      shared: existing.shared,
      source: token.source,
      path: parts.digestPath,
    };
    // An empty digest is replaced whole; a pinned one (an update) keeps all but its digest.
    return violation ? { ...place, around: [quote, quote] } : place;
  }
  if (!violation || !parts.tagPath) return { refused: 'no digest to update' };
  const spot = insertionAfter(doc, text, parts.tagPath, 'digest');
  if ('refused' in spot) return spot;
  const quote = spot.flow ? '"' : '';
  return {
    start: spot.at,
    end: spot.at,
    style: spot.flow ? 'double' : 'plain',
    shared: false,
    source: '',
    path: parts.digestPath,
    around: [spot.prefix + quote, quote],
  };
}

/**
 * What `pin --write` changes: every changed file read from disk (not stdin), as the input to
 * `writeFilesAtomically`, refused there if it changed since it was read or (with `within`, the
 * tree of the inputs' `roots`) if it resolves out of the tree.
 */
export function pinnedChanges(
  files: readonly PinnedFile[],
  options: { cwd?: string; within?: readonly string[] } = {},
): FileChange[] {
  return files
    .filter((f) => f.changed && !f.stdin)
    .map((f) => {
      const change: FileChange = {
        path: resolve(options.cwd ?? process.cwd(), f.path),
        data: () => f.text, // made when it is written, one file at a time
        name: f.path,
      };
      if (f.mode !== undefined) change.mode = f.mode;
      if (f.identity) change.expect = f.identity;
      if (options.within) change.within = options.within;
      return change;
    });
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
