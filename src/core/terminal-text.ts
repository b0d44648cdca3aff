/**
 * @module core/terminal-text
 * Text that came from outside (file names in a layer, tags, annotations, labels, a registry's
 * error body) made safe to print on a terminal: a name holding an escape sequence must show as
 * text, never move the cursor, retitle the window or hide the lines before it.
 *
 * {@link escapeText} quotes as GNU tar does by default (`--quoting-style=escape`): the C escapes
 * `\a \b \f \n \r \t \v`, a doubled backslash, and every other control character (C0, DEL, C1)
 * as `\ooo`, the octal value of each of its UTF-8 bytes. Everything else, spaces and printable
 * non-ASCII included, is left alone, so `imgdigest files` prints what `tar --list` prints.
 * {@link jsonText} is JSON with the same characters escaped as `\uXXXX` (plain `JSON.stringify`
 * leaves DEL and the C1 controls raw).
 */

const NAMED: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
};

const encoder = new TextEncoder();

function octal(char: string): string {
  let out = '';
  for (const byte of encoder.encode(char)) out += `\\${byte.toString(8).padStart(3, '0')}`;
  return out;
}

/**
 * `text` with control characters and backslashes escaped as GNU tar prints names.
 * @example escapeText('a\nb\u001b[2J') // 'a\\nb\\033[2J'
 */
export function escapeText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (c) => NAMED[c] ?? octal(c));
}

/**
 * `JSON.stringify(value, null, indent)` with DEL, the C1 controls and U+2028/U+2029 escaped too:
 * the same data, nothing a terminal acts on.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[\x7f-\x9f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
