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
import { nodeAt, type StreamedFile, visitFiles } from './documents.js';
import type { InputFile } from './inputs.js';
import type { ImageParts } from './locations.js';
import type { PathSegment } from './paths.js';
import { isExempt } from './policy.js';
import { codeOf, reasonOf, resolveEach } from './resolve.js';
import type { Rules } from './rules.js';
import { byFileAndLine, fileSites, formatSite, type ImageSite, type WalkStats } from './sites.js';
import type { TokenPrint } from './token-print.js';
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
 * small multiple of the largest file plus a record per image site (its change, its site in
 * `resolutions`). {@link pinEach} keeps none of those: what the CLI uses.
 */
export async function pinFiles(inputs: readonly InputFile[], options: PinOptions): Promise<PinResult> {
  const changes: PinChange[] = [];
  const result = await pinEach(inputs, {
    ...options,
    keepSites: true,
    keepEdits: true,
    onFile: (file) => {
      for (const c of file.changes) changes.push(c); // not push(...): 10^5 items overflow the stack
    },
  });
  changes.sort(byFileAndLine);
  const { files, notes, failures, resolutions, pinned } = result;
  return { files, changes, notes, failures, resolutions, pinned };
}

export interface PinEachOptions extends PinOptions {
  /**
   * The order files are edited and handed to `onFile` in: as given (default), or by path, the
   * order `pinFiles` sorts its changes in (by file, then line).
   */
  order?: 'input' | 'path';
  /** Called for each file once its edits are made (and verified); not called when anything failed. */
  onFile?: (file: PinnedFileEdits) => void;
  /** Keep every site of each resolution in `resolutions` (a lock file's `foundIn` lists them). */
  keepSites?: boolean;
  /** Keep each changed file's edits (positions), so its `text` can be made again later (a write, a diff). */
  keepEdits?: boolean;
  /**
   * How many images the first pass keeps for the second (about 1 KB each; default 10,000): the
   * files past that many are read a second time instead.
   */
  keptCandidates?: number;
}

/** One file as {@link pinEach} hands it out: its changes (by line) and its texts, made once. */
export interface PinnedFileEdits {
  file: PinnedFile;
  changes: PinChange[];
  original: string;
  text: string;
}

/** What {@link pinEach} returns: {@link PinResult} with the changes counted, not kept. */
export interface PinSummary extends Omit<PinResult, 'changes'> {
  /** Changes made (updates included), and how many of them were updates. */
  changed: { images: number; updated: number };
}

/**
 * Pin files in two passes, keeping only what the number of unique references bounds. The first
 * reads every file, a document at a time, for the references to resolve (keeping each unique one
 * once); all are resolved; when any failed, the files are read again for where (every failure is
 * listed, and nothing changes). Otherwise the second pass reads each file again, makes its edits
 * and hands it to `onFile` before reading the next: memory follows the largest file, not the total
 * (unless `keepSites` or `keepEdits` ask for a small record per site). Throws `YAML_INVALID`
 * (listing every bad file) before resolving anything.
 */
