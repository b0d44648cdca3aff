/**
 * @module cli/mirror-file
 * The ImageMirror file of `imgdigest mirror`, read with its line numbers (a module of its own, so
 * the YAML parser loads only when a mirror file is read).
 */
import { resolve } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import type { MirrorConfig, MirrorPath } from '../sources/copy/index.js';
import type { CliContext } from './context.js';
/**
 * Read and check an ImageMirror file: YAML (JSON is YAML); every complaint names `FILE:LINE`
 * (`INPUT_INVALID`, exit 2).
 */
export async function readMirrorFile(ctx: CliContext, file: string): Promise<MirrorConfig> {
  let text: string;
  const name = file === '-' ? '<stdin>' : file;
  try {
    if (file === '-') {
      const { readStdin } = await import('./options.js');
      text = await readStdin(ctx);
    } else {
      const { readFile } = await import('node:fs/promises');
      text = await readFile(resolve(ctx.io.cwd, file), 'utf8');
    }
  } catch (e) {
    throw new ImgdigestError('INPUT_INVALID', `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const lineAt = (offset: number) => lines.linePos(offset).line;
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      throw new ImgdigestError(
        'INPUT_INVALID',
        `${name}:${lineAt(error.pos[0])}: not YAML: ${error.message.split('\n')[0]}`,
      );
    }
  }
  const real = list.filter((d) => d.contents !== null);
  if (real.length !== 1) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `${name}: expected one ImageMirror document, found ${real.length}`,
    );
  }
  const doc = real[0]!;
  const { parseMirrorConfig } = await import('../sources/copy/index.js');
  return parseMirrorConfig(doc.toJS({ maxAliasCount: 100 }), {
    name,
    lineOf(path: MirrorPath) {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
        if (range) return lineAt(range[0]);
      }
      return undefined;
    },
  });
}
