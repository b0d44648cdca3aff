/**
 * @module cli/progress
 * Progress for long transfers, on stderr, only when stderr is a terminal and --quiet is off: a
 * pass-through stream that counts bytes and redraws one line at most ten times a second.
 */
import { PassThrough, type Transform } from 'node:stream';
import type { CliContext } from './context.js';
import { humanSize } from './table.js';

/** A pass-through that reports progress of `label` (null total: unknown size). */
export function progressStream(ctx: CliContext, label: string, total: number | null): Transform {
  const pass = new PassThrough();
  const stderr = ctx.io.stderr;
  if (!stderr.isTTY || ctx.globals().quiet) return pass;
  let seen = 0;
  let last = 0;
  const draw = (final: boolean) => {
    const pct = total ? ` (${Math.floor((seen / total) * 100)}%)` : '';
    const of = total ? ` / ${humanSize(total)}` : '';
    stderr.write(`\r\x1b[K${label} ${humanSize(seen)}${of}${pct}${final ? '\n' : ''}`);
  };
  pass.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      draw(false);
    }
  });
  pass.on('end', () => draw(true));
  return pass;
}
