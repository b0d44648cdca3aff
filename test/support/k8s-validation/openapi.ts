/**
 * @module test/support/k8s-validation/openapi
 * Built-in kinds checked against the OpenAPI schema of Kubernetes, as the npm package
 * `kubernetes-models` (4.5.1, generated from the Kubernetes 1.33 OpenAPI document) ships it:
 *
 * - its compiled ajv validators check JSON types, required fields, enums and formats;
 * - its type declarations (`I<Kind>` interfaces, one per OpenAPI definition) list every field of
 *   every type. The ajv validators accept unknown fields, but the API server does not: `kubectl
 *   apply` asks for strict field validation, and an unknown field is refused (`strict decoding
 *   error: unknown field "spec.foo"`). So the declarations are parsed (the TypeScript parser, no
 *   type checker) into field lists and every object is walked for fields no definition has.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ts from 'typescript';
import {
  type FieldError,
  isRecord,
  jsonType,
  notSupported,
  type PathPart,
  required,
  unknownField,
} from './fields.js';

const require = createRequire(import.meta.url);

/** What a field may hold, read from the declarations. */
export type Shape =
  | { t: 'string' | 'number' | 'boolean' | 'any' }
  | { t: 'literal'; values: unknown[] }
  | { t: 'array'; items: Shape }
  | { t: 'map'; values: Shape }
  | { t: 'object'; name: string; props: () => Map<string, Shape> }
  | { t: 'union'; of: Shape[] };

interface DeclFile {
  path: string;
  /** Local name -> where it comes from. */
  imports: Map<string, { spec: string; name: string }>;
  /** Exported name -> local name (`export { IDeployment as IIoK8sApiAppsV1Deployment }`). */
  aliases: Map<string, string>;
  /** `export { X } from "./meta"`. */
  reexports: Map<string, { spec: string; name: string }>;
  interfaces: Map<string, ts.InterfaceDeclaration>;
  types: Map<string, ts.TypeAliasDeclaration>;
}

const files = new Map<string, DeclFile>();
const shapes = new Map<string, Shape>();

function resolveModule(spec: string, from: string): string {
  if (spec.startsWith('.')) {
    return require.resolve(spec, { paths: [from.slice(0, from.lastIndexOf('/'))] }).replace(/\.js$/, '.d.ts');
  }
  return require.resolve(spec).replace(/\.js$/, '.d.ts');
}

function loadFile(path: string): DeclFile {
  const cached = files.get(path);
  if (cached) return cached;
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, false);
  const file: DeclFile = {
    path,
    imports: new Map(),
    aliases: new Map(),
    reexports: new Map(),
    interfaces: new Map(),
    types: new Map(),
  };
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const bindings = st.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) {
          file.imports.set(el.name.text, {
            spec: st.moduleSpecifier.text,
            name: (el.propertyName ?? el.name).text,
          });
        }
      }
    } else if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause)) {
      for (const el of st.exportClause.elements) {
        const local = (el.propertyName ?? el.name).text;
        if (st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
          file.reexports.set(el.name.text, { spec: st.moduleSpecifier.text, name: local });
        } else {
          file.aliases.set(el.name.text, local);
        }
      }
    } else if (ts.isInterfaceDeclaration(st)) {
      file.interfaces.set(st.name.text, st);
    } else if (ts.isTypeAliasDeclaration(st)) {
      file.types.set(st.name.text, st);
    }
  }
  files.set(path, file);
  return file;
}

/** The shape a name stands for in a declaration file (following imports and re-exports). */
function resolveName(file: DeclFile, name: string): Shape {
  const local = file.aliases.get(name) ?? name;
  const id = `${file.path}#${local}`;
  const cached = shapes.get(id);
  if (cached) return cached;
  const iface = file.interfaces.get(local);
  if (iface) {
    let props: Map<string, Shape> | undefined;
    const shape: Shape = {
      t: 'object',
      name: local,
      props: () => {
        props ??= interfaceProps(file, iface);
        return props;
      },
    };
    shapes.set(id, shape);
    return shape;
  }
  const alias = file.types.get(local);
  if (alias) {
    const shape = typeShape(file, alias.type);
    shapes.set(id, shape);
    return shape;
  }
  const imported = file.imports.get(local) ?? file.reexports.get(local);
  if (imported) return resolveName(loadFile(resolveModule(imported.spec, file.path)), imported.name);
  throw new Error(`kubernetes-models declarations: cannot resolve ${name} in ${file.path}`);
}

function interfaceProps(file: DeclFile, iface: ts.InterfaceDeclaration): Map<string, Shape> {
  const props = new Map<string, Shape>();
  for (const clause of iface.heritageClauses ?? []) {
    for (const t of clause.types) {
      if (ts.isIdentifier(t.expression)) {
        const base = resolveName(file, t.expression.text);
        if (base.t === 'object') for (const [k, v] of base.props()) props.set(k, v);
      }
    }
  }
  for (const m of iface.members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    const name = ts.isStringLiteral(m.name) || ts.isIdentifier(m.name) ? m.name.text : undefined;
    if (name !== undefined) props.set(name, typeShape(file, m.type));
  }
  return props;
}

