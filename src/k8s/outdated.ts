/**
 * @module k8s/outdated
 * `imgdigest outdated`: for every `name:tag@digest` in the manifests, resolve `name:tag` now and
 * report the images whose tag has moved to another digest.
 *
 * The comparison is only meaningful against the same kind of digest: with `platform` in the rules,
 * the tag is resolved to that platform's manifest (use it when the manifests pin platform
 * manifests), otherwise to whatever the tag points to (the index for multi-platform images).
 */
import { parseReference, type Reference } from '../core/reference.js';
import type { Resolver } from '../resolver/types.js';
import { visitFiles } from './documents.js';
import type { InputFile } from './inputs.js';
import { isExempt } from './policy.js';
import { reasonOf, resolveEach } from './resolve.js';
import type { Rules } from './rules.js';
import { byFileAndLine, fileSites, type ImageSite } from './sites.js';

/** A pinned image whose tag now resolves to another digest (the site's fields that `--json` shows). */
export interface OutdatedImage extends Pick<ImageSite, 'file' | 'line' | 'column' | 'object' | 'fieldPath'> {
  image: string;
  /** `name:tag`, what was resolved. */
  tag: string;
  pinned: string;
  current: string;
}

/** A pinned image whose tag could not be resolved. */
export interface OutdatedFailure extends Pick<ImageSite, 'file' | 'line'> {
  image: string;
  reason: string;
}

export interface OutdatedResult {
  outdated: OutdatedImage[];
  /** Pinned references checked (with a tag and a digest). */
  checked: number;
  /** Images pinned without a tag: nothing to compare with. */
  untagged: number;
  failures: OutdatedFailure[];
}

export interface OutdatedOptions {
  rules: Rules;
  /** Answers every tag, all asked at once: the resolver bounds concurrency (as `openResolver`'s does). */
  resolver: Resolver;
  /** @deprecated Ignored: the resolver bounds concurrency (`openResolver`'s `concurrency`). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Find `name:tag@digest` images and compare each with what its tag resolves to now. */
export async function findOutdated(
  inputs: readonly InputFile[],
  options: OutdatedOptions,
): Promise<OutdatedResult> {
  const { rules } = options;
  const pinned: Array<{ site: ImageSite; image: string; digest: string; tag: Reference }> = [];
  let untagged = 0;
  visitFiles(inputs, (file) => {
    for (const { site } of fileSites([file], rules)) {
      const image = site.image;
      if (typeof image !== 'string' || isExempt(image, rules.exemptImages)) continue;
      let ref: Reference;
      try {
        ref = parseReference(image);
      } catch {
        continue; // not a valid reference: `check` and `pin` report those
      }
      if (!ref.digest) continue;
      if (ref.tag === null) {
        untagged++;
        continue;
      }
      pinned.push({ site, image, digest: ref.digest, tag: ref.withoutDigest() });
    }
  });

  const tags = new Map<string, Reference>();
  for (const p of pinned) if (!tags.has(p.tag.canonical)) tags.set(p.tag.canonical, p.tag);
  const answers = await resolveEach(tags, {
    resolver: options.resolver,
    platform: rules.platform,
    signal: options.signal,
  });
  const outdated: OutdatedImage[] = [];
  const failures: OutdatedFailure[] = [];
  for (const { site, image, digest, tag } of pinned) {
    const answer = answers.get(tag.canonical)!;
    if (answer.status === 'rejected') {
      failures.push({ file: site.file, line: site.line, image, reason: reasonOf(answer.reason) });
    } else if (answer.value.digest !== digest) {
      outdated.push({
        file: site.file,
        line: site.line,
        column: site.column,
        object: site.object,
        fieldPath: site.fieldPath,
        image,
        tag: image.slice(0, image.lastIndexOf('@')),
        pinned: digest,
        current: answer.value.digest,
      });
    }
  }
  outdated.sort(byFileAndLine);
  failures.sort(byFileAndLine);
  return { outdated, checked: pinned.length, untagged, failures };
}
