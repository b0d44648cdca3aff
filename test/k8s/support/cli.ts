/**
 * @module test/k8s/support/cli
 * Runs the imgdigest CLI in-process (src/cli/main.ts, from source, so tests never depend on a
 * stale dist/). Run as a script (`node --import tsx test/k8s/support/cli.ts krm check`) it is an
 * executable for `kpt fn eval --exec`.
 */
import { pathToFileURL } from 'node:url';
import { main } from '../../../src/cli/main.js';
import { runCli as run } from '../../support/cli.js';

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
  const r = await run(argv, { ...options, env: options.env ?? process.env });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
