/**
 * @module k8s/sites
 * The one walk every Kubernetes command makes, and the one record of where an image sits.
 *
 * The walk: files -> documents -> objects (a List gives one per item) -> the objects the rules
 * match -> their image fields. `check`, `pin`, `outdated` and `krm` walk files document by document
 * ({@link fileSites}); the webhook and `violationsOf` walk a plain JSON value ({@link valueSites},
 * or {@link objectSites} for an object already in hand). Each image field found is an
 * {@link ImageSite}: findings, changes, notes and failures are sites with what happened added, and
 * {@link formatSite} prints where one is.
 */
import { type ParsedDocument, positionAt, type StreamedFile } from './documents.js';
import {
  findImages,
  type ImageField,
  type ImageLocation,
  type ImageParts,
  type KubeObject,
  looseImages,
  objectsIn,
} from './locations.js';
import type { ObjectMeta } from './objects.js';
import type { PathSegment } from './paths.js';
import { objectMatches } from './policy.js';
import type { Rules } from './rules.js';

/** Where one image sits: the file and position, the object, and the field. */
export interface ImageSite {
  /** The file as given (`-` for stdin); for a plain value, the name its walker was given. */
  file: string;
  /** 1-based line of the value as written (0 in a plain value: it has no text). */
  line: number;
  /** 1-based column of the value as written (0 in a plain value). */
  column: number;
  /** 0-based index of the YAML document in the file. */
  document: number;
  object: ObjectMeta;
  /** Path of the object from the document root (`['items', 2]` inside a List). */
  objectPath: PathSegment[];
  field: ImageField;
  /** Printable path from the object root: `spec.template.spec.containers[0].image`. */
  fieldPath: string;
  /** The container or volume name (or the `name` beside a custom image field). */
  name: string | undefined;
  /** The value found: normally a string (for `parts`, the parts put together as a reference). */
  image: unknown;
  /** For an image written in parts (kustomize `images:`, Helm values): where they are. */
  parts?: ImageParts;
}

/** A site and the path of its value from the document root: what an edit or a JSON Patch needs. */
export interface FoundSite {
  site: ImageSite;
  path: PathSegment[];
}

/** A site found in a parsed file, with that file and the YAML document it is in (for edits). */
export interface FileSite extends FoundSite {
  source: StreamedFile;
  doc: ParsedDocument['doc'];
}

/** Where a walked value comes from. */
export interface SiteOrigin {
  /** The file name, or a name for a value that has none (the webhook's `object`). */
  file: string;
  /** 0-based index of the document in its file (default 0). */
  document?: number;
  /** The position of a path from the document root; without it, line and column are 0. */
  positionOf?: (path: readonly PathSegment[]) => { line: number; column: number };
}

/** What a walk saw: the counts of check's summary line. */
export interface WalkStats {
  files: number;
  documents: number;
  objects: number;
  /** Non-empty documents that are not Kubernetes objects. */
  skippedDocuments: number;
}

/** The image sites of one object, matched or not (the caller decided it is looked at). */
export function objectSites(
  object: KubeObject,
  rules: Pick<Rules, 'imageLocations'>,
  origin: SiteOrigin,
): FoundSite[] {
  return findImages(object, rules.imageLocations).map((l) => siteOf(object, l, origin));
}

function siteOf(object: KubeObject, l: ImageLocation, origin: SiteOrigin): FoundSite {
  // An image in parts is placed at its tag (or digest, or mapping): where a reader looks for it.
  const at = l.parts ? (l.parts.tagPath ?? (l.parts.digest ? l.parts.digestPath : l.path)) : l.path;
  const { line, column } = origin.positionOf?.(at) ?? { line: 0, column: 0 };
  const site: ImageSite = {
    file: origin.file,
    line,
    column,
    document: origin.document ?? 0,
    object: object.meta,
    objectPath: object.path,
    field: l.field,
    fieldPath: l.fieldPath,
    name: l.name,
    image: l.image,
  };
  if (l.parts) site.parts = l.parts;
  return { site, path: l.path };
}

/**
 * The string to keep for a report: one that shares no memory with the text it came from, and one
 * copy for equal values. V8 may keep a string cut from a file's text (a YAML scalar) as a slice of
 * the whole text, and a string built by `+` as a tree of its parts, so a kept site would keep its
 * whole file alive; and 100,000 findings name a few hundred images, field paths and kinds. A run
 * over 100,000 documents keeps small findings, not its files. The pool of kept strings is bounded
 * (emptied when full).
 */
