/**
 * @module glob
 * Go's `path.Match`, used by distribution/reference `FamiliarMatch`.
 */

/** Go's `path.Match`: `*` and `?` never cross `/`; `[...]` classes with ranges and `^` negation. */
export function pathMatch(pattern: string, name: string): boolean {
  const re = globToRegExp(pattern);
  return re?.test(name) ?? false;
}

/** Whether `pattern` is a well-formed `path.Match` pattern (every `[` closed, no backslash at the end). */
export function isValidGlob(pattern: string): boolean {
  return globToRegExp(pattern) !== null;
}

function globToRegExp(pattern: string): RegExp | null {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) return null;
      out += escapeRe(pattern[i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) return null;
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      out += `(?!/)[${negate ? '^' : ''}${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else out += escapeRe(c);
  }
  return new RegExp(`${out}$`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
