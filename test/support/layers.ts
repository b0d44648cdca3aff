/**
 * @module test/support/layers
 * The checker behind test/architecture.test.ts: every source file belongs to a declared unit (a
 * folder under src/, or a declared top-level file), and each of its module references (static and
 * type imports, re-exports, side-effect imports, `import()`, `require()`, `require.resolve()` and
 * calls of a function made by `createRequire`) goes only where its unit may go. Read with the
 * TypeScript parser, so comments and strings that merely look like imports are not counted.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

/** What one unit (a folder such as `sources`, or a top-level file such as `index.ts`) may use. */
export interface UnitRule {
  /** The layer it belongs to, for people: `core`, `sources`, `servers`, ... */
  layer: string;
  /**
   * Other units it may import (itself always), or single files of one (`resolver/types.ts`).
   */
  may: string[];
  /** npm packages it may import, by name (`undici` covers `undici/lib/...`). Node built-ins (`node:*`) are always allowed. */
  packages: string[];
}

export interface LayerRules {
  /** Folders directly under src/, by name. */
  folders: Record<string, UnitRule>;
  /** Files directly under src/, by name. */
  files: Record<string, UnitRule>;
}

export interface SourceFile {
  /** Path relative to src/, with `/`. */
  path: string;
  text: string;
}

/** The non-test `.ts` files under `dir`, relative to it. */
export function readSourceTree(dir: string): SourceFile[] {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => {
      const p = join(d, name);
      if (statSync(p).isDirectory()) return walk(p);
      return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
    });
  return walk(dir).map((p) => ({
    path: relative(dir, p).split('\\').join('/'),
    text: readFileSync(p, 'utf8'),
  }));
}

/** Every module specifier a file refers to, in source order. */
export function moduleReferences(path: string, text: string): string[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const specs: string[] = [];
  const requireNames = new Set(['require']);
  const literal = (node: ts.Node | undefined): string | undefined =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const spec = literal(node.moduleSpecifier);
      if (spec !== undefined) specs.push(spec);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const spec = literal(node.moduleReference.expression);
      if (spec !== undefined) specs.push(spec);
    } else if (ts.isVariableDeclaration(node) && node.initializer && ts.isIdentifier(node.name)) {
      // `const load = createRequire(import.meta.url)`: calls of `load` are requires too.
      const init = node.initializer;
      if (
        ts.isCallExpression(init) &&
        ts.isIdentifier(init.expression) &&
        init.expression.text === 'createRequire'
      ) {
        requireNames.add(node.name.text);
      }
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const first = node.arguments[0];
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && requireNames.has(callee.text);
      const isResolve =
        ts.isPropertyAccessExpression(callee) &&
        callee.name.text === 'resolve' &&
        ts.isIdentifier(callee.expression) &&
        requireNames.has(callee.expression.text);
      if (isImport || isRequire || isResolve) {
        const spec = literal(first);
        // A computed specifier cannot be checked: that is a violation of its own.
        specs.push(spec ?? `<computed: ${first ? first.getText(file) : ''}>`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return specs;
}

/** `@scope/name/x` -> `@scope/name`, `undici/lib/x.js` -> `undici`. */
export function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The unit a src-relative path belongs to, or undefined when none is declared. */
function unitOf(path: string, rules: LayerRules): { name: string; rule: UnitRule } | undefined {
  const slash = path.indexOf('/');
  if (slash === -1) {
    const rule = rules.files[path];
    return rule ? { name: path, rule } : undefined;
  }
  const name = path.slice(0, slash);
  const rule = rules.folders[name];
  return rule ? { name, rule } : undefined;
}

/** Every violation in `files`, one line each (`path: what is wrong`); empty when all is well. */
export function checkLayers(files: SourceFile[], rules: LayerRules): string[] {
  const bad: string[] = [];
  for (const { path, text } of files) {
    const unit = unitOf(path, rules);
    if (!unit) {
      bad.push(`${path}: belongs to no declared layer (declare its folder or file)`);
      continue;
    }
    for (const spec of moduleReferences(path, text)) {
      if (spec.startsWith('<computed')) {
        bad.push(`${path}: ${spec} cannot be checked`);
      } else if (spec.startsWith('.')) {
        const target = posix.normalize(posix.join(dirname(path), spec)).replace(/\.js$/, '.ts');
        if (target.startsWith('..')) {
          bad.push(`${path} -> ${spec}: outside src/`);
          continue;
        }
        const to = unitOf(target, rules);
        const ok =
          to !== undefined &&
          (to.name === unit.name || unit.rule.may.includes(to.name) || unit.rule.may.includes(target));
        if (!ok)
          bad.push(
            `${path} -> src/${target}: ${unit.name} may not import ${to?.name ?? 'an undeclared unit'}`,
          );
      } else if (!spec.startsWith('node:') && !unit.rule.packages.includes(packageName(spec))) {
        bad.push(`${path} -> ${spec}: not among the packages ${unit.name} may use`);
      }
    }
  }
  return bad;
}
