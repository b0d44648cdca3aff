/**
 * @module test/support/k8s-validation/meta
 * `metadata` as the API server validates it on create (apimachinery `ValidateObjectMeta`): a name
 * (or generateName) in the kind's name format, label keys and values, annotation keys and their
 * total size.
 */
import { type FieldError, invalid, isRecord, type PathPart, required, tooLong } from './fields.js';
import { isDNS1123Label, isQualifiedName, isValidLabelValue } from './names.js';

export type NameCheck = (name: string) => string[];

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(labels)) return [];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...isQualifiedName(k).map((m) => invalid(path, k, m)));
    if (typeof v === 'string') errs.push(...isValidLabelValue(v).map((m) => invalid(path, v, m)));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(annotations)) return [];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    errs.push(...isQualifiedName(k.toLowerCase()).map((m) => invalid(path, k, m)));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    errs.push(tooLong(path, `may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`));
  }
  return errs;
}

/** `metadata` of an object whose kind names its objects with `nameCheck`. */
export function validateObjectMeta(
  metadata: unknown,
  nameCheck: NameCheck,
  namespaced: boolean,
  path: PathPart[] = ['metadata'],
): FieldError[] {
  if (!isRecord(metadata)) return [required([...path, 'name'], 'name or generateName is required')];
  const errs: FieldError[] = [];
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    if (typeof metadata.generateName !== 'string' || metadata.generateName === '') {
      errs.push(required([...path, 'name'], 'name or generateName is required'));
    }
  } else {
    errs.push(...nameCheck(name).map((m) => invalid([...path, 'name'], name, m)));
  }
  // A namespaced object without a namespace gets the request's (kubectl's context namespace); a
  // cluster-scoped object's namespace is cleared (apiserver rest.BeforeCreate), not refused.
  if (namespaced && typeof metadata.namespace === 'string' && metadata.namespace !== '') {
    errs.push(
      ...isDNS1123Label(metadata.namespace).map((m) =>
        invalid([...path, 'namespace'], metadata.namespace, m),
      ),
    );
  }
  errs.push(...validateLabels(metadata.labels, [...path, 'labels']));
  errs.push(...validateAnnotations(metadata.annotations, [...path, 'annotations']));
  return errs;
}
