/**
 * @module test/support/cli
 * Run the imgdigest CLI in-process with captured output, as a user would see it.
 */
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer; cwd?: string } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = new PassThrough();
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
