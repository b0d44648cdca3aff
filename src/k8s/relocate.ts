/**
 * @module k8s/relocate
 * Relocation (kbld relocate, the air-gapped workflow): every image the manifests use is copied to
 * another registry by digest, and the manifests are rewritten to the new place, byte-exact as
 * `pin` edits them.
 *
 * The new place of `HOST/PATH:TAG` is `REGISTRY/PREFIX/PATH:TAG@sha256:…`: the original repository
 * path under the prefix (images from two registries stay apart by path, and a person can still
 * tell what an image is) and the tag kept, for the same reason (the digest decides; `dropTag`
 * writes `REGISTRY/PREFIX/PATH@sha256:…`). Images pinned by digest move too; images already under
 * the target are left alone, so running again on relocated manifests changes nothing.
 *
 * Three steps, and nothing is copied or changed unless the step before succeeded for every image:
 * 1. resolve each unique reference once, through the `Resolver` it is handed (what pin does);
 * 2. copy each image by digest through the {@link ImageTransfer} it is handed (the CLI hands in
 *    the copy engine: Kubernetes code has no registry client), tagging it at the target;
 * 3. splice the new references into the text. When any image fails in 1 or 2, no file text
 *    changes and every failure is listed (images copied before the failure stay where they
 *    landed: a run again skips them).
 */
import { ImgdigestError } from '../core/errors.js';
import { parseReference, Reference } from '../core/reference.js';
import type { Resolution, Resolver } from '../resolver/types.js';
import { nodeAt, parseFiles, type StreamedFile } from './documents.js';
import type { InputFile } from './inputs.js';
import {
  failureError,
  type PinChange,
  type PinFailure,
  type PinNote,
  type PinnedFile,
  type PinSite,
} from './pin.js';
import { isExempt } from './policy.js';
import { codeOf, reasonOf, resolveEach } from './resolve.js';
import type { Rules } from './rules.js';
import { byFileAndLine, type FileSite, formatSite, walkSites } from './sites.js';
import { editableAt, editText, type PlannedSplice, planEdit } from './yaml-edit.js';

/** Where images move: a registry host and a path prefix (possibly empty). */
export interface RelocationTarget {
  domain: string;
  prefix: string;
}

/**
 * Copies one image; what `relocateFiles` is handed (the CLI's copy engine, a test's fake). `from`
 * carries the digest to copy (and the tag it was found with); `to` is where it goes, with the
 * tag to set there (if any) and the digest the copy must produce.
 */
export interface ImageTransfer {
  copy(from: Reference, to: Reference, options: { signal?: AbortSignal }): Promise<void>;
}

export interface RelocateOptions {
  rules: Rules;
  to: RelocationTarget;
  /** Answers each unique reference (and bounds how many are in flight, as for pin). */
  resolver: Resolver;
  transfer: ImageTransfer;
  signal?: AbortSignal;
  /** Called as resolutions, then copies, finish: progress for a TTY. */
  onProgress?: (step: 'resolve' | 'copy', done: number, total: number) => void;
}

/** One image moved, and everywhere it was found. */
export interface Relocation {
  /** The canonical reference found in the manifests (`docker.io/library/nginx:1.27`). */
  from: string;
  /** What the manifests now say: `REGISTRY/PREFIX/PATH[:TAG]@DIGEST`. */
  to: string;
  /** What the image was copied to (with its tag there, whether or not `to` drops it). */
  copiedTo: string;
  digest: string;
  resolution: Resolution;
  sites: PinSite[];
}

export interface RelocateResult {
  files: PinnedFile[];
  changes: PinChange[];
  notes: PinNote[];
  failures: PinFailure[];
  relocations: Relocation[];
  /** Sites already under the target (a relocated manifest run again): left alone. */
  alreadyThere: PinSite[];
}

