/**
 * @module test/support/k8s-validation/fields
 * Field errors worded as the API server words them (k8s.io/apimachinery `field.Error`): the field
 * path as `spec.template.spec.containers[0].image`, then `Required value`, `Invalid value: "x":
 * detail`, `Unsupported value: "x": supported values: "a", "b"`, `Duplicate value: "x"`,
 * `Forbidden: detail`, `Too long: detail`, `Too many: N: detail`, `Not found: "x"`.
 */

export type PathPart = string | number;

/** `spec.containers[0].name`; map keys that are not identifiers as `data[tls.crt]`. */
export function fieldPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (p.startsWith('[')) out += p;
    else out += out ? `.${p}` : p;
  }
  return out;
}

/** A map key in a path, as Go's `Path.Key` prints it. */
export const key = (k: string): string => `[${k}]`;

/** Go's `%q` for the strings these messages quote (JSON escaping agrees for what we print). */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** How `field.Error` prints a bad value: strings quoted, numbers and booleans bare, lists Go-style. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return `[]string{${value.map(quote).join(', ')}}`;
  }
  return JSON.stringify(value);
}

export interface FieldError {
  field: string;
  /** The whole line, `field: body`. */
  message: string;
}

function make(path: readonly PathPart[], body: string): FieldError {
  const field = fieldPath(path);
  return { field, message: `${field}: ${body}` };
}

export const required = (path: readonly PathPart[], detail = ''): FieldError =>
  make(path, detail ? `Required value: ${detail}` : 'Required value');

export const invalid = (path: readonly PathPart[], value: unknown, detail: string): FieldError =>
  make(path, `Invalid value: ${showValue(value)}${detail ? `: ${detail}` : ''}`);

export const notSupported = (
  path: readonly PathPart[],
  value: unknown,
  valid: readonly string[],
): FieldError =>
  make(
    path,
    `Unsupported value: ${showValue(value)}${valid.length ? `: supported values: ${valid.map(quote).join(', ')}` : ''}`,
  );

export const duplicate = (path: readonly PathPart[], value: unknown): FieldError =>
  make(path, `Duplicate value: ${showValue(value)}`);

export const forbidden = (path: readonly PathPart[], detail: string): FieldError =>
  make(path, `Forbidden: ${detail}`);

export const notFound = (path: readonly PathPart[], value: unknown): FieldError =>
  make(path, `Not found: ${showValue(value)}`);

export const tooLong = (path: readonly PathPart[], detail: string): FieldError =>
  make(path, `Too long: ${detail}`);

export const tooMany = (path: readonly PathPart[], actual: number, max: number): FieldError =>
  make(path, `Too many: ${actual}: must have at most ${max} items`);

/** A strict-decoding error (`kubectl apply` asks for strict field validation by default). */
export const unknownField = (path: readonly PathPart[]): FieldError => {
  const field = fieldPath(path);
  return { field, message: `unknown field ${quote(field)}` };
};

/** A value of the wrong JSON type, as the CRD validator words it. */
export const wrongType = (path: readonly PathPart[], value: unknown, type: string): FieldError => {
  const field = fieldPath(path);
  const got = jsonType(value);
  return {
    field,
    message: `${field}: Invalid value: ${quote(got)}: ${field || 'body'} in body must be of type ${type}: ${quote(got)}`,
  };
};

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
