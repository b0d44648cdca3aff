/**
 * @module json-edit
 * Change one member of a JSON document in its text, leaving every other byte as it was: the
 * other keys, their order, spacing, escapes and number spellings, and the final newline. A config
 * file that people and other programs also write (Docker's `config.json`) then changes only where
 * it has to. New members follow the style of their neighbours: one per line with the object's
 * indentation, or all on one line when the object is written compactly.
 *
 * The text must be valid JSON whose top level is an object (parse it first: this module reads
 * structure, it does not report syntax errors). With duplicate keys, the last one counts, as for
 * `JSON.parse`.
 */
import { ImgdigestError } from './errors.js';

/** One `"key": value` of an object: offsets into the text. */
interface Member {
  key: string;
  keyStart: number;
  valueStart: number;
  valueEnd: number;
}

interface ObjectSpan {
  open: number;
  close: number;
  members: Member[];
}

/**
 * Set the member at `path` to `value` (created with its parents when missing), or remove it when
 * `value` is `undefined`; returns the new text.
 * @example
 * setJsonMember('{\n\t"auths": {}\n}\n', ['auths', 'localhost:5000'], { auth: 'dTpw' })
 * // '{\n\t"auths": {\n\t\t"localhost:5000": {\n\t\t\t"auth": "dTpw"\n\t\t}\n\t}\n}\n'
 */
export function setJsonMember(text: string, path: readonly string[], value: unknown): string {
  if (path.length === 0) throw new ImgdigestError('INPUT_INVALID', 'setJsonMember: empty path');
  const start = skipSpace(text, 0);
  if (text[start] !== '{') throw new ImgdigestError('INPUT_INVALID', 'setJsonMember: not a JSON object');
  return edit(text, readObject(text, start), path, value, unitIndent(text));
}

function edit(text: string, obj: ObjectSpan, path: readonly string[], value: unknown, unit: string): string {
  const [key, ...rest] = path as [string, ...string[]];
  const matches = obj.members.filter((m) => m.key === key);
  const member = matches.at(-1);
  if (value === undefined && rest.length === 0) {
    // Remove every occurrence, last first so earlier offsets stay valid.
    let out = text;
    for (const m of [...matches].reverse()) out = removeMember(out, readObject(out, obj.open), m);
    return out;
  }
  if (member && rest.length > 0 && text[member.valueStart] === '{') {
    return edit(text, readObject(text, member.valueStart), rest, value, unit);
  }
  if (value === undefined) return text; // removing below a member that is not there
  const nested = rest.reduceRight<unknown>((inner, k) => ({ [k]: inner }), value);
  if (member) {
    const compact = !leadOf(text, member).includes('\n');
    const rendered = render(nested, lineIndent(text, member.keyStart), unit, compact);
    return text.slice(0, member.valueStart) + rendered + text.slice(member.valueEnd);
  }
  return insertMember(text, obj, key, nested, unit);
}

function insertMember(text: string, obj: ObjectSpan, key: string, value: unknown, unit: string): string {
  const last = obj.members.at(-1);
  if (last) {
    // Copy the last member's layout: what precedes its key, and what follows its colon.
    const lead = leadOf(text, last);
    const colon = text.slice(skipString(text, last.keyStart), last.valueStart);
    const indent = lead.includes('\n') ? lead.slice(lead.lastIndexOf('\n') + 1) : '';
    const rendered = render(value, indent, unit, !lead.includes('\n'));
    const member = `,${lead}${JSON.stringify(key)}${colon}${rendered}`;
    return text.slice(0, last.valueEnd) + member + text.slice(last.valueEnd);
  }
  const head = text.slice(0, obj.open + 1);
  const tail = text.slice(obj.close);
  // An empty object: one line when the whole document is on one line, else one member per line.
  const top = skipSpace(text, 0);
  if (!text.slice(top, text.lastIndexOf('}')).includes('\n')) {
    return `${head}${JSON.stringify(key)}:${JSON.stringify(value)}${tail}`;
  }
  const outer = lineIndent(text, obj.open);
  const inner = outer + unit;
  return `${head}\n${inner}${JSON.stringify(key)}: ${render(value, inner, unit, false)}\n${outer}${tail}`;
}

function removeMember(text: string, obj: ObjectSpan, member: Member): string {
  const i = obj.members.findIndex((m) => m.keyStart === member.keyStart);
  const before = obj.members[i - 1];
  const after = obj.members[i + 1];
  if (before) return text.slice(0, before.valueEnd) + text.slice(member.valueEnd);
  if (after) return text.slice(0, member.keyStart) + text.slice(after.keyStart);
  return `${text.slice(0, obj.open + 1)}${text.slice(obj.close)}`;
}

/** `value` as JSON; lines after the first indented by `indent` (the member's own line indentation). */
function render(value: unknown, indent: string, unit: string, compact: boolean): string {
  if (compact) return JSON.stringify(value);
  return JSON.stringify(value, null, unit).replace(/\n/g, `\n${indent}`);
}

/** The indentation step of the file (the first indented line's), tab by default (Docker's). */
function unitIndent(text: string): string {
  return /\n([ \t]+)\S/.exec(text)?.[1] ?? '\t';
}

/** The whitespace that starts the line holding offset `at`. */
function lineIndent(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, at))![0];
}

/** The whitespace between a member's key and the `{` or `,` before it. */
function leadOf(text: string, member: Member): string {
  let i = member.keyStart - 1;
  while (i >= 0 && text[i] !== ',' && text[i] !== '{') i--;
  return text.slice(i + 1, member.keyStart);
}

function readObject(text: string, open: number): ObjectSpan {
  const members: Member[] = [];
  let i = skipSpace(text, open + 1);
  while (text[i] !== '}') {
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // the colon
    const valueStart = i;
    const valueEnd = skipValue(text, i);
    members.push({ key, keyStart, valueStart, valueEnd });
    i = skipSpace(text, valueEnd);
    if (text[i] === ',') i = skipSpace(text, i + 1);
    if (i >= text.length) throw new ImgdigestError('INPUT_INVALID', 'setJsonMember: unterminated object');
  }
  return { open, close: i, members };
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r'))
    i++;
  return i;
}

/** The offset after the string that starts at `i` (a `"`). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** The offset after the value that starts at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text[j];
      if (d === '"') {
        j = skipString(text, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !/[\s,}\]]/.test(text[j]!)) j++;
  return j;
}
