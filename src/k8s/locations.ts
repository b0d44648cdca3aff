/**
 * @module k8s/locations
 * Where images sit in Kubernetes objects: the pod spec of every workload kind, its four image
 * fields, `List` kinds, and custom locations from the rules file.
 *
 * Pod spec paths per kind follow kubernetes/api (`types.go` of core/v1, apps/v1, batch/v1): Pod
 * `spec`, PodTemplate `template.spec` (no `spec`!), the apps/batch controllers and
 * ReplicationController `spec.template.spec`, CronJob `spec.jobTemplate.spec.template.spec`. Each
 * pod spec has `containers`, `initContainers`, `ephemeralContainers` and
 * `volumes[].image.reference` (image volumes). Everything here works on plain JSON-like values, so
 * the webhook (JSON) and the YAML tools share it.
 * @see https://github.com/kubernetes/api/blob/master/core/v1/types.go
 */

import { pathMatch } from '../core/glob.js';
import { isRecord, type ObjectMeta, objectMeta } from './objects.js';
import { type CompiledPath, expandPath, formatPath, getPath, type PathSegment } from './paths.js';

/**
 * Which kind of image field a location is: a pod spec's, a custom path's (`custom`), a kustomize
 * `images:` entry (`images`), or an image written in parts in Helm values (`values`).
 */
export type ImageField =
  | 'containers'
  | 'initContainers'
  | 'ephemeralContainers'
  | 'volumes'
  | 'custom'
  | 'images'
  | 'values';

/**
 * An image written as a mapping of parts instead of one string: a kustomize `images:` entry
 * (`name`/`newName`, `newTag`, `digest`) or Helm values (`registry`, `repository`, `tag`,
 * `digest`). Pinning writes the `digest` key; the reference is the parts put together.
 */
export interface ImageParts {
  /** Path of the tag value from the document root (absent when the mapping has no tag). */
  tagPath?: PathSegment[];
  /** Path of the digest value from the document root (the key may not exist yet). */
  digestPath: PathSegment[];
  /** The tag as written (a string), if any. */
  tag?: string;
  /** The digest as written, if any (an empty string counts as none). */
  digest?: string;
}

/** One image field of one object. */
export interface ImageLocation {
  /** Path from the document root (it includes `items[N]` of a List). */
  path: PathSegment[];
  /** Printable path from the object root: `spec.template.spec.containers[0].image`. */
  fieldPath: string;
  field: ImageField;
  /** The container or volume name (or the `name` beside a custom image field). */
  name: string | undefined;
  /** The value found: normally a string (for `parts`, the parts put together as a reference). */
  image: unknown;
  /** For an image written in parts: where they are. */
  parts?: ImageParts;
}

/** A Kubernetes object found in a document (a List contributes one per item). */
export interface KubeObject {
  object: Record<string, unknown>;
  meta: ObjectMeta;
  /** Path of the object from the document root (`[]`, or `['items', 3]`). */
  path: PathSegment[];
}

/**
 * Extra image locations from the rules file (`imageLocations`): for a kind of Kubernetes object,
 * or (`files`) for YAML files that are not Kubernetes objects, such as Helm values.
 */
export interface ImageLocationRule {
  /** Exact `group/version`, `group/*`, or undefined for any. */
  apiVersion?: string;
  /** The kind the rule is for (`*` any); undefined for a `files` rule. */
  kind?: string;
  /**
   * For documents that are not Kubernetes objects: the files the rule is for, as `path.Match`
   * patterns of the file name (`values*.yaml`) or of its last folders (`prod/values.yaml`).
   */
  files?: string[];
  /** Paths to embedded pod specs (their four fields are searched, with Gatekeeper's messages). */
  podSpecPaths: CompiledPath[];
  /** Paths to image strings. */
  imagePaths: CompiledPath[];
  /** Paths to images written in parts: mappings of `registry`, `repository`, `tag`, `digest`. */
  imageMapPaths: CompiledPath[];
}

