/**
 * @module k8s/diff
 * A unified diff of two texts (`pin --diff`), from a Myers shortest-edit-script line diff.
 *
 * Lines keep their terminators while being compared, so a CRLF or a missing final newline shows up
 * as a change, and the output marks a last line without a newline as `diff -u` does.
 * @see Eugene W. Myers, "An O(ND) Difference Algorithm and Its Variations" (1986)
 */

type Op = { type: ' ' | '-' | '+'; line: string };

/** Split into lines, each keeping its `\n` (the last may have none). */
export function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines;
}

/** The edit script turning `a` into `b` (Myers, with common prefix and suffix trimmed first). */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf])
    suf++;
  const x = a.slice(pre, a.length - suf);
  const y = b.slice(pre, b.length - suf);
  const middle = myers(x, y);
  return [
    ...a.slice(0, pre).map((line) => ({ type: ' ' as const, line })),
    ...middle,
    ...a.slice(a.length - suf).map((line) => ({ type: ' ' as const, line })),
  ];
}

function myers(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const offset = max;
  let v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let xi =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let yi = xi - k;
      while (xi < n && yi < m && a[xi] === b[yi]) {
        xi++;
        yi++;
      }
      v[offset + k] = xi;
      if (xi >= n && yi >= m) {
        trace.push(v);
        break outer;
      }
    }
    v = v.slice();
  }
  // Walk the trace backwards to recover the script.
  const ops: Op[] = [];
  let xi = n;
  let yi = m;
  for (let d = trace.length - 2; d >= 0 && (xi > 0 || yi > 0); d--) {
    const vd = trace[d]!;
    const k = xi - yi;
    const down = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (xi > prevX && yi > prevY) {
      ops.push({ type: ' ', line: a[--xi]! });
      yi--;
    }
    if (d === 0) break;
    if (down) ops.push({ type: '+', line: b[--yi]! });
    else ops.push({ type: '-', line: a[--xi]! });
  }
  while (xi > 0 && yi > 0) {
    ops.push({ type: ' ', line: a[--xi]! });
    yi--;
  }
  return ops.reverse();
}

/**
 * A unified diff (`--- a/PATH`, `+++ b/PATH`, `@@` hunks with `context` lines around changes), or
 * `''` when the texts are equal.
 */
export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const ops = diffLines(splitLines(before), splitLines(after));
  const changed = ops.map((o, i) => (o.type === ' ' ? -1 : i)).filter((i) => i >= 0);
  let out = `--- a/${path}\n+++ b/${path}\n`;
  let i = 0;
  while (i < changed.length) {
    const start = Math.max(0, changed[i]! - context);
    let end = changed[i]!;
    while (i < changed.length && changed[i]! <= end + 2 * context) end = changed[i++]!;
    const stop = Math.min(ops.length, end + context + 1);
    let oldLine = 1;
    let newLine = 1;
    for (let j = 0; j < start; j++) {
      if (ops[j]!.type !== '+') oldLine++;
      if (ops[j]!.type !== '-') newLine++;
    }
    const hunk = ops.slice(start, stop);
    const oldCount = hunk.filter((o) => o.type !== '+').length;
    const newCount = hunk.filter((o) => o.type !== '-').length;
    out += `@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@\n`;
    for (const o of hunk) {
      const bare = o.line.endsWith('\n') ? o.line.slice(0, -1) : o.line;
      out += `${o.type}${bare}\n`;
      if (!o.line.endsWith('\n')) out += '\\ No newline at end of file\n';
    }
  }
  return out;
}

function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}
