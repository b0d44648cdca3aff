/**
 * @module test/support/k8s-validation/structural
 * A custom resource checked against its CRD's structural schema, the way apiextensions-apiserver
 * does on create with strict field validation: fields the schema does not name are refused
 * (pruning reports them as `unknown field`), except under `x-kubernetes-preserve-unknown-fields`;
 * then types, `required`, `enum`, `pattern`, lengths, bounds, `format` (int32/int64) and the value
 * validations `not`/`oneOf`/`anyOf`/`allOf` (as structural schemas use them: `required` lists).
 * CEL rules (`x-kubernetes-validations`) are not evaluated.
 *
 * Schemas copied into test/fixtures may leave out parts imgdigest never writes: such a node is
 * `{x-imgdigest-not-captured: true}`, and any value there is reported, so a trimmed schema can
 * never let an object through unchecked.
 */
import {
  type FieldError,
  fieldPath,
  invalid,
  isRecord,
  jsonType,
  notSupported,
  type PathPart,
  required,
  tooLong,
  unknownField,
  wrongType,
} from './fields.js';

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  nullable?: boolean;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  default?: unknown;
  description?: string;
  not?: StructuralSchema;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  allOf?: StructuralSchema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-imgdigest-not-captured'?: boolean;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function typeMatches(type: StructuralSchema['type'], value: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

/** Value validations only (no pruning): used for `not`, `oneOf`, `anyOf`, `allOf`. */
function valueErrors(value: unknown, schema: StructuralSchema, path: PathPart[]): FieldError[] {
  return validateStructural(value, schema, path, false);
}

/**
 * All errors for `value` at `path`. `prune` reports fields the schema does not name (the
 * top-level call); value-validation branches do not prune.
 */
export function validateStructural(
  value: unknown,
  schema: StructuralSchema,
  path: PathPart[] = [],
  prune = true,
): FieldError[] {
  if (schema['x-imgdigest-not-captured']) {
    const field = fieldPath(path);
    return [
      {
        field,
        message: `${field}: imgdigest's copy of this schema leaves this field out; add its schema to the fixture before writing it`,
      },
    ];
  }
  if (value === null) {
    return schema.nullable || (!schema.type && schema['x-kubernetes-preserve-unknown-fields'])
      ? []
      : [wrongType(path, value, schema.type ?? 'object')];
  }
  const errs: FieldError[] = [];
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      errs.push(wrongType(path, value, 'integer or string'));
      return errs;
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    return [wrongType(path, value, schema.type)];
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    errs.push(notSupported(path, value, schema.enum.map(String)));
  }
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      errs.push(tooLong(path, `may not be more than ${schema.maxLength} bytes`));
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      errs.push(
        invalid(path, value, `${fieldPath(path)} in body should be at least ${schema.minLength} chars long`),
      );
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      errs.push(invalid(path, value, `${fieldPath(path)} in body should match '${schema.pattern}'`));
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errs.push(
        invalid(
          path,
          value,
          `${fieldPath(path)} in body should be greater than or equal to ${schema.minimum}`,
        ),
      );
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      errs.push(
        invalid(path, value, `${fieldPath(path)} in body should be less than or equal to ${schema.maximum}`),
      );
    }
    const range = schema.format ? INT_RANGES[schema.format] : undefined;
    if (range && (value < range[0] || value > range[1])) {
      errs.push(invalid(path, value, `${fieldPath(path)} in body must be of type ${schema.format}`));
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errs.push(
        invalid(
          path,
          value.length,
          `${fieldPath(path)} in body should have at least ${schema.minItems} items`,
        ),
      );
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errs.push(
        invalid(
          path,
          value.length,
          `${fieldPath(path)} in body should have at most ${schema.maxItems} items`,
        ),
      );
    }
    if (schema.items) {
      for (const [i, v] of value.entries())
        errs.push(...validateStructural(v, schema.items, [...path, i], prune));
    }
  }
  if (isRecord(value)) {
    for (const r of schema.required ?? []) if (!(r in value)) errs.push(required([...path, r]));
    const preserve =
      schema['x-kubernetes-preserve-unknown-fields'] === true ||
      schema['x-kubernetes-embedded-resource'] === true;
    for (const [k, v] of Object.entries(value)) {
      const prop = schema.properties?.[k];
      if (prop) errs.push(...validateStructural(v, prop, [...path, k], prune));
      else if (isRecord(schema.additionalProperties)) {
        errs.push(...validateStructural(v, schema.additionalProperties, [...path, `[${k}]`], prune));
      } else if (prune && !preserve && schema.additionalProperties !== true) {
        errs.push(unknownField([...path, k]));
      }
    }
  }
  if (schema.not && valueErrors(value, schema.not, path).length === 0) {
    errs.push(
      invalid(
        path,
        shortValue(value),
        `${fieldPath(path) || 'body'} in body must not validate the schema (not)`,
      ),
    );
  }
  if (schema.oneOf) {
    const passing = schema.oneOf.filter((s) => valueErrors(value, s, path).length === 0).length;
    if (passing !== 1) {
      errs.push(
        invalid(
          path,
          shortValue(value),
          `${fieldPath(path) || 'body'} in body must validate one and only one schema (oneOf)`,
        ),
      );
    }
  }
  if (schema.anyOf && !schema.anyOf.some((s) => valueErrors(value, s, path).length === 0)) {
    errs.push(
      invalid(
        path,
        shortValue(value),
        `${fieldPath(path) || 'body'} in body must validate at least one schema (anyOf)`,
      ),
    );
  }
  for (const s of schema.allOf ?? []) errs.push(...valueErrors(value, s, path));
  return errs;
}

/** Objects are shown by type only, as the API server does for composite values. */
function shortValue(value: unknown): unknown {
  return isRecord(value) || Array.isArray(value) ? jsonType(value) : value;
}

/**
 * The problems that make a schema non-structural (apiextensions `NewStructural` and the
 * structural schema rules): every node with properties, items or additionalProperties names its
 * type, and value-validation branches carry no types or defaults of their own.
 */
export function structuralProblems(schema: unknown, path: PathPart[] = []): string[] {
  if (!isRecord(schema)) return [`${fieldPath(path) || 'schema'}: must be an object`];
  const out: string[] = [];
  const s = schema as StructuralSchema & Record<string, unknown>;
  const here = fieldPath(path) || 'schema';
  const preserve =
    s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  if (!s.type && !preserve && (s.properties || s.items || s.additionalProperties)) {
    out.push(`${here}.type: Required value: must not be empty for specified object fields`);
  }
  if (!s.type && !preserve && path.length === 0)
    out.push(`${here}.type: Required value: must not be empty at the root`);
  for (const [k, v] of Object.entries(s.properties ?? {}))
    out.push(...structuralProblems(v, [...path, 'properties', k]));
  if (s.items) out.push(...structuralProblems(s.items, [...path, 'items']));
  if (isRecord(s.additionalProperties))
    out.push(...structuralProblems(s.additionalProperties, [...path, 'additionalProperties']));
  if (s.additionalProperties === false)
    out.push(`${here}.additionalProperties: Forbidden: must not be false`);
  for (const branch of ['not', 'oneOf', 'anyOf', 'allOf'] as const) {
    const subs = branch === 'not' ? (s.not ? [s.not] : []) : (s[branch] ?? []);
    for (const sub of subs) {
      if (isRecord(sub) && ('type' in sub || 'default' in sub)) {
        out.push(`${here}.${branch}: Forbidden: must not specify type or default in value validations`);
      }
    }
  }
  return out;
}