function typeShape(file: DeclFile, node: ts.TypeNode): Shape {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { t: 'string' };
    case ts.SyntaxKind.NumberKeyword:
      return { t: 'number' };
    case ts.SyntaxKind.BooleanKeyword:
      return { t: 'boolean' };
  }
  if (ts.isParenthesizedTypeNode(node)) return typeShape(file, node.type);
  if (ts.isLiteralTypeNode(node)) {
    const lit = node.literal;
    if (ts.isStringLiteral(lit)) return { t: 'literal', values: [lit.text] };
    if (ts.isNumericLiteral(lit)) return { t: 'literal', values: [Number(lit.text)] };
    if (lit.kind === ts.SyntaxKind.TrueKeyword) return { t: 'literal', values: [true] };
    if (lit.kind === ts.SyntaxKind.FalseKeyword) return { t: 'literal', values: [false] };
  }
  if (ts.isUnionTypeNode(node)) {
    const of = node.types.map((t) => typeShape(file, t));
    if (of.every((s) => s.t === 'literal')) {
      return { t: 'literal', values: of.flatMap((s) => (s.t === 'literal' ? s.values : [])) };
    }
    return { t: 'union', of };
  }
  if (ts.isArrayTypeNode(node)) return { t: 'array', items: typeShape(file, node.elementType) };
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
    if (node.typeName.text === 'Array' && node.typeArguments?.length === 1) {
      return { t: 'array', items: typeShape(file, node.typeArguments[0]!) };
    }
    return resolveName(file, node.typeName.text);
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index) return { t: 'map', values: typeShape(file, index.type) };
    const props = new Map<string, Shape>();
    for (const m of node.members) {
      if (ts.isPropertySignature(m) && m.type && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name))) {
        props.set(m.name.text, typeShape(file, m.type));
      }
    }
    return { t: 'object', name: 'literal', props: () => props };
  }
  return { t: 'any' };
}

/** apiVersion `apps/v1` -> the package folder `apps/v1`; the core group `v1` -> `v1`. */
function modulePath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** True when kubernetes-models has a model for this apiVersion and kind. */
export function isBuiltin(apiVersion: string, kind: string): boolean {
  if (!/^[a-z0-9.-]*\/?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return false;
  try {
    require.resolve(modulePath(apiVersion, kind));
    return true;
  } catch {
    return false;
  }
}

/** The shape of a built-in kind (its `I<Kind>` interface). */
export function builtinShape(apiVersion: string, kind: string): Shape {
  return resolveName(loadFile(resolveModule(modulePath(apiVersion, kind), '/')), `I${kind}`);
}

/** Every field of `value` that `shape` does not know, as strict decoding reports them. */
export function unknownFields(value: unknown, shape: Shape, path: PathPart[] = []): FieldError[] {
  switch (shape.t) {
    case 'object': {
      if (!isRecord(value)) return [];
      const props = shape.props();
      return Object.entries(value).flatMap(([k, v]) => {
        const s = props.get(k);
        return s ? unknownFields(v, s, [...path, k]) : [unknownField([...path, k])];
      });
    }
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, shape.items, [...path, i])) : [];
    case 'map':
      return isRecord(value)
        ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, shape.values, [...path, `[${k}]`]))
        : [];
    case 'union': {
      const fit = shape.of.find(
        (s) =>
          (s.t === 'object' && isRecord(value)) ||
          (s.t === 'map' && isRecord(value)) ||
          (s.t === 'array' && Array.isArray(value)),
      );
      return fit ? unknownFields(value, fit, path) : [];
    }
    default:
      return [];
  }
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/spec/template/spec/containers/0/image` -> path parts. */
function pointerParts(pointer: string): PathPart[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function valueAt(obj: unknown, parts: PathPart[]): unknown {
  let v: unknown = obj;
  for (const p of parts)
    v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[p];
  return v;
}

function ajvErrorToField(obj: unknown, e: AjvError): FieldError | undefined {
  const parts = pointerParts(e.instancePath);
  const field = parts.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
    '',
  );
  const value = valueAt(obj, parts);
  switch (e.keyword) {
    case 'required':
      return required([...parts, String(e.params.missingProperty)]);
    case 'enum':
      return notSupported(parts, value, (e.params.allowedValues as unknown[]).map(String));
    case 'type':
      return {
        field,
        message: `${field}: Invalid value: ${JSON.stringify(jsonType(value))}: ${field} in body must be of type ${String(e.params.type)}: ${JSON.stringify(jsonType(value))}`,
      };
    default:
      return {
        field,
        message: `${field}: Invalid value: ${JSON.stringify(value)}: ${e.message ?? e.keyword}`,
      };
  }
}

type ModelModule = Record<string, new (data: unknown) => { validate(): void }>;

/** A schema error and the schema keyword that failed (`type`, `required`, `enum`, `format`...). */
export interface SchemaError extends FieldError {
  keyword: string;
}

/**
 * Types, required fields, enums and formats, by the package's compiled validators. (For built-in
 * kinds the API server decodes into Go types, so a JSON type mismatch is refused by decoding; it
 * does not read `required` or `enum` from the OpenAPI document, its validation code checks the same
 * things, so the caller keeps those only where it does not reproduce that code.)
 */
export async function schemaErrors(obj: Record<string, unknown>): Promise<SchemaError[]> {
  const apiVersion = String(obj.apiVersion);
  const kind = String(obj.kind);
  const mod = (await import(modulePath(apiVersion, kind))) as ModelModule;
  const Model = mod[kind];
  if (!Model) throw new Error(`kubernetes-models has no ${kind} in ${apiVersion}`);
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: AjvError[] }).errors;
    if (!errors) throw e;
    // anyOf/oneOf failures repeat the branch errors; keep each message once.
    const seen = new Set<string>();
    const out: SchemaError[] = [];
    for (const err of errors) {
      const f = ajvErrorToField(obj, err);
      if (f && !seen.has(f.message)) {
        seen.add(f.message);
        out.push({ ...f, keyword: err.keyword });
      }
    }
    return out;
  }
}
