/**
 * @module test/support/k8s-validation
 * What the Kubernetes API server (and, for their custom resources, Gatekeeper and Kyverno) would
 * say about an object on `kubectl apply`, without an API server. No kube-apiserver binary can run
 * here, so its validation is reproduced from its source:
 *
 * - every object: `metadata` (name format of its kind, labels, annotations);
 * - built-in kinds: the Kubernetes OpenAPI schema from the `kubernetes-models` package (types,
 *   required fields, enums, formats, and unknown fields refused as strict field validation does),
 *   then the create-time checks of pkg/apis/.../validation for the kinds imgdigest writes
 *   (k8s-validation/core.ts, k8s-validation/webhooks.ts for the WebhookConfigurations);
 * - custom resources: Gatekeeper ConstraintTemplate and Constraint, Kyverno ClusterPolicy against
 *   their CRD schemas (copies in test/fixtures/k8s/crds with their sources), cert-manager objects
 *   structurally (k8s-validation/engines.ts).
 *
 * A kind it does not know is an error: a test never passes because nothing was checked.
 *
 * @example
 * const reports = await validateObjects(parseAllDocuments(yaml).map((d) => d.toJS()));
 * expect(reports.flatMap((r) => r.errors)).toEqual([]);
 */

import { CLUSTER_SCOPED, NAME_CHECKS, validateBuiltinSemantics } from './k8s-validation/core.js';
import {
  validateCertManager,
  validateClusterPolicy,
  validateConstraint,
  validateConstraintTemplate,
} from './k8s-validation/engines.js';
import { type FieldError, isRecord } from './k8s-validation/fields.js';
import { validateObjectMeta } from './k8s-validation/meta.js';
import { isDNS1123Subdomain } from './k8s-validation/names.js';
import { builtinShape, isBuiltin, schemaErrors, unknownFields } from './k8s-validation/openapi.js';
import { validateWebhookConfiguration } from './k8s-validation/webhooks.js';

export type { FieldError } from './k8s-validation/fields.js';
export { auditAnnotationKeyProblem, caBundleProblem } from './k8s-validation/webhooks.js';

type Obj = Record<string, unknown>;

export interface ValidationReport {
  /** `Kind/name` (`Kind` alone when the object has no name). */
  object: string;
  /** One line per problem, worded as the API server words it. */
  errors: string[];
  /** What the engine accepts with a warning (deprecated fields). */
  warnings: string[];
}

/** The group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``). */
function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** `Kind.group "name" is invalid: ...`, the API server's answer for invalid objects. */
export function apiServerMessage(obj: Obj, errors: readonly string[]): string {
  const group = groupOf(String(obj.apiVersion ?? ''));
  const kind = group ? `${String(obj.kind)}.${group}` : String(obj.kind);
  const name = isRecord(obj.metadata) ? String(obj.metadata.name ?? '') : '';
  const body = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
  return `${kind} "${name}" is invalid: ${body}`;
}

function describe(obj: Obj): string {
  const name = isRecord(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
  return name ? `${String(obj.kind)}/${name}` : String(obj.kind);
}

/**
 * Validate one object. `batch` holds the other objects applied with it (a Constraint needs its
 * ConstraintTemplate).
 */
export async function validateObject(
  obj: unknown,
  batch: readonly unknown[] = [],
): Promise<ValidationReport> {
  if (!isRecord(obj))
    return { object: '?', errors: ['Object: not a Kubernetes object (a mapping)'], warnings: [] };
  const report: ValidationReport = { object: describe(obj), errors: [], warnings: [] };
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if (!apiVersion || !kind) {
    report.errors.push("Object 'Kind' is missing or apiVersion is not set");
    return report;
  }
  const add = (errs: readonly FieldError[]) => report.errors.push(...errs.map((e) => e.message));
  const group = groupOf(apiVersion);

  if (isBuiltin(apiVersion, kind)) {
    add(unknownFields(obj, builtinShape(apiVersion, kind)));
    const schema = await schemaErrors(obj);
    const isWebhookConfig =
      kind === 'ValidatingWebhookConfiguration' || kind === 'MutatingWebhookConfiguration';
    const semantic = [
      ...validateObjectMeta(obj.metadata, NAME_CHECKS[kind] ?? isDNS1123Subdomain, !CLUSTER_SCOPED.has(kind)),
      ...(isWebhookConfig ? validateWebhookConfiguration(obj) : validateBuiltinSemantics(obj)),
    ];
    // Decoding refuses wrong JSON types; `required` and `enum` are the validation code's to check:
    // where it is reproduced in full (webhook configurations) it alone speaks, elsewhere the schema
    // stands in for it on the fields the reproduced checks do not cover.
    const reported = new Set(semantic.map((e) => e.field));
    add(
      schema.filter((e) =>
        e.keyword === 'required' || e.keyword === 'enum' ? !isWebhookConfig && !reported.has(e.field) : true,
      ),
    );
    add(semantic);
    return report;
  }
  if (apiVersion === 'templates.gatekeeper.sh/v1' && kind === 'ConstraintTemplate') {
    add(validateObjectMeta(obj.metadata, isDNS1123Subdomain, false));
    add(validateConstraintTemplate(obj));
    return report;
  }
  if (
    group === 'constraints.gatekeeper.sh' &&
    (apiVersion.endsWith('/v1beta1') || apiVersion.endsWith('/v1'))
  ) {
    add(validateObjectMeta(obj.metadata, isDNS1123Subdomain, false));
    const templates = batch.filter(
      (o): o is Obj =>
        isRecord(o) && o.kind === 'ConstraintTemplate' && o.apiVersion === 'templates.gatekeeper.sh/v1',
    );
    add(validateConstraint(obj, templates));
    return report;
  }
  if (apiVersion === 'kyverno.io/v1' && kind === 'ClusterPolicy') {
    add(validateObjectMeta(obj.metadata, isDNS1123Subdomain, false));
    const checked = validateClusterPolicy(obj);
    add(checked.errors);
    report.warnings.push(...checked.warnings);
    return report;
  }
  if (apiVersion === 'cert-manager.io/v1' && ['Issuer', 'ClusterIssuer', 'Certificate'].includes(kind)) {
    add(validateObjectMeta(obj.metadata, isDNS1123Subdomain, kind !== 'ClusterIssuer'));
    add(validateCertManager(obj));
    return report;
  }
  report.errors.push(
    `no matches for kind "${kind}" in version "${apiVersion}" (this validator does not know it)`,
  );
  return report;
}

/** Validate every object of one `kubectl apply` batch. */
export async function validateObjects(objects: readonly unknown[]): Promise<ValidationReport[]> {
  return Promise.all(objects.map((o) => validateObject(o, objects)));
}

/** Every error of every object, prefixed with the object (`Deployment/web: spec...`). */
export async function problemsOf(objects: readonly unknown[]): Promise<string[]> {
  return (await validateObjects(objects)).flatMap((r) => r.errors.map((e) => `${r.object}: ${e}`));
}
