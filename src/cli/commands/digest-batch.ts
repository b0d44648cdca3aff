/**
 * @module cli/commands/digest-batch
 * `imgdigest digest REF REF...`, `--from-file FILE` and `-` (references one per line on stdin):
 * many registry references in one process, resolved through one resolver (shared connections and
 * tokens, duplicates asked once, `--concurrency` lookups in flight per registry). Output keeps the
 * input order: one `REF DIGEST` line per reference as soon as it and every reference before it are
 * done (to a pipe or file, in blocks: see {@link LineOutput}), or one JSON array at the end. A reference that fails is one line on stderr and the others
 * still resolve; the exit code is then 3.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { EXIT, ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { Reference } from '../../core/reference.js';
import type { Resolution } from '../../core/resolution.js';
import { escapeText } from '../../core/terminal-text.js';
import type { CliContext } from '../context.js';
import { wholeNumber } from '../flags.js';
import { type RegistryFlags, readStdin, registryOptions } from '../options.js';

export interface BatchFlags extends RegistryFlags {
  platform?: string;
  fullRef?: boolean;
  json?: boolean;
  fromFile?: string;
  concurrency: string;
}

/** One reference of the batch and where it was written (for messages). */
interface BatchItem {
  /** As written (trimmed): what the output line starts with. */
  text: string;
  /** `FILE:LINE: `, `stdin:LINE: ` or empty for a command-line argument. */
  where: string;
}

/** The lines of a reference list: blank lines and `#` comments skipped, line numbers kept. */
function listItems(text: string, name: string): BatchItem[] {
  const items: BatchItem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#'))
      items.push({ text: trimmed, where: `${name}:${i + 1}: ` });
  });
  return items;
}

