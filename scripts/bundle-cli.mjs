#!/usr/bin/env node
// The CLI as bin/imgdigest.js loads it: src/cli/main.ts and everything it imports, npm packages
// included, bundled by esbuild into dist/cli-bundle/ (part of `npm run build`, after tsc).
//
// Why: an unbundled start reads, resolves and links some seventy ES modules and forty CommonJS
// files before `imgdigest digest` sends its first request; that was most of its start-up time
// (bench/RESULTS.md, section 2, says what each step below gained). The library (dist/ from tsc,
// the package exports) is unchanged.
//
// - Split at every `await import()` (esbuild's ES module splitting), so a command still loads
//   only what it uses: the webhook, the explorer and the registry server stay in chunks of their
//   own, and `imgdigest --version` reads main.js and a few small chunks.
// - Three module groups (src/core, the registry client without undici, the commands' shared
//   helpers) go whole into one chunk each (see `moduleGroups`): `digest REF` reads 15 files, not 35.
// - Whitespace and syntax minified, names kept: less to read and parse at every start, while a
//   --debug stack still names its functions.
// - Two built-in modules that a short run never uses are loaded on first use instead of at start
//   (see `lazyBuiltins`): node:http2 (undici's HTTP/2 client, never enabled here) and
//   node:child_process (commander's executable subcommands, which imgdigest does not have).
//
// dist/cli-bundle/ sits two levels below the repository, as dist/<layer>/ does, so the paths that
// modules build from import.meta.url (package.json, examples/) lead to the same files.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { constants as http2Constants } from 'node:http2';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');

/** The commit being built, `-dirty` with uncommitted changes; '' outside a git checkout. */
function commit() {
  const git = (...args) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const head = git('rev-parse', 'HEAD').trim();
    return git('status', '--porcelain', '--untracked-files=no').trim() === '' ? head : `${head}-dirty`;
  } catch {
    return '';
  }
}

/** The constants undici's client-h2.js reads from node:http2 when it loads, with their values. */
const H2_CONSTANTS = Object.fromEntries(
  [
    'HTTP2_HEADER_AUTHORITY',
    'HTTP2_HEADER_METHOD',
    'HTTP2_HEADER_PATH',
    'HTTP2_HEADER_SCHEME',
    'HTTP2_HEADER_CONTENT_LENGTH',
    'HTTP2_HEADER_EXPECT',
    'HTTP2_HEADER_STATUS',
    'HTTP2_HEADER_PROTOCOL',
    'NGHTTP2_REFUSED_STREAM',
    'NGHTTP2_CANCEL',
  ].map((name) => [name, http2Constants[name]]),
);

/**
 * A module-level `require` of a built-in, replaced by an object that loads it on first use. Each
 * rewrite names the exact text it replaces and the only uses the file makes of the module, and
 * the build fails when the file no longer matches: a new undici or commander is checked, never
 * silently half-rewritten.
 */
const REWRITES = [
  {
    file: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/,
    from: "http2 = require('node:http2')",
    // The constants are read when the module loads; connect() only when HTTP/2 is used.
    to: `http2 = { constants: ${JSON.stringify(H2_CONSTANTS)}, connect: (...args) => require('node:http2').connect(...args) }`,
    uses: /\bhttp2\.(\w+)/g,
    allowed: ['connect'],
  },
  {
    file: /[\\/]commander[\\/]lib[\\/]command\.js$/,
    from: "const childProcess = require('node:child_process');",
    to: "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
    uses: /\bchildProcess\.(\w+)/g,
    allowed: ['spawn'],
  },
];

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(esbuild) {
    for (const rewrite of REWRITES) {
      esbuild.onLoad({ filter: rewrite.file }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        const used = [...text.matchAll(rewrite.uses)].map((m) => m[1]);
        const unexpected = used.filter((name) => !rewrite.allowed.includes(name));
        if (!text.includes(rewrite.from) || unexpected.length > 0) {
          throw new Error(
            `${args.path} changed: expected ${JSON.stringify(rewrite.from)} and no use but ${rewrite.allowed.join(', ')} (found ${unexpected.join(', ') || 'no such line'})`,
          );
        }
        return { contents: text.replace(rewrite.from, rewrite.to), loader: 'js' };
      });
    }
  },
};

/** The TypeScript modules under `dir` (tests and declarations left out), as absolute paths. */
function modulesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modulesUnder(path);
    return /(?<!\.test|\.d)\.ts$/.test(entry.name) ? [path] : [];
  });
}

/**
 * Modules that go into one chunk together. esbuild puts each module in the chunk of the exact set
 * of entry points (the CLI and every `await import()`) that reach it, and imgdigest has a hundred
 * dynamic imports: src/core alone was fourteen chunks, some of a few hundred bytes, and a short
 * command read thirty-five files. Node's ES module loader costs about half a millisecond per file
 * (resolving, reading, linking), more than compiling a few kilobytes of code the command does
 * not run. So every import of a group's module from outside the group (static or dynamic) is sent
 * to one module that re-exports the whole group: the group is reached by one set of entry points
 * and lands in one chunk. `digest REF` reads 15 files instead of 35 (about 8% of its time).
 *
 * - core: every command that reaches one of its modules reaches most of them. Not for main.ts:
 *   `imgdigest --version` keeps loading only the three core modules main.ts imports.
 * - registry: the registry client, without undici.ts and dispatcher.ts, which the transport loads
 *   when a request needs undici (a one-shot command over node:http never does).
 * - cli-common: the command modules' shared helpers (flags, registry options, sources, tables).
 *
 * The re-exporting module is `export *` of each member: a default export in a group, or one name
 * exported by two of its modules, would leave an import without a match, which fails the build.
 */
const moduleGroups = (() => {
  const groups = [
    { name: 'core', files: modulesUnder(join(root, 'src', 'core')) },
    {
      name: 'registry',
      files: modulesUnder(join(root, 'src', 'sources', 'registry')).filter(
        (path) => !/[\\/](undici|dispatcher)\.ts$/.test(path),
      ),
    },
    {
      name: 'cli-common',
      files: ['options', 'flags', 'source', 'table', 'json'].map((name) =>
        join(root, 'src', 'cli', `${name}.ts`),
      ),
    },
  ];
  const groupOf = new Map(groups.flatMap((group) => group.files.map((path) => [path, group])));
  const ungrouped = new Set([join(root, 'src', 'cli', 'main.ts')]);
  return {
    name: 'module-groups',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        if (args.namespace !== 'file' || ungrouped.has(args.importer)) return undefined;
        const group = groupOf.get(join(dirname(args.importer), args.path).replace(/\.js$/, '.ts'));
        // Inside its own group a module imports the others directly.
        if (!group || groupOf.get(args.importer) === group) return undefined;
        return { path: group.name, namespace: 'module-group' };
      });
      esbuild.onLoad({ filter: /.*/, namespace: 'module-group' }, (args) => {
        const group = groups.find((g) => g.name === args.path);
        return {
          contents: group.files.map((path) => `export * from ${JSON.stringify(path)};`).join('\n'),
          loader: 'js',
          resolveDir: root,
        };
      });
    },
  };
})();

await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  ...bundleOptions,
  splitting: true,
  // `imgdigest version` shows it (src/cli/version.ts).
  define: { IMGDIGEST_COMMIT: JSON.stringify(commit()) },
  plugins: [lazyBuiltins, moduleGroups],
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
