/**
 * @module test/registry-server/serve-cli
 * Runs `imgdigest registry serve ARGS` as its own process for the tests that must kill it
 * (`kill -9` mid-upload) or send it signals. It wires only the registry command, with the same
 * one-line error report and exit codes as the real CLI, so it does not depend on the command list.
 */
import { Command, CommanderError } from 'commander';
import { registerRegistry } from '../../src/cli/commands/registry.js';
import type { CliContext, GlobalOptions } from '../../src/cli/context.js';
import { exitCodeOf } from '../../src/core/errors.js';

const program = new Command('imgdigest')
  .option('--debug', '', false)
  .option('-v, --verbose', '', false)
  .option('-q, --quiet', '', false)
  .exitOverride();
const ctx: CliContext = {
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  },
  globals: () => program.opts<GlobalOptions>(),
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};
registerRegistry(program, ctx);
for (const sub of program.commands) {
  sub.exitOverride();
  for (const subsub of sub.commands) subsub.exitOverride();
}

try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`imgdigest: ${(error as Error).message.split('\n')[0]}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