async function gatherItems(
  inputs: readonly string[],
  flags: BatchFlags,
  ctx: CliContext,
): Promise<BatchItem[]> {
  if (inputs.filter((i) => i === '-').length > 1 || (inputs.includes('-') && flags.fromFile === '-')) {
    throw new ImgdigestError('USAGE', 'stdin can be read once: give - (or --from-file -) once');
  }
  const readsStdin = inputs.includes('-') || flags.fromFile === '-';
  if (readsStdin && flags.passwordStdin) {
    throw new ImgdigestError('USAGE', '--password-stdin and references on stdin cannot both read stdin');
  }
  const items: BatchItem[] = [];
  for (const input of inputs) {
    if (input === '-') items.push(...listItems(await readStdin(ctx), 'stdin'));
    else items.push({ text: input, where: '' });
  }
  if (flags.fromFile !== undefined) {
    const name = flags.fromFile;
    if (name === '-') items.push(...listItems(await readStdin(ctx), 'stdin'));
    else {
      let text: string;
      try {
        text = await readFile(resolvePath(ctx.io.cwd, name), 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new ImgdigestError('INPUT_INVALID', `--from-file: cannot read ${name}: ${code}`);
      }
      items.push(...listItems(text, name));
    }
  }
  return items;
}

/** Parse every reference first: a list with a bad line resolves nothing (exit 2, each bad line named). */
async function parseItems(items: readonly BatchItem[], ctx: CliContext): Promise<Reference[]> {
  const { parseSourceSpec } = await import('../../sources/open.js');
  const refs: Reference[] = [];
  const bad: string[] = [];
  for (const item of items) {
    try {
      const spec = parseSourceSpec(item.text);
      if (spec.transport !== 'registry') {
        bad.push(`${item.where}"${item.text}": several references resolve registry references only`);
      } else refs.push(spec.reference);
    } catch (e) {
      bad.push(`${item.where}${(e as Error).message}`);
    }
  }
  if (bad.length > 0) {
    for (const line of bad.slice(0, -1)) ctx.err(`imgdigest: ${escapeText(line)}`);
    throw new ImgdigestError('INPUT_INVALID', bad.at(-1)!);
  }
  return refs;
}

/** Output lines held at most this long when stdout is not a terminal. */
const HOLD_MS = 50;
/** ... and at most this many characters. */
const HOLD_CHARS = 32 * 1024;

/**
 * Result lines for stdout. To a terminal each goes out at once; to a pipe or a file they are
 * written in blocks (at most {@link HOLD_CHARS} characters or {@link HOLD_MS} ms late), as C's
 * stdio does: one write per line cost a system call and a trip through the stream per reference.
 */
class LineOutput {
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  readonly #flushNow = () => this.flush();

  constructor(
    private readonly ctx: CliContext,
    private readonly immediate: boolean,
  ) {}

  line(text: string): void {
    if (this.immediate) {
      this.ctx.out(text);
      return;
    }
    this.#pending += `${text}\n`;
    if (this.#pending.length >= HOLD_CHARS) this.flush();
    else this.#timer ??= setTimeout(this.#flushNow, HOLD_MS);
  }

  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.ctx.out(text);
  }
}

export async function runDigestBatch(
  inputs: readonly string[],
  flags: BatchFlags,
  ctx: CliContext,
): Promise<void> {
  const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1, 256);
  const items = await gatherItems(inputs, flags, ctx);
  if (items.length === 0) throw new ImgdigestError('USAGE', 'no references given (the list was empty)');
  const refs = await parseItems(items, ctx);
  const { openResolver } = await import('../../resolver/open.js');
  const registry = await registryOptions(flags, ctx);
  const resolver = await openResolver({
    registry: { ...registry, concurrency },
    concurrency,
    cache: { maxEntries: Math.max(refs.length, 1) },
  });
  const options = flags.platform === undefined ? {} : { platform: flags.platform };
  const results: Array<Resolution | Error | undefined> = new Array(refs.length);
  let printed = 0;
  let failed = 0;
  const out = new LineOutput(ctx, ctx.io.stdout.isTTY === true);
  // Lines go out in input order: result i as soon as it and every result before it are in.
  const flush = () => {
    for (; printed < refs.length && results[printed] !== undefined; printed++) {
      const result = results[printed]!;
      const text = items[printed]!.text;
      if (result instanceof Error) {
        out.flush(); // the lines before it first, so stdout and stderr keep the input order
        ctx.err(`imgdigest: ${escapeText(`${text}: ${result.message.split('\n')[0] ?? ''}`)}`);
      } else if (!flags.json) {
        const digest = flags.fullRef ? `${result.reference.repository}@${result.digest}` : result.digest;
        out.line(`${escapeText(text)} ${digest}`);
      }
    }
  };
  try {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < refs.length; i = next++) {
        try {
          results[i] = await resolver.resolve(refs[i]!, options);
        } catch (error) {
          if (!isImgdigestError(error) && !(error instanceof Error)) throw error;
          results[i] = error;
          failed++;
        }
        flush();
      }
    };
    // The resolver bounds requests per registry; this bounds references waiting in memory.
    await Promise.all(Array.from({ length: Math.min(refs.length, concurrency * 4) }, worker));
  } finally {
    out.flush();
    await resolver.close();
  }
  if (flags.json) {
    ctx.json(
      results.map((result, i) => {
        const reference = items[i]!.text;
        if (result instanceof Error) {
          return {
            reference,
            error: { code: isImgdigestError(result) ? result.code : 'ERROR', message: result.message },
          };
        }
        const r = result!;
        return {
          reference,
          digest: r.digest,
          kind: r.kind,
          mediaType: r.mediaType,
          size: r.size,
          platform: r.platform ?? null,
          index: r.index ?? null,
        };
      }),
    );
  }
  if (failed > 0) {
    if (!ctx.globals().quiet) ctx.err(`imgdigest: ${failed} of ${refs.length} references failed`);
    ctx.setExitCode(EXIT.FAILURE);
  }
}
