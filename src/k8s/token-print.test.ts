/**
 * The token print: the check after pin's edits lexes the new text alone when the old text's print
 * (taken as it was parsed) matches, and lexes both, as before, whenever it does not; a print never
 * turns a good edit into a failure nor lets a bad one through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Lexer } from 'yaml';
import { fakeResolver } from '../../test/support/fake-resolver.js';
import { MAX_ALIAS_COUNT, streamFile } from './documents.js';
import { findImages, objectsIn } from './locations.js';
import { pinEach } from './pin.js';
import { relocateFiles } from './relocate.js';
import { defaultRules } from './rules.js';
import { type TokenPrint, TokenPrinter } from './token-print.js';
import { editText, type PlannedSplice, planEdit } from './yaml-edit.js';

const CORPUS = join(import.meta.dirname, '../../test/fixtures/k8s/corpus');
const DIGEST = `sha256:${'cd'.repeat(32)}`;

/** Parse `text` as pin does, taking its print; the planned edit of every image. */
function parsed(text: string): { print: TokenPrint | undefined; splices: PlannedSplice[] } {
  const file = streamFile('f.yaml', text, MAX_ALIAS_COUNT, new TokenPrinter());
  const splices: PlannedSplice[] = [];
  for (const d of file.docs) {
    for (const obj of objectsIn(d.value)) {
      for (const loc of findImages(obj)) {
        if (String(loc.image).includes('@')) continue;
        const plan = planEdit(d.doc, { document: d.index, path: loc.path, value: `${loc.image}@${DIGEST}` });
        if (!('refused' in plan)) splices.push(plan);
      }
    }
  }
  return { print: file.printer!.print(), splices };
}