const TEMPLATE_SPEC = ['spec', 'template', 'spec'];

/** Built-in pod spec paths by kind (any apiVersion: kinds are unambiguous for these). */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly PathSegment[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  ReplicationController: TEMPLATE_SPEC,
  Deployment: TEMPLATE_SPEC,
  StatefulSet: TEMPLATE_SPEC,
  DaemonSet: TEMPLATE_SPEC,
  ReplicaSet: TEMPLATE_SPEC,
  Job: TEMPLATE_SPEC,
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
/**
 * Printed container field paths under each built-in pod spec path (by the path array's identity),
 * by field and index, filled as they are first printed.
 */
const builtinFieldPaths = new Map<readonly PathSegment[], Record<string, string[]>>(
  Object.values(POD_SPEC_PATHS).map((p) => [p, Object.fromEntries(CONTAINER_FIELDS.map((f) => [f, []]))]),
);

/**
 * The Kubernetes objects in a parsed document: the document itself, or the items of a List
 * (`kind: List`, or any kind ending in `List` with an `items` sequence), recursively. Items of a
 * typed list (`DeploymentList`) without their own kind take it from the list.
 */
export function objectsIn(doc: unknown, path: PathSegment[] = []): KubeObject[] {
  if (!isRecord(doc)) return [];
  const meta = objectMeta(doc);
  if (meta?.kind.endsWith('List') && Array.isArray(doc.items)) {
    const itemKind = meta.kind === 'List' ? undefined : meta.kind.slice(0, -'List'.length);
    return doc.items.flatMap((item, i) => {
      const itemPath = [...path, 'items', i];
      if (itemKind && isRecord(item) && item.kind === undefined) {
        const m = objectMeta({ apiVersion: meta.apiVersion, kind: itemKind, ...item });
        return m ? [{ object: item, meta: m, path: itemPath }] : [];
      }
      return objectsIn(item, itemPath);
    });
  }
  return meta ? [{ object: doc, meta, path }] : [];
}

function ruleApplies(rule: ImageLocationRule, meta: ObjectMeta): boolean {
  if (rule.kind === undefined || (rule.kind !== meta.kind && rule.kind !== '*')) return false;
  if (rule.apiVersion === undefined) return true;
  if (rule.apiVersion.endsWith('/*')) return meta.apiVersion.startsWith(rule.apiVersion.slice(0, -1));
  return rule.apiVersion === meta.apiVersion;
}

/** The images of a pod spec at `specPath` (relative to the object). */
function podSpecImages(obj: KubeObject, specPath: readonly PathSegment[]): ImageLocation[] {
  const spec = getPath(obj.object, specPath);
  if (!isRecord(spec)) return [];
  const out: ImageLocation[] = [];
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      // A container without `image` is legal (config management fills it in): nothing to check.
      if (!isRecord(c) || c.image === undefined || c.image === null) return;
      const rel = [...specPath, field, i, 'image'];
      out.push(location(obj, rel, field, nameOf(c), c.image, builtinFieldPath(specPath, field, i, rel)));
    });
  }
  if (Array.isArray(spec.volumes)) {
    spec.volumes.forEach((v, i) => {
      if (!isRecord(v) || !isRecord(v.image) || v.image.reference == null) return;
      out.push(
        location(
          obj,
          [...specPath, 'volumes', i, 'image', 'reference'],
          'volumes',
          nameOf(v),
          v.image.reference,
        ),
      );
    });
  }
  return out;
}

function location(
  obj: KubeObject,
  rel: PathSegment[],
  field: ImageField,
  name: string | undefined,
  image: unknown,
  fieldPath = formatPath(rel),
): ImageLocation {
  // `rel` is made for this location alone, so an object at the document root (nearly all) uses it.
  return { path: obj.path.length === 0 ? rel : [...obj.path, ...rel], fieldPath, field, name, image };
}

const MAX_REMEMBERED_INDEX = 64;

