/**
 * @module cli/main
 * The `imgdigest` command line: global flags, the command list, and the one place where errors
 * become a line on stderr and an exit code (0 ok, 1 findings, 2 bad input or usage, 3 failure).
 *
 * Command modules are thin and load their library code lazily inside their actions, so that
 * `imgdigest --version` and `imgdigest ref` start fast.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeOf, isImgdigestError } from '../core/errors.js';
import { escapeText, jsonText } from '../core/terminal-text.js';
import { commands } from './commands/index.js';
import type { CliContext, GlobalOptions, Io } from './context.js';
import { packageVersion } from './version.js';

function defaultIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Run the CLI with `argv` (without the node and script entries) and return the exit code.
 * Nothing here calls `process.exit`, so tests can run it in-process.
 */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = new Command('imgdigest');
  const ctx: CliContext = {
    io,
    globals: () => program.opts<GlobalOptions>(),
    out: (text) => {
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    err: (text) => {
      io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    json: (value) => {
      io.stdout.write(`${jsonText(value, 2)}\n`);
    },
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
  };

  program
    .description('Find, explore, pin and enforce container image digests.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'show stack traces and internal details on errors')
    .option('-v, --verbose', 'log each registry request (method, URL, status, time) to stderr')
    .option('-q, --quiet', 'print no progress or warnings on stderr')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 findings (violations, drift, would change), 2 bad input or usage, 3 registry, network or source failure.\n',
    );

  for (const register of commands) register(program, ctx);
  // Nested commands (krm check, registry serve) too: commander would otherwise call process.exit.
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
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      if (error.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
    const debug = argv.includes('--debug');
    reportError(error, io, debug);
    return exitCodeOf(error);
  }
}

/** One readable line; the stack and details only under --debug. */
export function reportError(error: unknown, io: Io, debug: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  const known = isImgdigestError(error);
  // Messages may quote a registry's words (an error body, a name): escaped like any outside text.
  io.stderr.write(`imgdigest: ${known ? '' : 'error: '}${escapeText(message.split('\n')[0] ?? '')}\n`);
  if (debug) {
    if (known && Object.keys(error.details).length > 0) {
      io.stderr.write(`code: ${error.code}\ndetails: ${JSON.stringify(error.details)}\n`);
    }
    if (error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    let cause = error instanceof Error ? error.cause : undefined;
    while (cause) {
      io.stderr.write(
        `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
      );
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  } else if (!known) {
    io.stderr.write('imgdigest: run again with --debug for details\n');
  }
}
