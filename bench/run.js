#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only NAME,...]`: runs bench/main.ts through tsx, so the
// benchmarks need no build step of their own (the CLI benchmarks build dist/ when it is stale).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: join(here, '..'),
});
// Ctrl-C reaches the child through the terminal's process group: stay alive until it has cleaned
// up. A SIGTERM sent to this process alone is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
