/**
 * @module k8s/yaml-edit
 * Byte-exact edits of scalar values in YAML (and JSON) text.
 *
 * The original text is never re-stringified: each edited scalar's source token is replaced in
 * place, written in the quote style it had (plain, single or double), so comments, anchors, key
 * order, indentation, flow style, document markers, CRLF line endings and a BOM stay byte for
 * byte. After all splices of a file the new text is parsed once more and compared with the old
 * documents: only the edited values may differ (ARCHITECTURE.md "Decisions already taken").
 */
import { type Document, isScalar, type Node, parseAllDocuments, type Scalar, visit } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import { nodeAt, PARSE_OPTIONS, type ParsedFile } from './documents.js';
import type { PathSegment } from './paths.js';

/** Replace the value at `path` in document `document` with `value`. */
export interface ScalarEdit {
  document: number;
  path: PathSegment[];
  value: string;
}

/** Where an edit lands in the text, once planned. */
export interface PlannedSplice {
  start: number;
  end: number;
  text: string;
  node: Node;
}

type Style = 'plain' | 'single' | 'double';

const STYLE_OF: Record<string, Style> = {
  scalar: 'plain',
  'single-quoted-scalar': 'single',
  'double-quoted-scalar': 'double',
};

/** Characters that would change the meaning of a plain scalar (in block or flow context). */
const PLAIN_SAFE = /^[^\s#'"&*!|>%@`{}[\],?:-][^\s#{}[\],]*$/;

/** The scalar written in a quote style, or undefined when that style cannot hold it. */
export function encodeScalar(value: string, style: Style): string | undefined {
  switch (style) {
    case 'plain':
      return PLAIN_SAFE.test(value) && !value.includes(': ') && !value.endsWith(':') ? value : undefined;
    case 'single':
      return /[\n\r]/.test(value) ? undefined : `'${value.replace(/'/g, "''")}'`;
    case 'double':
      return JSON.stringify(value);
  }
}

/**
 * Plan one edit: the source range of the scalar at the path and its replacement. Returns a reason
 * string when the value cannot be edited in place (block scalar, multi-line scalar, not a scalar).
 */
export function planEdit(doc: Document.Parsed, edit: ScalarEdit): PlannedSplice | { refused: string } {
  const found = editableAt(doc, edit.path);
  if ('refused' in found) return found;
  const { node, token, style } = found;
  const text = encodeScalar(edit.value, style);
  if (text === undefined) return { refused: `cannot write "${edit.value}" as a ${style} scalar` };
  return { start: token.offset, end: token.offset + token.source.length, text, node };
}

/**
 * The scalar at a path if it can be edited in place, or why not: values written as block scalars
 * or spread over several lines are left alone (rewriting them would change their layout).
 */
export function editableAt(
  doc: Document.Parsed,
  path: readonly PathSegment[],
): { node: Scalar; token: { offset: number; source: string }; style: Style } | { refused: string } {
  const found = nodeAt(doc, path);
  if (!found) return { refused: 'value not found' };
  const node = found.node;
  if (!isScalar(node) || !node.srcToken) return { refused: 'not a scalar' };
  const token = node.srcToken;
  if (token.type === 'block-scalar') return { refused: 'block scalar (| or >), left alone' };
  const style = STYLE_OF[token.type];
  if (!style || !('source' in token)) return { refused: 'not a plain or quoted scalar' };
  if (/[\n\r]/.test(token.source)) return { refused: 'scalar spans several lines, left alone' };
  return { node, token, style };
}

/**
 * Apply planned splices to a text (any order given; overlapping or duplicate splices of the same
 * node are applied once).
 */
export function splice(text: string, splices: readonly PlannedSplice[]): string {
  const unique = new Map<number, PlannedSplice>();
  for (const s of splices) unique.set(s.start, s);
  const sorted = [...unique.values()].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const s of sorted) {
    if (s.start < at) throw new ImgdigestError('INPUT_INVALID', `overlapping edits at offset ${s.start}`);
    out += text.slice(at, s.start) + s.text;
    at = s.end;
  }
  return out + text.slice(at);
}

/**
 * Edit a parsed file and verify the result. Throws `YAML_INVALID` if the new text does not parse
 * to the old documents with exactly the edited values changed (which would be a bug: nothing is
 * written then). The parsed file's nodes receive the new values as a side effect.
 */
export function editFile(file: ParsedFile, splices: readonly PlannedSplice[]): string {
  if (splices.length === 0) return file.text;
  const next = splice(file.text, splices);
  for (const s of splices) if (isScalar(s.node)) s.node.value = nodeValueAfter(s);
  verify(file, next, splices);
  return next;
}

function nodeValueAfter(s: PlannedSplice): string {
  const t = s.text;
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('"')) return JSON.parse(t) as string;
  return t;
}

/**
 * Re-parse the new text and confirm it holds the old documents with exactly the edited values
 * changed: no parse errors, the same number of documents and of nodes of each kind, and at each
 * edited position a scalar with the intended value. Everything outside the splices is
 * byte-identical by construction, so a splice that escaped its token would show up as a changed
 * node count or a different value at its position. This costs one parse and two tree walks (no
 * conversion of whole documents to JavaScript), which keeps pinning near the cost of parsing.
 */
function verify(file: ParsedFile, next: string, splices: readonly PlannedSplice[]): void {
  const fail = (why: string): never => {
    throw new ImgdigestError(
      'YAML_INVALID',
      `${file.path}: edit verification failed, nothing written: ${why}`,
      {
        details: { path: file.path },
      },
    );
  };
  const after = parseAllDocuments(next, PARSE_OPTIONS);
  const docs = Array.isArray(after) ? after : [];
  if (docs.length !== file.docs.length) fail(`${file.docs.length} documents before, ${docs.length} after`);
  const expected = new Map<number, string>();
  let delta = 0;
  for (const s of [...new Map(splices.map((x) => [x.start, x])).values()].sort((a, b) => a.start - b.start)) {
    expected.set(s.start + delta, nodeValueAfter(s));
    delta += s.text.length - (s.end - s.start);
  }
  let matched = 0;
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0)
      fail(`document ${i + 1} no longer parses: ${doc.errors[0]!.message.split('\n')[0]}`);
    const before = shapeOf(file.docs[i]!.doc);
    const now = shapeOf(doc, (node) => {
      const at = node.range?.[0];
      if (at === undefined || !expected.has(at)) return;
      if (node.value !== expected.get(at)) fail(`the value at offset ${at} reads "${String(node.value)}"`);
      matched++;
    });
    if (before !== now) fail(`document ${i + 1} changed beyond the edited values`);
  });
  if (matched !== expected.size)
    fail(`${expected.size - matched} edited value(s) not found where they were written`);
}

/** Counts of each node kind in a document, as one comparable string. */
function shapeOf(doc: Document, onScalar?: (node: Scalar) => void): string {
  const counts = { map: 0, seq: 0, pair: 0, scalar: 0, alias: 0 };
  visit(doc, {
    Map: () => {
      counts.map++;
    },
    Seq: () => {
      counts.seq++;
    },
    Pair: () => {
      counts.pair++;
    },
    Alias: () => {
      counts.alias++;
    },
    Scalar: (_key, node) => {
      counts.scalar++;
      onScalar?.(node);
    },
  });
  return `${counts.map}/${counts.seq}/${counts.pair}/${counts.scalar}/${counts.alias}`;
}