/**
 * `formatPath(rel)` for a container field under a built-in pod spec path, remembered: the webhook
 * and check print the same `spec.template.spec.containers[0].image` for object after object.
 */
function builtinFieldPath(
  specPath: readonly PathSegment[],
  field: string,
  i: number,
  rel: PathSegment[],
): string {
  const paths = i < MAX_REMEMBERED_INDEX ? builtinFieldPaths.get(specPath)?.[field] : undefined;
  if (!paths) return formatPath(rel);
  let printed = paths[i];
  if (printed === undefined) {
    printed = formatPath(rel);
    paths[i] = printed;
  }
  return printed;
}

function nameOf(value: Record<string, unknown>): string | undefined {
  return typeof value.name === 'string' ? value.name : undefined;
}

/**
 * Every image field of an object: built-in pod specs for its kind, then the custom rules that
 * apply to it. A location reached by two rules is reported once.
 */
export function findImages(obj: KubeObject, rules: readonly ImageLocationRule[] = []): ImageLocation[] {
  const out: ImageLocation[] = [];
  const builtin = POD_SPEC_PATHS[obj.meta.kind];
  if (builtin) out.push(...podSpecImages(obj, builtin));
  if (KUSTOMIZE_KINDS.has(obj.meta.kind) && obj.meta.apiVersion.startsWith(KUSTOMIZE_GROUP)) {
    out.push(...kustomizeImages(obj));
  }
  for (const rule of rules) if (ruleApplies(rule, obj.meta)) out.push(...ruleImages(obj, rule));
  // Only a custom rule can reach a location twice; the built-in paths never overlap.
  return rules.length === 0 ? out : unique(out);
}

/** What a rule's paths find in an object (or in a document that is not one). */
function ruleImages(obj: KubeObject, rule: ImageLocationRule): ImageLocation[] {
  const out: ImageLocation[] = [];
  for (const p of rule.podSpecPaths) {
    for (const m of expandPath(obj.object, p)) out.push(...podSpecImages(obj, m.path));
  }
  for (const p of rule.imagePaths) {
    for (const m of expandPath(obj.object, p)) {
      if (m.value === undefined || m.value === null || typeof m.value === 'object') continue;
      const parent = getPath(obj.object, m.path.slice(0, -1));
      const name = isRecord(parent) ? nameOf(parent) : undefined;
      out.push(location(obj, m.path, 'custom', name, m.value));
    }
  }
  for (const p of rule.imageMapPaths) {
    for (const m of expandPath(obj.object, p)) {
      const found = isRecord(m.value) ? valuesImage(obj, m.path, m.value) : undefined;
      if (found) out.push(found);
    }
  }
  return out;
}

const KUSTOMIZE_GROUP = 'kustomize.config.k8s.io/';
const KUSTOMIZE_KINDS = new Set(['Kustomization', 'Component']);
/** File names kustomize reads a kustomization from (it may leave out apiVersion and kind). */
export const KUSTOMIZATION_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/**
 * The `images:` entries of a kustomization that set a tag or a digest (`newName` or `name`, then
 * `newTag`, then `digest`): kustomize writes `name@digest` when there is a digest.
 */
function kustomizeImages(obj: KubeObject): ImageLocation[] {
  const images = obj.object.images;
  if (!Array.isArray(images)) return [];
  const out: ImageLocation[] = [];
  images.forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') return;
    const name = typeof entry.newName === 'string' ? entry.newName : entry.name;
    const rel: PathSegment[] = ['images', i];
    const found = partsImage(obj, rel, 'images', entry.name, {
      name,
      tagKey: 'newTag',
      tag: entry.newTag,
      digest: entry.digest,
    });
    if (found) out.push(found);
  });
  return out;
}

/**
 * Helm values (`image: {registry, repository, tag, digest}`): every mapping under a key named
 * `image` whose `repository` is a string, at any depth of a document that is not a Kubernetes
 * object.
 */
