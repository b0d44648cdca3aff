/**
 * @module k8s/documents
 * Read a manifest file's YAML documents (JSON is YAML), one at a time or all at once, and answer
 * "where is the node at this path" for reports and edits.
 *
 * Each document is composed once with source tokens kept (for byte-exact edits) and converted to a
 * plain value once (for the locators, which are shared with the JSON webhook). Alias expansion is
 * bounded by the yaml package's `maxAliasCount`, so an alias bomb is refused instead of eating the
 * memory. Merge keys (`<<: *base`) are honoured as Kubernetes' YAML 1.1 parser does.
 */
import {
  Composer,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  type ParsedNode,
  Parser,
  type Scalar,
} from 'yaml';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import type { PathSegment } from './paths.js';
import { TokenPrinter } from './token-print.js';

/** The alias expansion limit (the yaml package's default). */
export const MAX_ALIAS_COUNT = 100;

export interface ParsedDocument {
  /** 0-based position of the document in its file. */
  index: number;
  doc: Document.Parsed;
  /** The plain value (`null` for an empty document). */
  value: unknown;
}

/**
 * A file read document by document: `docs` composes each YAML document when it is reached, so a
 * walk that lets go of a document before taking the next holds one document's tree at a time,
 * whatever the size of the file. `lineCounter` knows every line up to the current document.
 */
export interface StreamedFile {
  path: string;
  text: string;
  /** Iterable once. Throws `YAML_INVALID` (see {@link parseFile}) when it reaches a bad document. */
  docs: Iterable<ParsedDocument>;
  lineCounter: LineCounter;
  /** Takes the fingerprint of the text's tokens while `docs` is read (when asked for). */
  printer?: TokenPrinter;
}

/** A file with all its documents parsed (small inputs: a KRM ResourceList, tests). */
export interface ParsedFile extends StreamedFile {
  docs: ParsedDocument[];
}

/** Options every parse of a manifest uses, so edits and their verification agree. */
export const PARSE_OPTIONS = { merge: true, prettyErrors: false } as const;

/**
 * Open a file for a walk over its documents, one at a time (nothing is parsed until `docs` is
 * iterated).
 */
export function streamFile(
  path: string,
  text: string,
  maxAliasCount = MAX_ALIAS_COUNT,
  printer?: TokenPrinter,
): StreamedFile {
  const lineCounter = new LineCounter();
  const docs = documentsOf(path, text, lineCounter, maxAliasCount, printer);
  return printer ? { path, text, lineCounter, docs, printer } : { path, text, lineCounter, docs };
}

/**
 * Parse all documents of a file. Throws `YAML_INVALID` naming `file:line:column` for the first
 * syntax error, or for an alias bomb.
 */
export function parseFile(path: string, text: string, maxAliasCount = MAX_ALIAS_COUNT): ParsedFile {
  const file = streamFile(path, text, maxAliasCount);
  return { ...file, docs: [...file.docs] };
}

/**
 * The documents of a text as the yaml package's parser and composer reach them (the lexer, parser
 * and composer are all generators: a document is composed when its end is seen, and nothing keeps
 * the documents already handed out).
 */
function* documentsOf(
  path: string,
  text: string,
  lineCounter: LineCounter,
  maxAliasCount: number,
  printer: TokenPrinter | undefined,
): Generator<ParsedDocument> {
  const composer = new Composer({ ...PARSE_OPTIONS, keepSourceTokens: true });
  const parser = new Parser(lineCounter.addNewLine);
  const tokens = printer ? printedTokens(parser, text, lineCounter, printer) : parser.parse(text);
  let index = 0;
  for (const doc of composer.compose(tokens)) {
    const error = doc.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw yamlError(path, line, col, error.message.split('\n')[0] ?? 'invalid YAML');
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (e) {
      const start = doc.contents?.range[0] ?? 0;
      const { line, col } = lineCounter.linePos(start);
      const why = /alias/i.test((e as Error).message)
        ? `too many alias expansions (more than ${maxAliasCount}): refusing a possible alias bomb`
        : (e as Error).message;
      throw yamlError(path, line, col, why);
    }
    yield { index: index++, doc, value };
  }
}

/**
 * What `parser.parse(text)` yields, with each lexeme added to `printer` on the way (the yaml
 * package's documented way of feeding its parser from a lexer of one's own).
 */
function* printedTokens(parser: Parser, text: string, lineCounter: LineCounter, printer: TokenPrinter) {
  lineCounter.addNewLine(0); // what parse() does first
  for (const lexeme of new Lexer().lex(text)) {
    printer.add(lexeme);
    yield* parser.next(lexeme);
  }
  printer.complete();
  yield* parser.end();
}

