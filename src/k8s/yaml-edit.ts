/**
 * @module k8s/yaml-edit
 * Byte-exact edits of scalar values in YAML (and JSON) text.
 *
 * The original text is never re-stringified: each edited scalar's source token is replaced in
 * place, written in the quote style it had (plain, single or double), so comments, anchors, key
 * order, indentation, flow style, document markers, CRLF line endings and a BOM stay byte for
 * byte. After all splices of a file the new text is lexed once more and compared with the old
 * text's tokens (or their print, taken when pin parsed the file: see `token-print.ts`): only the
 * edited values may differ. (Re-stringifying a document through a YAML
 * library would reflow comments, quotes and flow style: a diff a reviewer cannot trust.)
 */
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isScalar, Lexer, type Node, parseAllDocuments, type Scalar } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import { MAX_ALIAS_COUNT, nodeAt, PARSE_OPTIONS, type ParsedFile } from './documents.js';
import type { PathSegment } from './paths.js';
import { matchesPrint, type TokenPrint } from './token-print.js';

/** Replace the value at `path` in document `document` with `value`. */
export interface ScalarEdit {
  document: number;
  path: PathSegment[];
  value: string;
}

/**
 * Where an edit lands in the text: the source range of a scalar token and what replaces it, or
 * (`start === end`) where a new `key: value` line goes.
 */
export interface Splice {
  start: number;
  end: number;
  text: string;
  /**
   * The value an insertion gives (document index, path from its root, new value): an added key
   * is verified by comparing values, having no old token to compare with.
   */
  expect?: { document: number; path: readonly PathSegment[]; value: string };
}

/** A splice planned on a parsed document, with the node it edits. */
export interface PlannedSplice extends Splice {
  node: Node;
}

/** How a scalar is written: the quote style an edit keeps. */
export type Style = 'plain' | 'single' | 'double';

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
 * Apply splices to a text (any order given; duplicate splices of the same token are applied once).
 * The pieces are joined once at the end, so a file with 10^5 edits costs one copy of the text.
 */
export function splice(text: string, splices: readonly Splice[]): string {
  const unique = new Map<number, Splice>();
  for (const s of splices) unique.set(s.start, s);
  const sorted = [...unique.values()].sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let at = 0;
  for (const s of sorted) {
    if (s.start < at) throw new ImgdigestError('INPUT_INVALID', `overlapping edits at offset ${s.start}`);
    parts.push(text.slice(at, s.start), s.text);
    at = s.end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/**
 * Edit a parsed file and verify the result (see {@link editText}). The parsed file's nodes receive
 * the new values as a side effect.
 */
export function editFile(file: ParsedFile, splices: readonly PlannedSplice[]): string {
  const next = editText(file.path, file.text, splices);
  for (const s of splices) if (isScalar(s.node)) s.node.value = nodeValueAfter(s);
  return next;
}

/**
 * Apply splices to the text of the file at `path` and verify the result. Throws `YAML_INVALID`
 * if the new text does not lex to the old tokens with exactly the edited scalars changed (which
 * would be a bug: nothing is written then). `print`, the fingerprint of `text`'s tokens taken when
 * it was parsed (`visitFiles` with `print`), spares lexing `text` again when it matches.
 */
export function editText(path: string, text: string, splices: readonly Splice[], print?: TokenPrint): string {
  if (splices.length === 0) return text;
  const replaced = [...new Map(splices.filter((s) => s.start !== s.end).map((s) => [s.start, s])).values()];
  const inserts = splices.filter((s) => s.start === s.end);
  let mid = text;
  if (replaced.length > 0) {
    mid = splice(text, replaced);
    verify(path, text, mid, replaced, print);
  }
  if (inserts.length === 0) return mid;
  // Added keys are verified by value, on the text with the replacements made (offsets moved).
  const moved = inserts.map((s) => {
    let at = s.start;
    for (const r of replaced) if (r.end <= s.start) at += r.text.length - (r.end - r.start);
    return { ...s, start: at, end: at };
  });
  const next = splice(mid, moved);
  verifyValues(path, mid, next, moved);
  return next;
}

/**
 * Where to add `key: value` to the mapping that holds the scalar at `after` (a tag): on a line of
 * its own below that scalar's line, at the scalar's key's indentation, with the file's line
 * ending; or `, key: value` right after it in a flow mapping. `prefix` goes before the value.
 */
export function insertionAfter(
  doc: Document.Parsed,
  text: string,
  after: readonly PathSegment[],
  key: string,
): { at: number; prefix: string; flow: boolean } | { refused: string } {
  const found = editableAt(doc, after);
  if ('refused' in found) return found;
  const parent = nodeAt(doc, after.slice(0, -1))?.node;
  if (!isMap(parent)) return { refused: 'not in a mapping' };
  const end = found.token.offset + found.token.source.length;
  if (parent.flow) return { at: end, prefix: `, ${key}: `, flow: true };
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === after.at(-1));
  const keyOffset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  if (keyOffset === undefined) return { refused: 'key not found' };
  const indent = keyOffset - (text.lastIndexOf('\n', keyOffset - 1) + 1);
  let at = text.indexOf('\n', end);
  if (at < 0) at = text.length;
  const crlf = at > 0 && text[at - 1] === '\r';
  if (crlf) at--;
  return { at, prefix: `${crlf ? '\r\n' : '\n'}${' '.repeat(indent)}${key}: `, flow: false };
}

/**
 * Verify edits that add keys: the new text must parse to the old documents with exactly the
 * expected values set (compared as values: the added keys have no old tokens to compare with).
 */
function verifyValues(path: string, text: string, next: string, splices: readonly Splice[]): void {
  const fail = (why: string): never => {
    throw new ImgdigestError('YAML_INVALID', `${path}: edit verification failed, nothing written: ${why}`, {
      details: { path },
    });
  };
  const values = (source: string): unknown[] => {
    const docs = parseAllDocuments(source, PARSE_OPTIONS);
    const list = Array.isArray(docs) ? docs : [];
    const bad = list.find((d) => d.errors.length > 0);
    if (bad) fail(`the edited text does not parse: ${bad.errors[0]!.message.split('\n')[0]}`);
    return list.map((d) => d.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
  };
  const expected = values(text);
  for (const s of splices) {
    if (!s.expect) fail('an edit without its expected value');
    const { document, path: at, value } = s.expect!;
    const parent = at
      .slice(0, -1)
      .reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k as string], expected[document]);
    if (typeof parent !== 'object' || parent === null) fail(`no mapping at ${at.join('.')}`);
    (parent as Record<string, unknown>)[at.at(-1) as string] = value;
  }
  const actual = values(next);
  if (!isDeepStrictEqual(expected, actual)) fail('a value changed beyond the edited ones');
}

