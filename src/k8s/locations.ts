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

import { isRecord, type ObjectMeta, objectMeta } from './objects.js';
import { type CompiledPath, expandPath, formatPath, getPath, type PathSegment } from './paths.js';

/** Which kind of image field a location is. */
export type ImageField = 'containers' | 'initContainers' | 'ephemeralContainers' | 'volumes' | 'custom';

/** One image field of one object. */
export interface ImageLocation {
  /** Path from the document root (it includes `items[N]` of a List). */
  path: PathSegment[];
  /** Printable path from the object root: `spec.template.spec.containers[0].image`. */
  fieldPath: string;
  field: ImageField;
  /** The container or volume name (or the `name` beside a custom image field). */
  name: string | undefined;
  /** The value found: normally a string. */
  image: unknown;
}

/** A Kubernetes object found in a document (a List contributes one per item). */
export interface KubeObject {
  object: Record<string, unknown>;
  meta: ObjectMeta;
  /** Path of the object from the document root (`[]`, or `['items', 3]`). */
  path: PathSegment[];
}

/** Extra image locations for a kind, from the rules file (`imageLocations`). */
export interface ImageLocationRule {
  /** Exact `group/version`, `group/*`, or undefined for any. */
  apiVersion?: string;
  kind: string;
  /** Paths to embedded pod specs (their four fields are searched, with Gatekeeper's messages). */
  podSpecPaths: CompiledPath[];
  /** Paths to image strings. */
  imagePaths: CompiledPath[];
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
  if (rule.kind !== meta.kind && rule.kind !== '*') return false;
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
      out.push(location(obj, [...specPath, field, i, 'image'], field, nameOf(c), c.image));
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
): ImageLocation {
  return { path: [...obj.path, ...rel], fieldPath: formatPath(rel), field, name, image };
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
  for (const rule of rules) {
    if (!ruleApplies(rule, obj.meta)) continue;
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
  }
  // Only a custom rule can reach a location twice; the built-in pod spec paths never overlap.
  if (rules.length === 0) return out;
  const seen = new Set<string>();
  return out.filter((l) => {
    const key = JSON.stringify(l.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
