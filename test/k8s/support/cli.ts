/**
 * @module test/k8s/support/cli
 * Runs the Kubernetes commands (check, pin, outdated, krm, policy) in-process the way
 * src/cli/main.ts does, so their tests do not depend on the command index or a built dist/.
 * Run as a script (`node --import tsx test/k8s/support/cli.ts krm check`) it is an executable
 * for `kpt fn eval --exec`.
 */
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerCheck } from '../../../src/cli/commands/check.js';
import { registerKrm } from '../../../src/cli/commands/krm.js';
import { registerOutdated } from '../../../src/cli/commands/outdated.js';
import { registerPin } from '../../../src/cli/commands/pin.js';
import { registerPolicy } from '../../../src/cli/commands/policy.js';
import type { CliContext, GlobalOptions, Io } from '../../../src/cli/context.js';
import { reportError } from '../../../src/cli/main.js';
import { EXIT, exitCodeOf } from '../../../src/core/errors.js';

/** Run `argv` with the given io; returns the exit code. */
export async function runWithIo(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = new Command('imgdigest');
  const ctx: CliContext = {
    io,
    globals: () => program.opts<GlobalOptions>(),
    out: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
  };
  program
    .version('0.0.0-test')
    .option('--debug', '', false)
    .option('-v, --verbose', '', false)
    .option('-q, --quiet', '', false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  for (const register of [registerCheck, registerPin, registerOutdated, registerKrm, registerPolicy])
    register(program, ctx);
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    reportError(error, io, argv.includes('--debug'));
    return exitCodeOf(error);
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run in-process with captured output. */
export async function runCli(
  argv: string[],
  options: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runWithIo(argv, {
    stdout,
    stderr,
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWithIo(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => {
    process.exitCode = code;
  });
}
