/**
 * @module cli/prompt
 * Questions on a terminal: a line typed with echo (a user name, a y/N answer) or without it (a
 * password). The terminal is put in raw mode for the answer, so the password never reaches the
 * screen, and put back as it was afterwards, whatever happens. Prompts go to stderr: stdout
 * carries only data. Ctrl-C or Ctrl-D on an empty line cancels (`USAGE`, nothing done).
 */
import { ImgdigestError } from '../core/errors.js';
import type { CliContext } from './context.js';

/** A terminal's stdin as Node's tty.ReadStream offers it. */
interface TtyInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** True when stdin is a terminal a person can answer on. */
export function isInteractive(ctx: CliContext): boolean {
  return ctx.io.stdin.isTTY === true;
}

/**
 * Ask `question` on the terminal and read one line. With `echo: false` what is typed is not shown.
 * @throws `USAGE` when the user cancels, or when echo cannot be turned off on this stdin.
 */
export async function ask(
  ctx: CliContext,
  question: string,
  options: { echo?: boolean } = {},
): Promise<string> {
  const echo = options.echo !== false;
  const input = ctx.io.stdin;
  const tty = input as unknown as TtyInput;
  if (typeof tty.setRawMode !== 'function') {
    throw new ImgdigestError('USAGE', 'stdin is not a terminal that can be asked questions');
  }
  const wasRaw = tty.isRaw === true;
  if (input.readableEnded) {
    ctx.io.stderr.write(`${question}\n`);
    throw new ImgdigestError('USAGE', 'cancelled at the prompt (end of input); nothing was done');
  }
  // Echo off before the question shows: an answer typed as soon as it shows is never echoed.
  tty.setRawMode(true);
  ctx.io.stderr.write(question);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const finish = (outcome: () => void) => {
        input.off('data', onData);
        input.off('end', onEnd);
        input.pause();
        ctx.io.stderr.write('\n');
        outcome();
      };
      const cancel = () =>
        finish(() => reject(new ImgdigestError('USAGE', 'cancelled at the prompt; nothing was done')));
      const onEnd = () => cancel();
      const onData = (chunk: Buffer | string) => {
        const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        let at = 0;
        for (const ch of text) {
          at += ch.length;
          if (ch === '\r' || ch === '\n') {
            // A pasted "name\npassword\n" arrives in one chunk: what follows is the next answer's.
            let rest = text.slice(at);
            if (ch === '\r' && rest.startsWith('\n')) rest = rest.slice(1);
            finish(() => resolve(line));
            // Paused and without listeners now, so the rest waits in the buffer for the next ask.
            if (rest) input.unshift(Buffer.from(rest, 'utf8'));
            return;
          }
          if (ch === '\u0003' || (ch === '\u0004' && line === '')) return cancel();
          if (ch === '\u007f' || ch === '\b') {
            if (line.length > 0) {
              line = [...line].slice(0, -1).join('');
              if (echo) ctx.io.stderr.write('\b \b');
            }
            continue;
          }
          if (ch < ' ') continue;
          line += ch;
          if (echo) ctx.io.stderr.write(ch);
        }
      };
      input.on('data', onData);
      input.once('end', onEnd);
    });
  } finally {
    tty.setRawMode(wasRaw);
    input.pause();
  }
}

/** Ask a yes/no question; only `y` or `yes` (any case) is a yes. */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  return /^\s*y(es)?\s*$/i.test(await ask(ctx, `${question} [y/N] `));
}
