/**
 * @module cli/main
 * The `imgdigest` command line: global flags, the command list, and the one place where errors
 * become a line on stderr and an exit code (0 ok, 1 findings, 2 bad input or usage, 3 failure).
 *
 * Start-up is kept short: command modules load their library code inside their actions, and only
 * the command the arguments name is registered with commander (see {@link buildProgram}).
 */
import { Command, CommanderError, Help, type Option } from 'commander';
import { withErrnoWords } from '../core/errno.js';
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
  let program: Command | undefined;
  const ctx: CliContext = {
    io,
    globals: () => program?.opts<GlobalOptions>() ?? { debug: false, verbose: false, quiet: false },
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
  program = await buildProgram(ctx, commandNamed(argv));

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

/**
 * The program with its global flags and commands. `only` names the one command the arguments
 * call: only its module is loaded and registered (the others' code, flags and help texts would
 * cost more than the command itself takes to start), unless `only` matches none of them, when all
 * are, for commander's "did you mean". `undefined` registers every command (`--help`,
 * completion); `null` none (`--version`).
 */
export async function buildProgram(ctx: CliContext, only?: string | null): Promise<Command> {
  const { io } = ctx;
  const program = new Command('imgdigest');
  // Set before the commands exist: every command, nested ones too, inherits output, exit and help
  // settings from its parent when it is created.
  program
    .description('Find, explore, pin and enforce container image digests.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', "show stack traces and internal details on errors, and Node's warnings")
    .option('-v, --verbose', 'log each registry request (method, URL, status, time) to stderr')
    .option('-q, --quiet', 'print no progress or warnings on stderr')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(usageErrorLine(s)),
    })
    .configureHelp({ showGlobalOptions: true, optionDescription })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 findings (violations, drift, would change), 2 bad input or usage, 3 registry, network or source failure.\n',
    );
  if (only === null) return program;
  const named = commands.filter((c) => c.name === only);
  const registers = await Promise.all((named.length > 0 ? named : commands).map((c) => c.load()));
  for (const register of registers) register(program, ctx);
  return program;
}

/** The global flags, none of which takes a value: anything else starting with `-` is a command's. */
const GLOBAL_FLAGS = new Set(['--debug', '-v', '--verbose', '-q', '--quiet', '-h', '--help']);

/**
 * The command `argv` calls (`help X` calls X's help): its name, `undefined` when every command is
 * needed (the program's help), `null` when none is (`--version`).
 */
function commandNamed(argv: readonly string[]): string | null | undefined {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const flag = argv[i]!;
    if (flag === '-V' || flag === '--version') return null;
    // A combined short flag (-vq) or an unknown one: let commander, with every command, judge it.
    if (!GLOBAL_FLAGS.has(flag)) return undefined;
    i++;
  }
  const name = argv[i];
  if (name === 'help') return argv[i + 1]?.startsWith('-') === false ? argv[i + 1] : undefined;
  return name;
}

/**
 * commander's option description, with a number shown as a number: numeric flags take their
 * default as text (`'30'`, parsed by `wholeNumber` like a typed value), which commander would
 * print as `(default: "30")`.
 */
function optionDescription(this: Help, option: Option): string {
  if (
    option.defaultValueDescription === undefined &&
    typeof option.defaultValue === 'string' &&
    /^[0-9]+$/.test(option.defaultValue)
  ) {
    option.defaultValueDescription = option.defaultValue;
  }
  return Help.prototype.optionDescription.call(this, option);
}

/**
 * commander's usage error (`error: unknown option '--plaform'\n(Did you mean --platform?)`) as
 * imgdigest's one line: `imgdigest: unknown option '--plaform' (did you mean --platform?)`.
 */
export function usageErrorLine(text: string): string {
  const [first = '', ...rest] = text.trim().split('\n');
  const hint = rest.map((line) => line.trim().replace(/^\((D)id you mean/, '(did you mean'));
  return `imgdigest: ${[first.replace(/^error: /, ''), ...hint].join(' ')}\n`;
}

/** One readable line; the stack and details only under --debug. */
export function reportError(error: unknown, io: Io, debug: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  const known = isImgdigestError(error);
  // Messages may quote a registry's words (an error body, a name): escaped like any outside text.
  const line = withErrnoWords(escapeText(message.split('\n')[0] ?? ''));
  io.stderr.write(`imgdigest: ${known ? '' : 'error: '}${line}\n`);
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
