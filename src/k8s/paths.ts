/**
 * @module k8s/paths
 * Field paths: the syntax used by custom image locations in the rules file, and the printable form
 * used in reports (`spec.template.spec.containers[0].image`, as KRM `field.path` expects).
 *
 * Syntax (a small subset of JSONPath, like kbld's `searchRules` key paths):
 * - `spec.containers` — map keys separated by dots;
 * - `[3]` — one sequence item; `[*]` — every sequence item;
 * - `*` — every key of a map (one level);
 * - `**` — any number of levels (zero or more keys or items), e.g. `spec.**.image`;
 * - `["a.b"]` or `['a.b']` — a key containing dots, brackets or quotes.
 * @example compilePath('spec.containers[*].image')
 */
import { ImgdigestError } from '../core/errors.js';
import { isRecord } from './objects.js';

export type PathSegment = string | number;

export type PathStep =
  | { type: 'key'; key: string }
  | { type: 'index'; index: number }
  | { type: 'anyIndex' }
  | { type: 'anyKey' }
  | { type: 'deep' };

/** A parsed path, with the text it came from. */
export interface CompiledPath {
  source: string;
  steps: PathStep[];
}

const KEY_CHARS = /[^.[\]"'*]/;

/**
 * Parse a field path. Throws `CONFIG_INVALID` naming the position of the problem.
 */
export function compilePath(source: string): CompiledPath {
  const steps: PathStep[] = [];
  let i = 0;
  const bad = (why: string): never => {
    throw new ImgdigestError('CONFIG_INVALID', `invalid field path "${source}": ${why} (position ${i})`, {
      details: { path: source, position: i },
    });
  };
  if (source.length === 0) bad('empty path');
  let expectKey = true;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '[') {
      const end = source.indexOf(']', i);
      if (end === -1) bad('unclosed "["');
      const inner = source.slice(i + 1, end);
      if (inner === '*') steps.push({ type: 'anyIndex' });
      else if (/^[0-9]+$/.test(inner)) steps.push({ type: 'index', index: Number(inner) });
      else if (/^"[^"]*"$|^'[^']*'$/.test(inner)) steps.push({ type: 'key', key: inner.slice(1, -1) });
      else bad(`expected [N], [*] or ["key"], got [${inner}]`);
      i = end + 1;
      expectKey = false;
    } else if (c === '.') {
      if (expectKey) bad('empty key');
      i++;
      expectKey = true;
      if (i === source.length) bad('path ends with "."');
    } else {
      if (!expectKey) bad('expected "." or "["');
      if (source.startsWith('**', i)) {
        steps.push({ type: 'deep' });
        i += 2;
      } else if (c === '*') {
        steps.push({ type: 'anyKey' });
        i++;
      } else {
        let j = i;
        while (j < source.length && KEY_CHARS.test(source[j]!)) j++;
        if (j === i) bad(`unexpected "${c}"`);
        steps.push({ type: 'key', key: source.slice(i, j) });
        i = j;
      }
      expectKey = false;
      if (i < source.length && source[i] !== '.' && source[i] !== '[') bad(`unexpected "${source[i]}"`);
    }
  }
  if (steps.length > 0 && steps[steps.length - 1]!.type === 'deep') {
    i = source.length;
    bad('a path cannot end with "**"');
  }
  return { source, steps };
}

/** A concrete match of a path: where, and the value there. */
export interface PathMatch {
  path: PathSegment[];
  value: unknown;
}

const MAX_DEPTH = 64;

/**
 * Every concrete location `path` reaches in a plain JSON-like value. `**` walks maps and
 * sequences; shared (aliased) subtrees are walked once per route, cycles never.
 */
export function expandPath(root: unknown, path: CompiledPath): PathMatch[] {
  const out: PathMatch[] = [];
  const seen = new Set<string>();
  const onStack = new Set<unknown>();
  const walk = (value: unknown, at: PathSegment[], stepIndex: number): void => {
    if (at.length > MAX_DEPTH) return;
    if (stepIndex === path.steps.length) {
      const key = JSON.stringify(at);
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ path: at, value });
      }
      return;
    }
    const step = path.steps[stepIndex]!;
    switch (step.type) {
      case 'key':
        if (isRecord(value) && Object.hasOwn(value, step.key)) {
          walk(value[step.key], [...at, step.key], stepIndex + 1);
        }
        return;
      case 'index':
        if (Array.isArray(value) && step.index < value.length) {
          walk(value[step.index], [...at, step.index], stepIndex + 1);
        }
        return;
      case 'anyIndex':
        if (Array.isArray(value))
          value.forEach((v, n) => {
            walk(v, [...at, n], stepIndex + 1);
          });
        return;
      case 'anyKey':
        if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, [...at, k], stepIndex + 1);
        return;
      case 'deep':
        walk(value, at, stepIndex + 1);
        if (typeof value !== 'object' || value === null || onStack.has(value)) return;
        onStack.add(value);
        if (Array.isArray(value))
          value.forEach((v, n) => {
            walk(v, [...at, n], stepIndex);
          });
        else for (const [k, v] of Object.entries(value)) walk(v, [...at, k], stepIndex);
        onStack.delete(value);
        return;
    }
  };
  walk(root, [], 0);
  return out;
}

/** The value at a concrete path, or undefined. */
export function getPath(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[seg];
    } else {
      if (!isRecord(value) || !Object.hasOwn(value, seg)) return undefined;
      value = value[seg];
    }
  }
  return value;
}

/**
 * True when `key` can be written bare in a path: it starts with a letter, digit, `_`, `$`, `/` or
 * `-` and holds none of `.[]"'*` (what `/^[A-Za-z0-9_$/-][^.[\]"'*]*$/` says, without a regular
 * expression per segment: the webhook formats a path per image of every review).
 */
function isBareKey(key: string): boolean {
  if (key.length === 0) return false;
  const c = key.charCodeAt(0);
  const first =
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 36 || // $
    c === 47 || // /
    c === 45; // -
  if (!first) return false;
  for (let i = 1; i < key.length; i++) {
    const d = key.charCodeAt(i);
    // . [ ] " ' * (anything else, newlines included, may follow)
    if (d === 46 || d === 91 || d === 93 || d === 34 || d === 39 || d === 42) return false;
  }
  return true;
}

/** `spec.containers[0].image`; keys that need it are written `["a.b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (isBareKey(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
