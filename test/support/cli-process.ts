/**
 * @module test/support/cli-process
 * The whole CLI (src/cli/main.ts) as a process of its own, run from the sources with tsx, for the
 * tests that must kill it mid-work: `node --import tsx test/support/cli-process.ts copy ...`.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
