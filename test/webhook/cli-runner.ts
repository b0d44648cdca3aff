/**
 * @module test/webhook/cli-runner
 * Runs `imgdigest webhook ...` through commander with the real command module, in-process
 * ({@link runWebhookCli}) or as a process of its own (`tsx test/webhook/cli-runner.ts webhook serve
 * ...`, for signals and stdout). The lead wires registerWebhook into src/cli/commands/index.ts;
 * until then this is the smallest program that hosts it the way src/cli/main.ts does.
 */
import { PassThrough } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { registerWebhook } from '../../src/cli/commands/webhook.js';
import type { CliContext, Io } from '../../src/cli/context.js';
import { exitCodeOf } from '../../src/core/errors.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runWebhookCli(argv: string[], io?: Partial<Io>): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const fullIo: Io = {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: process.env,
    cwd: process.cwd(),
    ...io,
  };
  const code = await run(argv, fullIo);
  return { code, stdout: out, stderr: err };
}

async function run(argv: string[], io: Io): Promise<number> {
  let exitCode = 0;
  const program = new Command('imgdigest').exitOverride();
  program.option('--debug').option('-v, --verbose').option('-q, --quiet');
  program.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const ctx: CliContext = {
    io,
    globals: () => program.opts(),
    out: (t) => io.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => io.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    json: (v) => io.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
    setExitCode: (c) => {
      exitCode = Math.max(exitCode, c);
    },
  };
  registerWebhook(program, ctx);
  for (const sub of program.commands.flatMap((c) => [c, ...c.commands])) {
    sub.exitOverride();
    sub.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    io.stderr.write(`imgdigest: ${(e as Error).message.split('\n')[0]}\n`);
    return exitCodeOf(e);
  }
}

// As a process: `tsx test/webhook/cli-runner.ts webhook serve ...`
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => {
    process.exitCode = code;
  });
}
