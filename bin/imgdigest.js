#!/usr/bin/env node
// The imgdigest command. The compiled CLI lives in dist/ (built by `npm install` via `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`imgdigest: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 3;
  },
);
