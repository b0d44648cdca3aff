/**
 * @module k8s/outdated
 * `imgdigest outdated`: for every `name:tag@digest` in the manifests, resolve `name:tag` now and
 * report the images whose tag has moved to another digest.
 *
 * The comparison is only meaningful against the same kind of digest: with `platform` in the rules,
 * the tag is resolved to that platform's manifest (use it when the manifests pin platform
 * manifests), otherwise to whatever the tag points to (the index for multi-platform images).
 */
import pLimit from 'p-limit';
import { isImgdigestError } from '../core/errors.js';
import { parseReference, type Reference } from '../core/reference.js';
import type { Resolver } from '../resolver/types.js';
import { combine } from './check.js';
import { type ParsedFile, parseFile, positionAt } from './documents.js';
import type { InputFile } from './inputs.js';
import { findImages, objectsIn } from './locations.js';
import { isExempt, type ObjectMeta, objectMatches } from './policy.js';
import type { Rules } from './rules.js';

export interface OutdatedImage {
  file: string;
  line: number;
  column: number;
  object: ObjectMeta;
  fieldPath: string;
  image: string;
  /** `name:tag`, what was resolved. */
  tag: string;
  pinned: string;
  current: string;
}

export interface OutdatedResult {
  outdated: OutdatedImage[];
  /** Pinned references checked (with a tag and a digest). */
  checked: number;
  /** Images pinned without a tag: nothing to compare with. */
  untagged: number;
  failures: Array<{ file: string; line: number; image: string; reason: string }>;
}

interface Site {
  file: string;
  line: number;
  column: number;
  object: ObjectMeta;
  fieldPath: string;
  image: string;
  ref: Reference;
}

/** Find `name:tag@digest` images and compare each with what its tag resolves to now. */
export async function findOutdated(
  inputs: readonly InputFile[],
  options: { rules: Rules; resolver: Resolver; concurrency?: number; signal?: AbortSignal },
): Promise<OutdatedResult> {
  const parsed: ParsedFile[] = [];
  const errors = [];
  for (const f of inputs) {
    try {
      parsed.push(parseFile(f.path, f.text));
    } catch (e) {
      if (!isImgdigestError(e)) throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) throw combine(errors);

  const sites: Site[] = [];
  let untagged = 0;
  for (const file of parsed) {
    for (const d of file.docs) {
      for (const obj of objectsIn(d.value)) {
        if (!objectMatches(obj.meta, options.rules)) continue;
        for (const loc of findImages(obj, options.rules.imageLocations)) {
          if (typeof loc.image !== 'string' || isExempt(loc.image, options.rules.exemptImages)) continue;
          let ref: Reference;
          try {
            ref = parseReference(loc.image);
          } catch {
            continue; // not a valid reference: `check` and `pin` report those
          }
          if (!ref.digest) continue;
          if (ref.tag === null) {
            untagged++;
            continue;
          }
          const { line, column } = positionAt(file, d.doc, loc.path);
          sites.push({
            file: file.path,
            line,
            column,
            object: obj.meta,
            fieldPath: loc.fieldPath,
            image: loc.image,
            ref,
          });
        }
      }
    }
  }

  const limit = pLimit(options.concurrency ?? 8);
  const current = new Map<string, Promise<string>>();
  const failures: OutdatedResult['failures'] = [];
  const outdated: OutdatedImage[] = [];
  const resolveOptions: { platform?: string; signal?: AbortSignal } = {};
  if (options.rules.platform) resolveOptions.platform = options.rules.platform;
  if (options.signal) resolveOptions.signal = options.signal;
  await Promise.all(
    sites.map(async (s) => {
      const tagRef = s.ref.withoutDigest();
      const key = tagRef.canonical;
      if (!current.has(key)) {
        current.set(
          key,
          limit(async () => (await options.resolver.resolve(tagRef, resolveOptions)).digest),
        );
      }
      try {
        const now = await current.get(key)!;
        if (now !== s.ref.digest) {
          outdated.push({
            file: s.file,
            line: s.line,
            column: s.column,
            object: s.object,
            fieldPath: s.fieldPath,
            image: s.image,
            tag: s.image.slice(0, s.image.lastIndexOf('@')),
            pinned: s.ref.digest!,
            current: now,
          });
        }
      } catch (e) {
        failures.push({
          file: s.file,
          line: s.line,
          image: s.image,
          reason: (e as Error).message.split('\n')[0]!,
        });
      }
    }),
  );
  const order = (a: { file: string; line: number }, b: { file: string; line: number }) =>
    a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1;
  outdated.sort(order);
  failures.sort(order);
  return { outdated, checked: sites.length, untagged, failures };
}
