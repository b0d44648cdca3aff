#!/usr/bin/env node
// The imgdigest command. The CLI is bundled into dist/cli-bundle/ by `npm run build` (which
// `npm install` runs via `prepare`; see scripts/bundle-cli.mjs): a few files to load, not a hundred.
import { main } from '../dist/cli-bundle/main.js';

// Node's own warnings (an experimental API such as zlib's zstd on newer Node, a deprecation) speak
// to developers; a user of the command can do nothing about them. They are shown with --debug only.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (process.argv.includes('--debug')) {
    process.stderr.write(`imgdigest: warning from Node: ${warning.name}: ${warning.message}\n`);
  }
});

// `imgdigest tags repo | head -1` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`imgdigest: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 3;
  },
);
