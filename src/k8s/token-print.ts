/**
 * @module k8s/token-print
 * A fingerprint of a text's YAML token stream (the yaml package's lexemes, in order): how many, and
 * two 32-bit hashes of their text. Pin takes it while it parses a file for its images, so that the
 * check after its edits (the new text must lex to the old tokens with only the edited scalars
 * changed) lexes the new text alone and compares it with the fingerprint, instead of lexing the
 * old text a second time. A fingerprint that does not match is never taken as a failure: the full
 * comparison of both token streams then decides (and names the token that changed).
 */
import { CST, Lexer } from 'yaml';

/** What a token stream comes to. Equal prints mean equal streams (but for a 64-bit collision). */
export interface TokenPrint {
  readonly count: number;
  readonly a: number;
  readonly b: number;
}

/** Adds lexemes, one at a time, to a {@link TokenPrint}. */
export class TokenPrinter {
  #count = 0;
  // FNV-1a, and a multiply-xorshift hash with its own seed: two independent 32-bit hashes.
  #a = 0x811c9dc5;
  #b = 0x2545f491;
  #complete = false;

  add(lexeme: string): void {
    let a = Math.imul(this.#a ^ lexeme.length, 0x01000193);
    let b = Math.imul(this.#b ^ lexeme.length, 0x9e3779b1);
    for (let i = 0; i < lexeme.length; i++) {
      const c = lexeme.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x85ebca6b);
      b ^= b >>> 13;
    }
    this.#a = a;
    this.#b = b;
    this.#count++;
  }

  /** Every lexeme of the text was added. */
  complete(): void {
    this.#complete = true;
  }

  /** The print, or undefined when the text was not lexed to its end. */
  print(): TokenPrint | undefined {
    return this.#complete ? { count: this.#count, a: this.#a >>> 0, b: this.#b >>> 0 } : undefined;
  }
}

/** The lexemes that mark a token's kind and hold no source text (the parser keeps no offset for them). */
const MARKERS = new Set<string>([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/** A replaced scalar: its old text, and where its new text starts in the new text. */
export interface PrintedEdit {
  /** Offset of the new text in the edited text. */
  at: number;
  /** The edited text's token there. */
  text: string;
  /** The token it replaced. */
  old: string;
}

/**
 * True when `next` lexes to the stream `print` was taken of with each edit's new token (at its
 * offset, in order) standing where its old token stood. False means "not shown", not "different".
 */
export function matchesPrint(next: string, edits: readonly PrintedEdit[], print: TokenPrint): boolean {
  const printer = new TokenPrinter();
  let k = 0;
  let offset = 0;
  let atScalar = false;
  for (const lexeme of new Lexer().lex(next)) {
    const edit = edits[k];
    if (edit !== undefined && offset === edit.at && lexeme === edit.text) {
      printer.add(edit.old);
      k++;
    } else {
      printer.add(lexeme);
    }
    // The parser's own offset rule: a marker holds no text, except as the source after a scalar's.
    if (atScalar || !MARKERS.has(lexeme)) offset += lexeme.length;
    atScalar = !atScalar && lexeme === CST.SCALAR;
  }
  printer.complete();
  const now = printer.print()!;
  return k === edits.length && now.count === print.count && now.a === print.a && now.b === print.b;
}