export function valuesImages(obj: KubeObject): ImageLocation[] {
  const out: ImageLocation[] = [];
  const walk = (value: unknown, rel: PathSegment[]): void => {
    if (rel.length > 32) return;
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...rel, i]);
    } else if (isRecord(value)) {
      for (const [key, v] of Object.entries(value)) {
        const at = [...rel, key];
        const found = key === 'image' && isRecord(v) ? valuesImage(obj, at, v) : undefined;
        if (found) out.push(found);
        else walk(v, at);
      }
    }
  };
  walk(obj.object, []);
  return out;
}

/** An image mapping of Helm values at `rel`, or undefined when it has no `repository` string. */
function valuesImage(
  obj: KubeObject,
  rel: PathSegment[],
  map: Record<string, unknown>,
): ImageLocation | undefined {
  if (typeof map.repository !== 'string' || map.repository === '') return undefined;
  const registry = typeof map.registry === 'string' && map.registry !== '' ? `${map.registry}/` : '';
  return partsImage(obj, rel, 'values', undefined, {
    name: registry + map.repository,
    tagKey: 'tag',
    tag: map.tag,
    digest: map.digest,
  });
}

/** The location of an image written in parts; a tag that is not a string makes the image one too. */
function partsImage(
  obj: KubeObject,
  rel: PathSegment[],
  field: ImageField,
  name: string | undefined,
  p: { name: string; tagKey: string; tag: unknown; digest: unknown },
): ImageLocation | undefined {
  const digest = typeof p.digest === 'string' && p.digest !== '' ? p.digest : undefined;
  const hasTag = p.tag !== undefined && p.tag !== null && p.tag !== '';
  if (!hasTag && digest === undefined && field === 'images') return undefined; // a rename only
  const parts: ImageParts = { digestPath: [...obj.path, ...rel, 'digest'] };
  if (hasTag) parts.tagPath = [...obj.path, ...rel, p.tagKey];
  if (typeof p.tag === 'string' && p.tag !== '') parts.tag = p.tag;
  if (digest !== undefined) parts.digest = digest;
  // `newTag: 1.10` is the number 1.1 to YAML: no reference is made up from it.
  const image =
    hasTag && typeof p.tag !== 'string'
      ? p.tag
      : `${p.name}${parts.tag ? `:${parts.tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { ...location(obj, rel, field, name, image), parts };
}

/**
 * The images of a YAML document that is not a Kubernetes object: a kustomization that leaves out
 * apiVersion and kind (named by its file), Helm values, and the `files` rules that match the file.
 * Undefined when there are none: the document is not one imgdigest knows.
 */
export function looseImages(
  doc: unknown,
  file: string,
  rules: readonly ImageLocationRule[] = [],
): (KubeObject & { locations: ImageLocation[] }) | undefined {
  if (!isRecord(doc)) return undefined;
  const base = file.split(/[\\/]/).at(-1) ?? file;
  const kustomization = KUSTOMIZATION_FILES.has(base);
  const obj: KubeObject = {
    object: doc,
    meta: {
      apiVersion: kustomization ? `${KUSTOMIZE_GROUP}v1beta1` : '',
      kind: kustomization ? 'Kustomization' : 'Values',
      name: base,
      namespace: undefined,
    },
    path: [],
  };
  const out = kustomization ? kustomizeImages(obj) : valuesImages(obj);
  for (const rule of rules) {
    if (rule.files?.some((pattern) => fileMatches(pattern, file))) out.push(...ruleImages(obj, rule));
  }
  const locations = unique(out);
  return locations.length > 0 ? { ...obj, locations } : undefined;
}

/** A `files` pattern against a path: the file name, or as many last segments as the pattern has. */
function fileMatches(pattern: string, file: string): boolean {
  const segments = file.split(/[\\/]/);
  const depth = pattern.split('/').length;
  return pathMatch(pattern, segments.slice(-depth).join('/'));
}

function unique(out: ImageLocation[]): ImageLocation[] {
  const seen = new Set<string>();
  return out.filter((l) => {
    const key = JSON.stringify(l.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
