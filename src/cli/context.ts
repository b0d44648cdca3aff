/**
 * @module cli/context
 * What a command needs from the outside world, passed in so that tests can run the CLI in-process:
 * output streams, input, environment, and the global flags.
 */
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';

export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface GlobalOptions {
  debug: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface CliContext {
  io: Io;
  /** The global flags, read when a command runs (commander parses them before the action). */
  globals(): GlobalOptions;
  /** Write one line (or several) of data to stdout. */
  out(text: string): void;
  /** Write a diagnostic line to stderr (never data). */
  err(text: string): void;
  /** Write JSON data to stdout, one document, pretty-printed. */
  json(value: unknown): void;
  /** Set the process exit code for a finished command (1 for findings). */
  setExitCode(code: number): void;
}

/** A command module: registers its subcommand on the program. */
export type CommandModule = (program: Command, ctx: CliContext) => void;
