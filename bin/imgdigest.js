#!/usr/bin/env node
// The imgdigest command. The CLI is bundled into dist/cli-bundle/ by `npm run build` (which
// `npm install` runs via `prepare`; see scripts/bundle-cli.mjs).
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. V8 optimises that module in background
// threads and, at exit, waits for them: ~120 ms added to every short command. The baseline
// compiler alone is as fast for what a CLI run does (measured on a 200 MiB blob download).
setFlagsFromString('--liftoff-only');

// `imgdigest tags repo | head -1` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { main } = await import('../dist/cli-bundle/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`imgdigest: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 3;
  },
);