const TEMPLATED = /\{\{|\$\{|\$\(/;

/**
 * `REGISTRY[/PREFIX]` -> target. The registry must be named as a registry (a host with a dot or a
 * port, or `localhost`), so `--to team/images` is not taken for Docker Hub by accident.
 */
export function parseRelocationTarget(input: string): RelocationTarget {
  const text = input.replace(/\/+$/, '');
  const slash = text.indexOf('/');
  const domain = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? '' : text.slice(slash + 1);
  if (!/[.:]/.test(domain) && domain !== 'localhost') {
    throw new ImgdigestError(
      'USAGE',
      `--to "${input}" must start with a registry host (registry.example.com, localhost:5000), then an optional path`,
    );
  }
  // The grammar of a reference decides what a host and a path may be.
  try {
    parseReference(`${text}/image`);
  } catch (e) {
    throw new ImgdigestError('USAGE', `--to "${input}" is not a registry and path: ${reasonOf(e)}`);
  }
  return { domain, prefix };
}

/** `REGISTRY/PREFIX` as given to `--to`, normalised. */
export function formatRelocationTarget(to: RelocationTarget): string {
  return to.prefix ? `${to.domain}/${to.prefix}` : to.domain;
}

/**
 * Where `ref` moves: `REGISTRY/PREFIX/<its path>`, its tag kept (`latest` when it named neither a
 * tag nor a digest, as a pull would), its digest dropped.
 */
export function relocatedReference(ref: Reference, to: RelocationTarget): Reference {
  const path = to.prefix ? `${to.prefix}/${ref.path}` : ref.path;
  const tag = ref.tag ?? (ref.digest ? null : 'latest');
  const moved = new Reference({ domain: to.domain, path, tag, digest: null });
  // Checked by the grammar (a path too long for it fails here, not at the registry).
  return parseReference(moved.canonical);
}

/** Whether `ref` is under the target already (a relocated manifest run again). */
function isUnder(ref: Reference, to: RelocationTarget): boolean {
  return ref.domain === to.domain && (to.prefix === '' || ref.path.startsWith(`${to.prefix}/`));
}

interface Candidate extends FileSite {
  site: PinSite;
  ref: Reference;
  target: Reference;
  /** The canonical reference and the platform: one resolution each. */
  key: string;
}

/** Relocate every image of already-read files; see the module comment. */
export async function relocateFiles(
  inputs: readonly InputFile[],
  options: RelocateOptions,
): Promise<RelocateResult> {
  const { rules, signal } = options;
  // Each file's token print: the check after its edits lexes the new text only (see editText).
  const parsed = parseFiles(inputs, { print: true });
  const notes: PinNote[] = [];
  const failures: PinFailure[] = [];
  const alreadyThere: PinSite[] = [];
  const candidates = candidatesOf(parsed, options, { notes, failures, alreadyThere });
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) groups.set(c.key, [...(groups.get(c.key) ?? []), c]);

  // 1. Resolve: the digest each reference names now (or verify the one it names).
  const answers = await resolveEach(new Map([...groups].map(([key, group]) => [key, group[0]!.ref])), {
    resolver: options.resolver,
    platform: rules.platform,
    signal,
    onProgress: options.onProgress && ((done, total) => options.onProgress!('resolve', done, total)),
  });
  const resolved = new Map<string, Resolution>();
  for (const [key, group] of groups) {
    const answer = answers.get(key)!;
    if (answer.status === 'fulfilled') resolved.set(key, answer.value);
    else fail(failures, group, answer.reason);
  }
  collisions(groups, resolved, failures);

  // 2. Copy, once per target and digest, only when every image resolved.
  const relocations = new Map<string, Relocation>();
  if (failures.length === 0) {
    const copies = new Map<string, { from: Reference; to: Reference; groups: Candidate[][] }>();
    for (const [key, group] of groups) {
      const digest = resolved.get(key)!.digest;
      const first = group[0]!;
      const to = first.target.withDigest(digest);
      const copy = copies.get(to.canonical);
      if (copy) copy.groups.push(group);
      else copies.set(to.canonical, { from: first.ref.withDigest(digest), to, groups: [group] });
    }
    let done = 0;
    const list = [...copies.values()];
    const settled = await Promise.allSettled(
      list.map(async (c) => {
        try {
          await options.transfer.copy(c.from, c.to, signal ? { signal } : {});
        } finally {
          options.onProgress?.('copy', ++done, list.length);
        }
      }),
    );
    settled.forEach((s, i) => {
      if (s.status === 'rejected') for (const group of list[i]!.groups) fail(failures, group, s.reason);
    });
    for (const [key, group] of groups) {
      const resolution = resolved.get(key)!;
      const first = group[0]!;
      const target = rules.dropTag ? first.target.withoutTag() : first.target;
      relocations.set(key, {
        from: first.ref.canonical,
        to: target.withDigest(resolution.digest).canonical,
        copiedTo: first.target.withDigest(resolution.digest).canonical,
        digest: resolution.digest,
        resolution,
        sites: group.map((c) => c.site).sort(byFileAndLine),
      });
    }
  }
  failures.sort(byFileAndLine);

  // 3. Edit, only when every image was copied.
  // Relocation keeps every file parsed (its edits are planned on the documents), so its texts
  // are kept as well: plain values, not pin's texts made again when asked for.
  const files: { -readonly [K in keyof PinnedFile]: PinnedFile[K] }[] = parsed.map((f, i) => {
    const input = inputs[i];
    const out: PinnedFile = { path: f.path, original: f.text, text: f.text, changed: false };
    if (input?.mode !== undefined) out.mode = input.mode;
    if (input?.identity) out.identity = input.identity;
    if (input?.stdin) out.stdin = true;
    return out;
  });
  const changes: PinChange[] = [];
  if (failures.length === 0) {
    const byFile = new Map<StreamedFile, PlannedSplice[]>();
    for (const c of candidates) {
      const relocation = relocations.get(c.key)!;
      const plan = planEdit(c.doc, { document: c.site.document, path: c.path, value: relocation.to });
      if ('refused' in plan) {
        notes.push({ ...c.site, reason: plan.refused });
        continue;
      }
      const shared = nodeAt(c.doc, c.path)?.shared ?? false;
      changes.push({ ...c.site, to: relocation.to, digest: relocation.digest, shared });
      byFile.set(c.source, [...(byFile.get(c.source) ?? []), plan]);
    }
    for (const [file, splices] of byFile) {
      const out = files[parsed.findIndex((p) => p === file)]!;
      out.text = editText(file.path, file.text, splices, file.printer?.print());
      out.changed = out.text !== out.original;
    }
  }
  changes.sort(byFileAndLine);
  notes.sort(byFileAndLine);
  const moved =
    failures.length === 0 ? [...relocations.values()].sort((a, b) => (a.from < b.from ? -1 : 1)) : [];
  return { files, changes, notes, failures, relocations: moved, alreadyThere };
}

function fail(failures: PinFailure[], group: readonly Candidate[], error: unknown): void {
  const reason = reasonOf(error);
  for (const c of group) failures.push({ ...c.site, reason, code: codeOf(error) });
}

/** The sites to relocate; what is left alone goes to `notes` (or `alreadyThere`), what is not a reference to `failures`. */
function candidatesOf(
  parsed: readonly StreamedFile[],
  options: RelocateOptions,
  out: { notes: PinNote[]; failures: PinFailure[]; alreadyThere: PinSite[] },
): Candidate[] {
  const candidates: Candidate[] = [];
  for (const found of walkSites(parsed, options.rules)) {
    const site: PinSite = { ...found.site, image: String(found.site.image) };
    if (typeof found.site.image !== 'string') {
      out.notes.push({ ...site, reason: 'not a string, left alone' });
      continue;
    }
    if (isExempt(site.image, options.rules.exemptImages)) continue;
    if (TEMPLATED.test(site.image)) {
      out.notes.push({ ...site, reason: 'not a literal reference (template or variable), left alone' });
      continue;
    }
    const editable = editableAt(found.doc, found.path);
    if ('refused' in editable) {
      out.notes.push({ ...site, reason: editable.refused });
      continue;
    }
    try {
      const ref = parseReference(site.image);
      if (isUnder(ref, options.to)) {
        out.alreadyThere.push(site);
        continue;
      }
      const target = relocatedReference(ref, options.to);
      candidates.push({
        ...found,
        site,
        ref,
        target,
        key: `${ref.canonical}|${options.rules.platform ?? ''}`,
      });
    } catch (e) {
      out.failures.push({ ...site, reason: reasonOf(e), code: codeOf(e) });
    }
  }
  return candidates;
}

/**
 * Two images that would land on one tag with different digests (`quay.io/team/app:1` and
 * `docker.io/team/app:1` both become `REGISTRY/PREFIX/team/app:1`; or `app:1` and an older
 * `app:1@sha256:…`) cannot both be relocated: the second copy would move the first one's tag.
 * Every site of both is a failure. The same digest under one tag is one copy, not a collision.
 */
function collisions(
  groups: ReadonlyMap<string, Candidate[]>,
  resolved: Map<string, Resolution>,
  failures: PinFailure[],
): void {
  const byTag = new Map<string, string[]>();
  for (const [key, group] of groups) {
    const target = group[0]!.target;
    if (target.tag === null || !resolved.has(key)) continue;
    byTag.set(target.canonical, [...(byTag.get(target.canonical) ?? []), key]);
  }
  for (const [tag, keys] of byTag) {
    const digests = new Set(keys.map((k) => resolved.get(k)!.digest));
    if (digests.size < 2) continue;
    const what = keys.map((k) => `${groups.get(k)![0]!.ref.canonical} (${resolved.get(k)!.digest})`);
    for (const key of keys) {
      resolved.delete(key);
      for (const c of groups.get(key)!) {
        failures.push({
          ...c.site,
          reason: `${what.join(' and ')} would both be relocated to ${tag}`,
          code: 'INPUT_INVALID',
        });
      }
    }
  }
}

/** The error that ends a failed relocation: pin's choice of code, its own words. */
export function relocationError(failures: readonly PinFailure[]): ImgdigestError {
  const pinned = failureError(failures);
  const n = failures.length;
  return new ImgdigestError(
    pinned.code,
    `${n} image${n === 1 ? '' : 's'} could not be relocated, nothing written`,
    { details: pinned.details },
  );
}

/** `file:line` of every site of a relocation (a lock's `foundIn`). */
export function relocationSites(relocation: Relocation): string[] {
  return relocation.sites.map((s) => formatSite(s, 'file:line'));
}