function nodeValueAfter(s: Splice): string {
  const t = s.text;
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('"')) return JSON.parse(t) as string;
  return t;
}

/**
 * Re-read the new text and confirm that it differs from the old one only in the edited scalars:
 * both texts are run through the YAML lexer (the first stage of parsing), and the two token
 * streams must be identical except that each edited scalar token now holds exactly the text that
 * was written. The parser builds the same structure from the same token kinds, so this proves no
 * edit escaped its scalar (a newline, a `#`, a quote would all change the tokens) at about half
 * the cost of composing the documents again, which keeps pinning near the cost of parsing.
 * With `print` (the old text's tokens, fingerprinted when it was parsed) only the new text is
 * lexed; when that does not show the streams equal, both are lexed and compared as above.
 */
function verify(
  path: string,
  text: string,
  next: string,
  splices: readonly Splice[],
  print?: TokenPrint,
): void {
  const fail = (why: string): never => {
    throw new ImgdigestError('YAML_INVALID', `${path}: edit verification failed, nothing written: ${why}`, {
      details: { path },
    });
  };
  const edits = [...new Map(splices.map((x) => [x.start, x])).values()]
    .filter((x) => text.slice(x.start, x.end) !== x.text)
    .sort((x, y) => x.start - y.start);
  if (print) {
    let shift = 0;
    const printed = edits.map((x) => {
      const at = x.start + shift;
      shift += x.text.length - (x.end - x.start);
      return { at, text: x.text, old: text.slice(x.start, x.end) };
    });
    if (matchesPrint(next, printed, print)) return;
  }
  const before = new Lexer().lex(text);
  const after = new Lexer().lex(next);
  let k = 0;
  for (;;) {
    const old = before.next();
    const now = after.next();
    if (old.done || now.done) {
      if (!old.done || !now.done) fail('the edited text has a different number of YAML tokens');
      break;
    }
    if (old.value === now.value) continue;
    const edit = edits[k];
    if (!edit || old.value !== text.slice(edit.start, edit.end) || now.value !== edit.text) {
      fail(
        `a YAML token changed beyond the edited values ("${old.value.slice(0, 40)}" became "${now.value.slice(0, 40)}")`,
      );
    }
    k++;
  }
  if (k !== edits.length) fail(`${edits.length - k} edited value(s) not found where they were written`);
}
