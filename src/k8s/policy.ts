/**
 * @module k8s/policy
 * The "digest required" rule: when an image reference counts as pinned, which images are exempt,
 * which objects a rule set applies to, and the violation messages.
 *
 * The messages are Gatekeeper's (gatekeeper-library `k8simagedigests`), so people who know that
 * policy recognise them. The digest test is STRONGER than Gatekeeper's unanchored regex: the digest
 * must end the reference, fit the OCI grammar (`algorithm ":" encoded`), and a registered algorithm
 * must have its exact length and alphabet (sha256 = 64 lowercase hex, sha512 = 128). Unregistered
 * algorithms that fit the grammar pass, as they do in Gatekeeper (its test case
 * "allowed_containers_with_unregistered_algorithms").
 * @see https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
 */
import type { ImageField, ImageLocation } from './locations.js';
import type { ObjectMeta } from './objects.js';

/** The OCI digest grammar anchored at the end of a reference (RE2 and JS compatible). */
export const DIGEST_SUFFIX_PATTERN = '@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$';

/** Registered algorithms and the exact encoding they require (image-spec "Registered algorithms"). */
export const REGISTERED_ALGORITHMS: Readonly<Record<string, { pattern: string }>> = {
  sha256: { pattern: '[a-f0-9]{64}' },
  sha512: { pattern: '[a-f0-9]{128}' },
};

/**
 * The three patterns that decide {@link hasDigest}, in one place so the exported Rego and
 * Kyverno policies use exactly the strings the CLI uses (see export.ts).
 * - `suffix`: the reference must match it.
 * - for each registered algorithm, a reference matching `claims` must also match `exact`.
 */
export const DIGEST_RULE = {
  suffix: DIGEST_SUFFIX_PATTERN,
  registered: Object.entries(REGISTERED_ALGORITHMS).map(([alg, { pattern }]) => ({
    algorithm: alg,
    claims: `@${alg}:[a-zA-Z0-9=_-]+$`,
    exact: `@${alg}:${pattern}$`,
  })),
} as const;

const SUFFIX_RE = new RegExp(DIGEST_RULE.suffix);
const REGISTERED_RE = DIGEST_RULE.registered.map((r) => ({
  claims: new RegExp(r.claims),
  exact: new RegExp(r.exact),
}));

/**
 * True when `image` ends in a well-formed digest. Evaluates exactly {@link DIGEST_RULE}.
 * @example hasDigest('nginx:1.27@sha256:' + 'a'.repeat(64)) // true
 * @example hasDigest('nginx@sha256:abc') // false: sha256 needs 64 hex characters
 */
export function hasDigest(image: unknown): boolean {
  if (typeof image !== 'string') return false;
  if (!SUFFIX_RE.test(image)) return false;
  return REGISTERED_RE.every((r) => !r.claims.test(image) || r.exact.test(image));
}

/**
 * Gatekeeper's `exemptImages`: an entry ending in `*` is a prefix, anything else must be equal.
 * No normalisation (`nginx` does not exempt `docker.io/library/nginx`), as in
 * gatekeeper-library `lib_exempt_container.rego`.
 */
export function isExempt(image: unknown, exemptImages: readonly string[]): boolean {
  if (typeof image !== 'string') return false;
  return exemptImages.some((e) => (e.endsWith('*') ? image.startsWith(e.slice(0, -1)) : image === e));
}

/** The words Gatekeeper uses for each field, plus ours for image volumes and custom paths. */
const NOUN: Record<ImageField, string> = {
  containers: 'container',
  initContainers: 'initContainer',
  ephemeralContainers: 'ephemeralContainer',
  volumes: 'volume',
  custom: 'field',
  images: 'images entry',
  values: 'value',
};

/** What the messages need of an image field: an `ImageLocation` or an `ImageSite`. */
export type ImageFieldOf = Pick<ImageLocation, 'field' | 'fieldPath' | 'name' | 'image'>;

/**
 * Gatekeeper's message, word for word (gatekeeper-library `k8simagedigests` src.rego:
 * `container <%v> uses an image without a digest <%v>`, and `initContainer`, `ephemeralContainer`),
 * so a log grep or a comparison with the cluster's denials finds the same lines. Volumes say
 * `volume <NAME>` and custom paths `field <PATH>`; a container without a name is `<unnamed>`.
 * @example violationMessage({ field: 'containers', fieldPath: 'spec.containers[0].image', name: 'app', image: 'nginx:1.27' })
 * // 'container <app> uses an image without a digest <nginx:1.27>'
 */
export function violationMessage(location: ImageFieldOf): string {
  const who = byPath(location.field) ? location.fieldPath : (location.name ?? 'unnamed');
  return `${NOUN[location.field]} <${who}> uses an image without a digest <${String(location.image)}>`;
}

/** `container app`, `initContainer migrate`, `volume data`, `field spec.x.image`. */
export function describeLocation(location: ImageFieldOf): string {
  const who = byPath(location.field) ? location.fieldPath : (location.name ?? '<unnamed>');
  return `${NOUN[location.field]} ${who}`;
}

/** Fields named by their path in messages (they have no name of their own). */
const byPath = (field: ImageField): boolean => field === 'custom' || field === 'values';

/** A Gatekeeper-style kind selector: `apiGroups` and `kinds`, `*` matching anything. */
export interface KindMatch {
  apiGroups: string[];
  kinds: string[];
}

/** What decides whether the rule applies to an object (a Constraint's `match`, in short). */
export interface ObjectMatch {
  /** Empty: every kind. */
  kinds: readonly KindMatch[];
  /** Empty: every namespace. Entries may start or end with `*` (Gatekeeper's wildcards). */
  namespaces: readonly string[];
  excludedNamespaces: readonly string[];
  /** The namespace assumed for objects that name none (what `kubectl apply` without `-n` uses). */
  defaultNamespace: string;
}

/** The API group of an apiVersion: `apps/v1` -> `apps`, `v1` -> `` (core). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** Whether a namespace pattern (`prod`, `kube-*`, `*-system`) matches. */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return namespace.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return namespace.endsWith(pattern.slice(1));
  return pattern === namespace;
}

/** Whether the rule applies to this object, as a Gatekeeper Constraint's `match` would decide. */
export function objectMatches(meta: ObjectMeta, match: ObjectMatch): boolean {
  if (match.kinds.length > 0) {
    const group = apiGroupOf(meta.apiVersion);
    const ok = match.kinds.some(
      (k) =>
        (k.apiGroups.includes('*') || k.apiGroups.includes(group)) &&
        (k.kinds.includes('*') || k.kinds.includes(meta.kind)),
    );
    if (!ok) return false;
  }
  const ns = meta.namespace ?? match.defaultNamespace;
  if (match.namespaces.length > 0 && !match.namespaces.some((p) => namespaceMatches(p, ns))) return false;
  if (match.excludedNamespaces.some((p) => namespaceMatches(p, ns))) return false;
  return true;
}

/** Parse a `--kinds` entry: `Deployment` (any group), `apps/Deployment`, `core/Pod` or `/Pod` (core group). */
export function parseKindSelector(text: string): KindMatch {
  const slash = text.lastIndexOf('/');
  if (slash === -1) return { apiGroups: ['*'], kinds: [text] };
  const group = text.slice(0, slash);
  return { apiGroups: [group === 'core' ? '' : group], kinds: [text.slice(slash + 1)] };
}
