#!/usr/bin/env node
// The CLI as bin/imgdigest.js loads it: src/cli/main.ts and everything it imports, npm packages
// included, bundled by esbuild into dist/cli-bundle/ (part of `npm run build`, after tsc).
//
// Why: an unbundled start reads, resolves and links some seventy ES modules and forty CommonJS
// files before `imgdigest digest` sends its first request; that was most of its start-up time
// (bench/RESULTS.md, section 2, says what each step gained). The library (dist/ from tsc, the
// package exports) is unchanged.
//
// - Split at every `await import()` (esbuild's ES module splitting), so a command still loads
//   only what it uses: the webhook, the explorer and the registry server stay in chunks of their
//   own, and `imgdigest --version` reads main.js and a few small chunks.
// - Whitespace and syntax minified, names kept: less to read and parse at every start, while a
//   --debug stack still names its functions.
//
// dist/cli-bundle/ sits two levels below the repository, as dist/<layer>/ does, so the paths that
// modules build from import.meta.url (package.json, examples/) lead to the same files.
import { rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');

await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS packages in an ES module bundle call require() for Node's built-ins; only built-ins
  // are left to it (every npm package is in the bundle), and process.getBuiltinModule loads one
  // without loading node:module first.
  banner: { js: 'const require = (id) => process.getBuiltinModule(id);' },
  logLevel: 'warning',
  metafile: true,
});
if (result.errors.length > 0) process.exit(1);

// Every import left to Node must be a built-in: a package outside the bundle would be a file the
// published package does not promise (dev dependencies are not installed for users).
const external = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const imported of output.imports) {
    const builtin = imported.path.startsWith('node:') || isBuiltin(imported.path);
    if (imported.external && !builtin) external.add(imported.path);
  }
}
if (external.size > 0) {
  console.error(`bundle-cli: left outside the bundle: ${[...external].join(', ')}`);
  process.exit(1);
}