export function detachString<T>(value: T): T {
  if (typeof value !== 'string') return value;
  const known = keptStrings.get(value);
  if (known !== undefined) return known as T;
  const own = value.length > 12 ? Buffer.from(value, 'utf8').toString('utf8') : value;
  if (keptStrings.size >= KEPT_STRINGS_MAX) keptStrings.clear();
  keptStrings.set(own, own);
  return own as T;
}

const KEPT_STRINGS_MAX = 16_384;
const keptStrings = new Map<string, string>();

/** The site with the strings it keeps detached from the file's text ({@link detachString}). */
function detached(found: FoundSite): FoundSite {
  const { site } = found;
  site.image = detachString(site.image);
  site.fieldPath = detachString(site.fieldPath);
  site.name = detachString(site.name);
  return found;
}

/** An object's names, detached from the file's text (once per object: its sites share them). */
function detachMeta(meta: ObjectMeta): void {
  meta.apiVersion = detachString(meta.apiVersion);
  meta.kind = detachString(meta.kind);
  meta.name = detachString(meta.name);
  meta.namespace = detachString(meta.namespace);
}

/** The image sites of a plain value (an object or a List) in the objects the rules match. */
export function valueSites(value: unknown, rules: Rules, origin: SiteOrigin, stats?: WalkStats): FoundSite[] {
  const objects = objectsIn(value);
  if (stats) {
    stats.objects += objects.length;
    if (objects.length === 0) stats.skippedDocuments++;
  }
  return objects.filter((o) => objectMatches(o.meta, rules)).flatMap((o) => objectSites(o, rules, origin));
}

/**
 * Every image site of files, file by file in reading order of the walk. A generator: each
 * document is reached when the walk gets to it, so a caller that keeps only plain facts of each
 * site (not `doc`) holds one document at a time.
 */
export function* fileSites(
  files: Iterable<StreamedFile>,
  rules: Rules,
  stats?: WalkStats,
): Generator<FileSite, void, undefined> {
  for (const source of files) {
    if (stats) stats.files++;
    for (const d of source.docs) {
      if (d.value === null || d.value === undefined) continue;
      if (stats) stats.documents++;
      const origin: SiteOrigin = {
        file: source.path,
        document: d.index,
        positionOf: (path) => positionAt(source, d.doc, path),
      };
      const objects = objectsIn(d.value);
      if (objects.length === 0) {
        // Not a Kubernetes object: a kustomization, Helm values, or a `files` rule's document.
        const loose = looseImages(d.value, source.path, rules.imageLocations);
        if (loose === undefined || !objectMatches(loose.meta, rules)) {
          if (stats) stats.skippedDocuments++;
          continue;
        }
        detachMeta(loose.meta);
        for (const l of loose.locations) yield { ...detached(siteOf(loose, l, origin)), source, doc: d.doc };
        continue;
      }
      if (stats) stats.objects += objects.length;
      for (const o of objects) {
        if (!objectMatches(o.meta, rules)) continue;
        detachMeta(o.meta);
        for (const found of objectSites(o, rules, origin)) yield { ...detached(found), source, doc: d.doc };
      }
    }
  }
}

/** Every image site of parsed files, as a list (see {@link fileSites}). */
export function walkSites(files: readonly StreamedFile[], rules: Rules, stats?: WalkStats): FileSite[] {
  return [...fileSites(files, rules, stats)];
}

/** How a site's position is printed: check's `file:line:col`, pin's and outdated's `file:line`. */
export type SiteStyle = 'file:line:col' | 'file:line';

/** The position that starts every report line about a site. */
export function formatSite(
  site: Pick<ImageSite, 'file' | 'line'> & { column?: number },
  style: SiteStyle,
): string {
  return style === 'file:line' ? `${site.file}:${site.line}` : `${site.file}:${site.line}:${site.column}`;
}

/** Reading order across files: by file name, then line; sites on one line keep their order. */
export function byFileAndLine(
  a: Pick<ImageSite, 'file' | 'line'>,
  b: Pick<ImageSite, 'file' | 'line'>,
): number {
  return a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1;
}
