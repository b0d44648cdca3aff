/**
 * Byte-exact edits: unit cases for each quote style, and a property test — random documents in
 * random styles (block/flow, plain/single/double quotes, comments, CRLF, BOM): after editing every
 * image, the text re-parses to the same value with only the images changed, and every byte
 * outside the edited scalars is identical.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Document, Lexer, parseAllDocuments, Scalar, visit } from 'yaml';
import { MAX_ALIAS_COUNT, parseFile, streamFile } from './documents.js';
import { findImages, objectsIn } from './locations.js';
import { TokenPrinter } from './token-print.js';
import { editFile, editText, encodeScalar, type PlannedSplice, planEdit } from './yaml-edit.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function pinAll(path: string, text: string): { text: string; splices: PlannedSplice[]; images: string[] } {
  const file = parseFile(path, text);
  const splices: PlannedSplice[] = [];
  const images: string[] = [];
  for (const d of file.docs) {
    for (const obj of objectsIn(d.value)) {
      for (const loc of findImages(obj)) {
        const plan = planEdit(d.doc, {
          document: d.index,
          path: loc.path,
          value: `${String(loc.image)}@${DIGEST}`,
        });
        if ('refused' in plan) throw new Error(plan.refused);
        splices.push(plan);
        images.push(String(loc.image));
      }
    }
  }
  return { text: editFile(file, splices), splices, images };
}

describe('encodeScalar', () => {
  it('writes each quote style and refuses what a style cannot hold', () => {
    expect(encodeScalar('nginx:1.27@sha256:x', 'plain')).toBe('nginx:1.27@sha256:x');
    expect(encodeScalar("it's", 'single')).toBe("'it''s'");
    expect(encodeScalar('a"b', 'double')).toBe('"a\\"b"');
    expect(encodeScalar('a: b', 'plain')).toBeUndefined();
    expect(encodeScalar('#x', 'plain')).toBeUndefined();
    expect(encodeScalar('a,b', 'plain')).toBeUndefined();
  });
});

describe('editFile', () => {
  it('keeps an anchor, a comment and the quote style around the value', () => {
    const text = "image: &img 'nginx:1.27' # keep\nother: *img\n";
    const out = pinAll(
      'a.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    ${text.split('\n')[0]}\n`,
    );
    expect(out.text).toContain(`image: &img 'nginx:1.27@${DIGEST}' # keep\n`);
  });

  it('refuses block scalars and values on several lines', () => {
    const doc = parseFile(
      'b.yaml',
      'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: >-\n      nginx:1.27\n  - image: "nginx:\n      1.27"\n',
    );
    const d = doc.docs[0]!.doc;
    expect(planEdit(d, { document: 0, path: ['spec', 'containers', 0, 'image'], value: 'x' })).toEqual({
      refused: expect.stringMatching(/block scalar/),
    });
    expect(planEdit(d, { document: 0, path: ['spec', 'containers', 1, 'image'], value: 'x' })).toEqual({
      refused: expect.stringMatching(/several lines/),
    });
  });
});

// --- property test ---------------------------------------------------------------------------

const tag = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,9}$/);
const repo = fc.constantFrom(
  'nginx',
  'registry.example.com/team/app',
  'localhost:5000/a/b',
  'ghcr.io/o/r',
  'busybox',
);
const image = fc.tuple(repo, fc.option(tag, { nil: undefined })).map(([r, t]) => (t ? `${r}:${t}` : r));
const word = fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,7}$/);
const scalar = fc.oneof(word, fc.integer(), fc.boolean(), fc.constant('with: colon'), fc.constant("quote's"));
const extra = fc.dictionary(word, scalar, { maxKeys: 3 });
const container = fc
  .record({ name: word, image, more: extra })
  .map(({ name, image, more }) => ({ ...more, name, image }));
const pod = fc.record({
  name: word,
  containers: fc.array(container, { minLength: 1, maxLength: 3 }),
  initContainers: fc.array(container, { maxLength: 2 }),
  labels: extra,
});

interface Style {
  quotes: Array<'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE'>;
  flow: boolean[];
  comments: boolean[];
  crlf: boolean;
  bom: boolean;
  docs: number;
}
const style: fc.Arbitrary<Style> = fc.record({
  quotes: fc.array(fc.constantFrom('PLAIN', 'QUOTE_SINGLE', 'QUOTE_DOUBLE'), {
    minLength: 32,
    maxLength: 32,
  }),
  flow: fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }),
  comments: fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  docs: fc.integer({ min: 1, max: 3 }),
});

type PodValue = typeof pod extends fc.Arbitrary<infer T> ? T : never;

function render(p: PodValue, s: Style, n: number): string {
  const value = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${p.name}${n}`, labels: p.labels },
    spec: {
      containers: p.containers,
      ...(p.initContainers.length ? { initContainers: p.initContainers } : {}),
    },
  };
  const doc = new Document(value);
  let i = 0;
  visit(doc, {
    Scalar(_k, node) {
      const q = s.quotes[i++ % 32]!;
      // Plain is only kept where it would not change the value's meaning; yaml falls back otherwise.
      if (typeof node.value === 'string') node.type = q === 'PLAIN' ? Scalar.PLAIN : q;
      if (s.comments[i % 32]) node.comment = ` c${i}`;
    },
    Map(_k, node) {
      node.flow = s.flow[i++ % 32]!;
    },
    Seq(_k, node) {
      node.flow = s.flow[i++ % 32]!;
      if (s.comments[i % 32] && !node.flow) node.commentBefore = ` before ${i}`;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

describe('property: editing images changes nothing else', () => {
  it('re-parses to the same documents with only the images pinned, all other bytes identical', () => {
    fc.assert(
      fc.property(pod, style, (p, s) => {
        let text = Array.from({ length: s.docs }, (_, n) => render(p, s, n)).join('---\n');
        if (s.crlf) text = text.replace(/\n/g, '\r\n');
        if (s.bom) text = `\uFEFF${text}`;
        const before = parseDocsToJS(text);
        const out = pinAll('p.yaml', text);
        // 1. Same documents, only the image values changed.
        const expected = JSON.parse(JSON.stringify(before), (k, v) =>
          k === 'image' && typeof v === 'string' ? `${v}@${DIGEST}` : v,
        );
        expect(parseDocsToJS(out.text)).toEqual(expected);
        // 2. Bytes outside the edited scalars are identical.
        const sorted = [...new Map(out.splices.map((x) => [x.start, x])).values()].sort(
          (a, b) => a.start - b.start,
        );
        let at = 0;
        let offset = 0;
        for (const sp of sorted) {
          expect(out.text.slice(at + offset, sp.start + offset)).toBe(text.slice(at, sp.start));
          offset += sp.text.length - (sp.end - sp.start);
          at = sp.end;
        }
        expect(out.text.slice(at + offset)).toBe(text.slice(at));
        // 3. Quote style kept: each edited scalar starts with the same character as before.
        for (const sp of sorted)
          expect(sp.text[0] === "'" || sp.text[0] === '"' ? sp.text[0] : 'plain').toBe(
            quoteOf(text.slice(sp.start, sp.end)),
          );
        // 4. With the print of the text's tokens, the check lexes the new text alone.
        const printed = streamFile('p.yaml', text, MAX_ALIAS_COUNT, new TokenPrinter());
        for (const _ of printed.docs);
        const lex = vi.spyOn(Lexer.prototype, 'lex');
        try {
          expect(editText('p.yaml', text, out.splices, printed.printer!.print())).toBe(out.text);
          expect(lex).toHaveBeenCalledTimes(1);
        } finally {
          lex.mockRestore();
        }
      }),
      { numRuns: 150 },
    );
  });
});

function quoteOf(source: string): string {
  return source[0] === "'" || source[0] === '"' ? source[0] : 'plain';
}

function parseDocsToJS(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  return (Array.isArray(docs) ? docs : []).map((d) => d.toJS());
}

describe('edit verification', () => {
  const text = 'spec:\n  containers:\n  - name: a\n    image: nginx:1.27\n    args: [x]\n';

  function plan() {
    const file = parseFile('t.yaml', text);
    const doc = file.docs[0]!.doc;
    const p = planEdit(doc, { document: 0, path: ['spec', 'containers', 0, 'image'], value: 'nginx:1.28' });
    if ('refused' in p) throw new Error(p.refused);
    return { file, p };
  }

  it('accepts a splice that only changes the value', () => {
    const { file, p } = plan();
    expect(editFile(file, [p])).toBe(text.replace('nginx:1.27', 'nginx:1.28'));
  });

  it('refuses, writing nothing, a splice whose text escapes its scalar and changes the structure', () => {
    const { file, p } = plan();
    // A buggy encoder could emit text that opens a new key: the re-parse must catch it.
    const bad = { ...p, text: 'nginx:1.28\n    extra: injected' };
    expect(() => editFile(file, [bad])).toThrow(/edit verification failed, nothing written/);
  });

  it('refuses a splice that turns the rest of the value into a comment', () => {
    const { file, p } = plan();
    const bad = { ...p, text: 'nginx #1.28' };
    expect(() => editFile(file, [bad])).toThrow(/edit verification failed/);
  });
});