export async function pinEach(inputs: readonly InputFile[], options: PinEachOptions): Promise<PinSummary> {
  const { rules, resolver, signal, onProgress } = options;
  const notes: PinNote[] = [];
  const failures: PinFailure[] = [];
  const pinned = { checked: 0, untagged: 0 };
  const skipped = new Set<number>();
  const memo: ScanMemo = { refs: new Map(), tags: new Map(), update: options.update };

  // Pass 1: each unique reference once, with every site that names it when they are kept.
  const groups = new Map<string, { ref: Reference; sites: PinSite[] }>();
  // The first files' candidates are kept, up to a budget, so the second pass need not read them
  // again: small runs parse each file once, large ones keep memory bounded.
  const kept = new Map<number, Candidate[]>();
  let keptCount = 0;
  // The kept files' token prints: the check after their edits then lexes the new text only.
  const prints = new Map<number, TokenPrint>();
  visitFiles(
    inputs,
    (source, file) => {
      const sink = { notes, failures, pinned };
      const mine: Candidate[] = [];
      const found = scanFile(source, file, rules, memo, sink, (c) => {
        let group = groups.get(c.key);
        if (!group) {
          group = { ref: c.ref, sites: [] };
          groups.set(c.key, group);
        }
        if (options.keepSites) group.sites.push(c.site);
        mine.push(c);
      });
      if (found.skipped) skipped.add(file);
      if (keptCount + mine.length <= (options.keptCandidates ?? KEPT_CANDIDATES)) {
        kept.set(file, mine);
        keptCount += mine.length;
        const print = source.printer?.print();
        if (print) prints.set(file, print);
      }
    },
    { print: true },
  );

  const answers = await resolveEach(new Map([...groups].map(([key, group]) => [key, group.ref])), {
    resolver,
    platform: rules.platform,
    signal,
    onProgress,
  });
  const resolved = new Map<string, PinResolution>();
  const failed = new Map<string, { reason: string; code: PinFailure['code']; sites: PinFailure[] }>();
  for (const [key, group] of groups) {
    const answer = answers.get(key)!;
    if (answer.status === 'fulfilled') resolved.set(key, { resolution: answer.value, sites: group.sites });
    else failed.set(key, { reason: reasonOf(answer.reason), code: codeOf(answer.reason), sites: [] });
  }
  groups.clear();
  if (failed.size > 0) {
    // Every site of a reference that failed, read again when not kept (rare: nothing is written then).
    kept.clear();
    visitFiles(inputs, (source, file) => {
      scanFile(source, file, rules, memo, throwaway(), (c) => {
        const f = failed.get(c.key);
        if (f) f.sites.push({ ...c.site, reason: f.reason, code: f.code });
      });
    });
    for (const f of failed.values()) for (const site of f.sites) failures.push(site);
  }
  failures.sort(byFileAndLine);

  const edits = new Map<number, { splices: Splice[]; print: TokenPrint | undefined }>();
  const files: PinnedFile[] = inputs.map((f, i) => pinnedFile(f, () => edits.get(i), skipped.has(i)));
  const changed = { images: 0, updated: 0 };
  if (failures.length === 0) {
    // Pass 2, one file at a time: its edits made and verified, handed out, let go.
    const order = inputs.map((_, i) => i);
    if (options.order === 'path') {
      order.sort((a, b) => {
        const [pa, pb] = [inputs[a]!.path, inputs[b]!.path];
        return pa === pb ? 0 : pa < pb ? -1 : 1;
      });
    }
    // The same image pinned at many sites shares one new value (and one written form per style).
    const written = new Map<string, { to: string; text: string | undefined }>();
    visitFiles(
      order.map((i) => inputs[i]!),
      (source, k) => {
        const i = order[k]!;
        const changes: PinChange[] = [];
        const splices: Splice[] = [];
        const edit = (c: Candidate) => {
          const { digest } = resolved.get(c.key)!.resolution;
          const made = editOf(c, digest, rules, written);
          if (made.note) notes.push({ ...c.site, reason: made.note });
          if (made.change) changes.push(made.change);
          if (made.splice) splices.push(made.splice);
        };
        const candidates = kept.get(i);
        kept.delete(i);
        if (candidates) for (const c of candidates) edit(c);
        else scanFile(source, i, rules, memo, throwaway(), edit);
        const print = source.printer?.print() ?? prints.get(i);
        prints.delete(i);
        const original = source.text;
        const text = splices.length > 0 ? editText(source.path, original, splices, print) : original;
        const file = files[i]!;
        file.changed = text !== original;
        if (options.keepEdits && file.changed) edits.set(i, { splices, print });
        changes.sort((a, b) => a.line - b.line);
        changed.images += changes.length;
        for (const c of changes) if (c.previous) changed.updated++;
        options.onFile?.({ file, changes, original, text });
      },
      { print: true },
    );
  }
  notes.sort(byFileAndLine);
  return { files, notes, failures, resolutions: [...resolved.values()], pinned, changed };
}

/**
 * How many candidates the first pass keeps for the second (about 1 KB each): enough that most runs
 * read each file once, few enough that a run over 100,000 images stays within a small heap.
 */
const KEPT_CANDIDATES = 10_000;

/** Sinks for what a scan finds again (already gathered by the first pass). */
function throwaway(): { notes: PinNote[]; failures: PinFailure[]; pinned: PinResult['pinned'] } {
  return { notes: [], failures: [], pinned: { checked: 0, untagged: 0 } };
}

/**
 * What one candidate becomes once its digest is known: a change and its splice, or a note when the
 * new value cannot be written (or, besides the change, when it is shared through an anchor).
 */
