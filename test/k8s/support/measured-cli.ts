/**
 * @module test/k8s/support/measured-cli
 * The CLI as a child process that reports its memory: run as
 * `node --expose-gc [--max-old-space-size=MB] --import tsx test/k8s/support/measured-cli.ts ARGS`,
 * it runs `imgdigest ARGS` with the process's own streams and, last on stderr, prints one JSON line
 * `{"code":N,"heapUsed":BYTES,"maxRss":BYTES}` (heap after a full collection, peak resident set).
 * A run that outgrows `--max-old-space-size` dies with V8's out-of-memory abort instead.
 */
import { main } from '../../../src/cli/main.js';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
(globalThis as { gc?: () => void }).gc?.();
const report = {
  code,
  heapUsed: process.memoryUsage().heapUsed,
  maxRss: process.resourceUsage().maxRSS * 1024,
};
process.stderr.write(`${JSON.stringify(report)}\n`);
process.exitCode = code;
