// The esbuild options the CLI bundle is built with (scripts/bundle-cli.mjs), shared with
// bench/profile/startup-floors.ts so that its floor client is bundled as the CLI is.
export const bundleOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // A package's ES module build before its CommonJS one, as Node picks for `import` where the
  // package says so: esbuild gives a dynamic import() of a CommonJS file (@peculiar/x509's, for
  // one) a namespace with its `default` only, where Node finds the named exports too.
  mainFields: ['module', 'main'],
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS packages in an ES module bundle call require() for Node's built-ins; only built-ins
  // are left to it (every npm package is in the bundle), and process.getBuiltinModule loads one
  // without loading node:module first.
  banner: { js: 'const require = (id) => process.getBuiltinModule(id);' },
};