function editOf(
  c: Candidate,
  digest: string,
  rules: Rules,
  written: Map<string, { to: string; text: string | undefined }>,
): { change?: PinChange; splice?: Splice; note?: string } {
  if (c.around) {
    // The digest alone is written: an update, or the `digest` of an image in parts.
    if (digest === c.previous) return {}; // still current
    const { image } = c.site;
    const at = c.previous === undefined ? -1 : image.lastIndexOf(c.previous);
    const to =
      at < 0 ? `${image}@${digest}` : image.slice(0, at) + digest + image.slice(at + c.previous!.length);
    const [before, after] = c.around;
    const text = before + digest + after;
    const expect = c.expect ? { expect: { ...c.expect, value: digest } } : {};
    return {
      change: changeOf(c.site, to, digest, c.shared, c.previous),
      splice: { start: c.start, end: c.end, text, ...expect },
    };
  }
  const writtenKey = `${c.style}|${c.site.image}`;
  let w = written.get(writtenKey);
  if (!w) {
    const to = pinnedValue(c.site.image, c.ref, digest, rules.dropTag);
    w = { to, text: encodeScalar(to, c.style) };
    written.set(writtenKey, w);
  }
  const { to, text } = w;
  if (text === undefined) return { note: `cannot write "${to}" as a ${c.style} scalar` };
  return {
    change: changeOf(c.site, to, digest, c.shared),
    splice: { start: c.start, end: c.end, text },
    ...(c.shared ? { note: SHARED_NOTE } : {}),
  };
}

/**
 * A file's pin result whose `original` and `text` are made when asked for (the input's text, read
 * again, and the splices applied to it): pinning 100,000 documents keeps positions, not texts.
 */
function pinnedFile(
  f: InputFile,
  made: () => { splices: Splice[]; print: TokenPrint | undefined } | undefined,
  skipped: boolean,
): PinnedFile {
  const out: PinnedFile = {
    path: f.path,
    get original() {
      return f.text;
    },
    get text() {
      const original = f.text;
      const edits = made();
      return edits && out.changed ? editText(f.path, original, edits.splices, edits.print) : original;
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

const SHARED_NOTE = 'reached through an alias or merge key: edited once, at its anchor';

/** What scanning remembers from file to file: one parse per distinct value. */
interface ScanMemo {
  refs: Map<string, { ref: Reference; key: string } | Error>;
  tags: Map<string, Reference>;
  update: PinOptions['update'];
}

/**
 * The sites pin will resolve and edit in one file, in walk order, read document by document and
 * handed to `onCandidate`; what it leaves alone goes to `notes` (not a string, templated, not
 * editable), what is not a reference to `failures`. `skipped` when the file has no Kubernetes
 * object and no image path. Throws `YAML_INVALID` when the file does not parse.
 */
function scanFile(
  source: StreamedFile,
  file: number,
  rules: Rules,
  memo: ScanMemo,
  out: { notes: PinNote[]; failures: PinFailure[]; pinned: PinResult['pinned'] },
  onCandidate: (c: Candidate) => void,
): { skipped: boolean } {
  const { notes, failures, pinned } = out;
  const { refs, tags, update } = memo;
  const stats: WalkStats = { files: 0, documents: 0, objects: 0, skippedDocuments: 0 };
  let sites = 0;
  for (const found of fileSites([source], rules, stats)) {
    sites++;
    const site: PinSite = { ...found.site, image: String(found.site.image) };
    if (typeof found.site.image !== 'string') {
      const why = site.parts ? 'the tag is not a string (quote it), left alone' : 'not a string, left alone';
      notes.push({ ...site, reason: why });
      continue;
    }
    const violation = isViolation(site, rules);
    if (violation ? update === 'only-update' : !update || isExempt(site.image, rules.exemptImages)) continue;
    if (TEMPLATED.test(site.image)) {
      notes.push({ ...site, reason: 'not a literal reference (template or variable), left alone' });
      continue;
    }
    if (site.parts && violation && !site.parts.tag) {
      notes.push({ ...site, reason: 'no tag to resolve, left alone' });
      continue;
    }
    // Where the digest goes: the scalar, or for an image in parts its `digest` key.
    const place = site.parts ? partsPlace(found.doc, source.text, site.parts, violation) : scalarPlace(found);
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
      onCandidate({
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
    onCandidate({
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
  return { skipped: stats.objects === 0 && sites === 0 };
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