/** How many texts the yaml lexer is asked to lex while `work` runs. */
function lexes<T>(work: () => T): { result: T; lexed: number } {
  const spy = vi.spyOn(Lexer.prototype, 'lex');
  try {
    const result = work();
    return { result, lexed: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('editText with the old text print', () => {
  const files = readdirSync(CORPUS).filter((f) => /\.(ya?ml|json)$/.test(f));

  it.each(files)('%s: lexes only the new text and writes what the full comparison writes', (name) => {
    const text = readFileSync(join(CORPUS, name), 'utf8');
    const { print, splices } = parsed(text);
    expect(print).toBeDefined();
    expect(splices.length).toBeGreaterThan(0);
    const full = lexes(() => editText(name, text, splices));
    const fast = lexes(() => editText(name, text, splices, print));
    expect(fast.result).toBe(full.result);
    expect(fast.result).not.toBe(text);
    expect(full.lexed).toBe(2);
    expect(fast.lexed).toBe(1);
  });

  it('takes an edited value equal to an earlier, untouched token at its own place', () => {
    // The first image is already pinned to the digest the second one gets: same token text twice.
    const pinned = `nginx:1.27@${DIGEST}`;
    const text = `kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: ${pinned}\n  - name: b\n    image: nginx:1.27\n`;
    const { print, splices } = parsed(text);
    expect(splices).toHaveLength(1);
    const out = lexes(() => editText('p.yaml', text, splices, print));
    expect(out.result).toBe(text.replace('image: nginx:1.27\n', `image: ${pinned}\n`));
    expect(out.lexed).toBe(1);
  });

  it('in flow style, quoted, over several documents, CRLF and a BOM', () => {
    const text =
      '\uFEFFkind: Pod\r\napiVersion: v1\r\nspec: {containers: [{name: a, image: "nginx:1.27"}]}\r\n---\r\n' +
      "kind: Pod\r\napiVersion: v1\r\nspec:\r\n  containers:\r\n  - {name: b, image: 'redis:7'} # c\r\n...\r\n";
    const { print, splices } = parsed(text);
    expect(splices).toHaveLength(2);
    const out = lexes(() => editText('p.yaml', text, splices, print));
    expect(out.result).toBe(
      text.replace('"nginx:1.27"', `"nginx:1.27@${DIGEST}"`).replace("'redis:7'", `'redis:7@${DIGEST}'`),
    );
    expect(out.lexed).toBe(1);
  });

  it('an edit that escapes its scalar still fails, the print notwithstanding', () => {
    const text = 'kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n';
    const { print, splices } = parsed(text);
    for (const bad of ['nginx:1.28\n    extra: injected', 'nginx #1.28', 'nginx: 1.28']) {
      const out = lexes(() => {
        try {
          editText('p.yaml', text, [{ ...splices[0]!, text: bad }], print);
          return 'written';
        } catch (e) {
          return (e as Error).message;
        }
      });
      expect(out.result).toMatch(/p\.yaml: edit verification failed, nothing written/);
      expect(out.lexed).toBe(3); // the new text, then both again for the message
    }
  });

  it('a print of another text is not a failure: both texts are lexed and compared', () => {
    const text = 'kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n';
    const { splices } = parsed(text);
    const other = parsed(`${text}# another\n`).print;
    const out = lexes(() => editText('p.yaml', text, splices, other));
    expect(out.result).toBe(text.replace('nginx:1.27', `nginx:1.27@${DIGEST}`));
    expect(out.lexed).toBe(3);
  });

  it('a file not read to its end has no print', () => {
    // A document is handed out once the next one is complete: the third is not lexed yet.
    const file = streamFile('f.yaml', 'a: 1\n---\nb: 2\n---\nc: 3\n', MAX_ALIAS_COUNT, new TokenPrinter());
    for (const _ of file.docs) break;
    expect(file.printer!.print()).toBeUndefined();
    const whole = streamFile('f.yaml', 'a: 1\n---\nb: 2\n---\nc: 3\n', MAX_ALIAS_COUNT, new TokenPrinter());
    expect([...whole.docs]).toHaveLength(3);
    expect(whole.printer!.print()).toBeDefined();
  });

  it('equal texts print equal, and any change of a token changes the print', () => {
    const print = (t: string) => parsed(t).print;
    const base = 'a: [x, "y"]\nb: z # c\n';
    expect(print(base)).toEqual(print(base));
    for (const t of ['a: [x, "Y"]\nb: z # c\n', 'a: [x, "y"]\nb: z # d\n', 'a: [x, "y"]\nb:  z # c\n'])
      expect(print(t)).not.toEqual(print(base));
  });
});

describe('pin lexes each file once more than it parses', () => {
  const docs = (n: number, from: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p${from + i}}\nspec:\n  containers:\n  - name: c\n    image: registry.example.com/app-${(from + i) % 3}:1.${i}\n`,
    ).join('---\n');
  const inputs = Array.from({ length: 4 }, (_, f) => ({ path: `f${f}.yaml`, text: docs(5, f * 5) }));

  it.each([
    ['kept from the first pass', 2, undefined],
    ['read again in the second', 3, 0],
  ])('files %s: %i lexes each', async (_what, perFile, keptCandidates) => {
    const texts: string[] = [];
    const spy = vi.spyOn(Lexer.prototype, 'lex');
    const summary = await pinEach(inputs, {
      rules: defaultRules(),
      resolver: fakeResolver(),
      ...(keptCandidates === undefined ? {} : { keptCandidates }),
      onFile: (f) => texts.push(f.text),
    });
    const lexed = spy.mock.calls.length;
    spy.mockRestore();
    expect(summary.changed.images).toBe(20);
    expect(texts).toHaveLength(4);
    texts.forEach((t, i) => {
      expect(t).not.toBe(inputs[i]!.text);
      expect(t.match(/@sha256:[0-9a-f]{64}/g)).toHaveLength(5);
    });
    expect(lexed).toBe(perFile * inputs.length);
  });
});

describe('relocate lexes each file twice too', () => {
  it('parses each file once, lexes the edited text once, and writes every image moved', async () => {
    const inputs = Array.from({ length: 3 }, (_, f) => ({
      path: `r${f}.yaml`,
      text: `apiVersion: v1\nkind: Pod\nmetadata: {name: p${f}}\nspec:\n  containers:\n  - name: c\n    image: registry.example.com/app-${f}:1.0 # kept\n`,
    }));
    const copied: string[] = [];
    const spy = vi.spyOn(Lexer.prototype, 'lex');
    const result = await relocateFiles(inputs, {
      rules: defaultRules(),
      to: { domain: 'mirror.example.com', prefix: 'base' },
      resolver: fakeResolver(),
      transfer: { copy: async (_from, to) => void copied.push(to.canonical) },
    });
    const lexed = spy.mock.calls.length;
    spy.mockRestore();
    expect(result.failures).toEqual([]);
    expect(copied).toHaveLength(3);
    for (const [i, f] of result.files.entries()) {
      expect(f.changed).toBe(true);
      expect(f.text).toMatch(
        new RegExp(`image: mirror\\.example\\.com/base/app-${i}:1\\.0@sha256:[0-9a-f]{64} # kept\\n$`),
      );
    }
    expect(lexed).toBe(2 * inputs.length);
  });
});