/**
 * Walk every file's documents, file by file, with `visit` (which iterates `file.docs`); with
 * `print`, each file's `printer` takes the fingerprint of its tokens on the way. A file
 * with invalid YAML is dropped where its error is found and the next file is visited; at the end
 * one `YAML_INVALID` names every bad file (see {@link combine}), so a run reports all of them at
 * once. Whatever `visit` gathered is then meant to be thrown away: nothing is acted on.
 */
export function visitFiles(
  inputs: readonly { path: string; text: string }[],
  visit: (file: StreamedFile, index: number) => void,
  options: { print?: boolean } = {},
): void {
  const errors: ImgdigestError[] = [];
  for (const [index, f] of inputs.entries()) {
    try {
      visit(
        streamFile(f.path, f.text, MAX_ALIAS_COUNT, options.print ? new TokenPrinter() : undefined),
        index,
      );
    } catch (e) {
      if (!isImgdigestError(e) || e.code !== 'YAML_INVALID') throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) throw combine(errors);
}

/**
 * Parse every file before anything else happens. Throws one `YAML_INVALID` naming every file that
 * does not parse (see {@link combine}), so a run reports all of them at once and changes nothing.
 * With `print`, each file's `printer` holds the print of its tokens (for `editText`).
 */
export function parseFiles(
  inputs: readonly { path: string; text: string }[],
  options: { print?: boolean } = {},
): ParsedFile[] {
  const parsed: ParsedFile[] = [];
  visitFiles(
    inputs,
    (file) => {
      parsed.push({ ...file, docs: [...file.docs] });
    },
    options,
  );
  return parsed;
}

/** One error listing all: the first one's code, every message on its own line in `details`. */
export function combine(errors: ImgdigestError[]): ImgdigestError {
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  return new ImgdigestError(first.code, `${first.message} (and ${errors.length - 1} more errors)`, {
    details: { errors: errors.map((e) => e.message) },
  });
}

function yamlError(path: string, line: number, col: number, why: string): ImgdigestError {
  return new ImgdigestError('YAML_INVALID', `${path}:${line}:${col}: invalid YAML: ${why}`, {
    details: { path, line, column: col },
  });
}

/** Where a path leads in the YAML tree. */
export interface NodeAt {
  /** The node written at the path's last step (an Alias when the value is `*name`). */
  at: Node;
  /** The value node after resolving aliases (the anchored node for `*name`). */
  node: Node;
  /** True when any step went through an alias or a merge key (the value lives elsewhere). */
  shared: boolean;
}

function resolveAlias(doc: Document, node: unknown): { node: unknown; aliased: boolean } {
  let aliased = false;
  let n = node;
  for (let hops = 0; isAlias(n) && hops < 64; hops++) {
    n = n.resolve(doc);
    aliased = true;
  }
  return { node: n, aliased };
}

function lookupKey(
  doc: Document,
  map: unknown,
  key: string,
  depth = 0,
): { node: unknown; merged: boolean } | undefined {
  if (!isMap(map) || depth > 16) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && typeof pair.key.value !== 'symbol' && String(pair.key.value) === key) {
      return { node: pair.value, merged: false };
    }
  }
  for (const pair of map.items) {
    // With `merge: true` the yaml package gives a merge key a symbol value (and source `<<`).
    if (!isScalar(pair.key) || (pair.key.source !== '<<' && pair.key.value !== '<<')) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const s of sources) {
      const found = lookupKey(doc, resolveAlias(doc, s).node, key, depth + 1);
      if (found) return { node: found.node, merged: true };
    }
  }
  return undefined;
}

/** The node at a path (aliases and merge keys followed), or undefined. */
export function nodeAt(doc: Document, path: readonly PathSegment[]): NodeAt | undefined {
  let current: unknown = doc.contents;
  let shared = false;
  for (const seg of path) {
    const r = resolveAlias(doc, current);
    shared ||= r.aliased;
    if (typeof seg === 'number') {
      if (!isSeq(r.node)) return undefined;
      current = r.node.items[seg];
    } else {
      const found = lookupKey(doc, r.node, seg);
      if (!found) return undefined;
      shared ||= found.merged;
      current = found.node;
    }
    if (current === undefined || current === null) return undefined;
  }
  const at = current as Node;
  const r = resolveAlias(doc, at);
  return { at, node: r.node as Node, shared: shared || r.aliased };
}

/** 1-based line and column of a character offset. */
export function positionOf(
  file: Pick<StreamedFile, 'lineCounter'>,
  offset: number,
): { line: number; column: number } {
  const { line, col } = file.lineCounter.linePos(offset);
  return { line, column: col };
}

/** The position of the value at a path (where it is written, even when it is an alias). */
export function positionAt(
  file: Pick<StreamedFile, 'lineCounter'>,
  doc: Document,
  path: readonly PathSegment[],
): { line: number; column: number } {
  const found = nodeAt(doc, path);
  const range = (found?.at as ParsedNode | undefined)?.range ?? doc.contents?.range;
  return positionOf(file, range?.[0] ?? 0);
}

export type { Scalar };
