/**
 * @module test/support/cli
 * Run the imgdigest CLI from src/ (so no test depends on a stale dist/): in-process with captured
 * output ({@link runCli}), or as a process of its own for what needs one (signals, `kpt fn eval
 * --exec`): `node --import tsx test/support/cli.ts webhook serve ...`.
 */
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { CliContext } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

/** A context that prints nothing, for building the program to read its commands, flags and help. */
export function silentContext(): CliContext {
  return {
    io: { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {}, cwd: '/' },
    globals: () => ({ debug: false, verbose: false, quiet: false }),
    out: () => {},
    err: () => {},
    json: () => {},
    setExitCode: () => {},
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/**
 * Run `imgdigest ARGS...` in-process. The default environment is this process's with
 * `DOCKER_CONFIG` pointing nowhere, so a developer's own credentials never reach a test. `tty`
 * gives stdin what a terminal's has (`isTTY`, `setRawMode`), for the prompts of delete and login;
 * the answers are `stdin` (a real terminal is driven in test/cli/login.test.ts).
 */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer; cwd?: string; tty?: boolean } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = new PassThrough();
  if (options.tty) {
    Object.assign(stdin, {
      isTTY: true,
      isRaw: false,
      setRawMode(mode: boolean) {
        (stdin as PassThrough & { isRaw: boolean }).isRaw = mode;
        return stdin;
      },
    });
  }
  stdin.end(options.stdin ?? '');
  const code = await main(args, {
    stdout,
    stderr,
    stdin,
    env: options.env ?? { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test' },
    cwd: options.cwd ?? process.cwd(),
  });
  const stdoutBytes = Buffer.concat(out);
  return {
    code,
    stdout: stdoutBytes.toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    stdoutBytes,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
