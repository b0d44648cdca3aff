/**
 * The package's public surface: every sub-path export points at a module that exists, the root
 * export is the short list most programs need (the full sets live on the sub-paths), and the
 * built package loads with `require()` on Node >= 20.19 as well as with `import`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from './support/build.js';
import { cleanupTempDirs, tempDir } from './support/tmp.js';

type Target = { types: string; import: string; default: string };
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Target>;
  bin: Record<string, string>;
  engines: { node: string };
  type: string;
};
const subPaths = Object.entries(pkg.exports).filter((e): e is [string, Target] => typeof e[1] !== 'string');

/** What a program gets from `import ... from 'imgdigest'`, and nothing more. */
const ROOT = [
  'ERROR_CODES',
  'EXIT',
  'ImgdigestError',
  'MediaType',
  'Reference',
  'createMatcher',
  'digestOf',
  'digestOfStream',
  'exitCodeOf',
  'formatPlatform',
  'hostPlatform',
  'isDigest',
  'isImageManifestMediaType',
  'isImgdigestError',
  'isIndexMediaType',
  'parseDigest',
  'parseImageConfig',
  'parseManifest',
  'parsePlatform',
  'parseReference',
  'selectManifest',
  'verifyingStream',
];

describe('package.json', () => {
  for (const [path, target] of subPaths) {
    it(`export ${path} is built from a source module, for import and require alike`, () => {
      const src = target.import.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(repoRoot, src)), src).toBe(true);
      expect(target.types).toBe(target.import.replace(/\.js$/, '.d.ts'));
      expect(target.default).toBe(target.import);
      expect(Object.keys(target)).toEqual(['types', 'import', 'default']);
    });
  }

  it('names the imgdigest binary, an ES module package and a Node engine that can require() it', () => {
    expect(pkg.bin.imgdigest).toBe('bin/imgdigest.js');
    expect(pkg.type).toBe('module');
    expect(pkg.engines.node).toBe('>=20.19');
  });

  it('exports the short list from the root, each name also on its sub-path', async () => {
    const root = (await import('../src/index.js')) as Record<string, unknown>;
    expect(Object.keys(root).sort()).toEqual([...ROOT].sort());
    const modules = (await Promise.all([
      import('../src/core/reference.js'),
      import('../src/core/digest.js'),
      import('../src/core/platform.js'),
      import('../src/core/manifest.js'),
      import('../src/core/errors.js'),
    ])) as Array<Record<string, unknown>>;
    for (const name of ROOT) {
      expect(
        modules.some((m) => m[name] === root[name]),
        name,
      ).toBe(true);
    }
  });

  it('keeps the full sets on the sub-paths (patterns and constants included)', async () => {
    const reference = await import('../src/core/reference.js');
    const manifest = await import('../src/core/manifest.js');
    const digest = await import('../src/core/digest.js');
    expect(reference.REFERENCE_REGEXP).toBeInstanceOf(RegExp);
    expect(typeof reference.DOCKER_HUB_HOST).toBe('string');
    expect(manifest.MediaType.OCI_INDEX).toBe('application/vnd.oci.image.index.v1+json');
    expect(manifest.Annotation.REF_NAME).toBe('org.opencontainers.image.ref.name');
    expect(typeof digest.DIGEST_PATTERN).toBe('object');
  });
});

describe('the built package', () => {
  let project: string;
  beforeAll(async () => {
    await ensureBuilt();
    // A project of a user's: the package under node_modules/imgdigest, found by its name.
    project = await tempDir('package-user');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(repoRoot, join(project, 'node_modules', 'imgdigest'), 'dir');
  }, 180_000);
  afterAll(cleanupTempDirs);

  const node = (args: string[]) =>
    execFileSync(process.execPath, args, {
      cwd: project,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('loads every export with require() (CommonJS) and with import, the same names both ways', () => {
    const names = subPaths.map(([path]) => `imgdigest${path.slice(1)}`);
    const script = `
      const out = {};
      for (const name of ${JSON.stringify(names)}) out[name] = Object.keys(require(name)).sort();
      Promise.all(${JSON.stringify(names)}.map((n) => import(n).then((m) => [n, Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort()])))
        .then((imported) => console.log(JSON.stringify({ required: out, imported: Object.fromEntries(imported) })));
    `;
    const { required, imported } = JSON.parse(node(['-e', script])) as Record<
      string,
      Record<string, string[]>
    >;
    expect(Object.keys(required!)).toEqual(names);
    for (const name of names) {
      expect(required![name]!.length, name).toBeGreaterThan(0);
      expect(required![name], name).toEqual(imported![name]);
    }
    expect(required!.imgdigest).toEqual([...ROOT].sort());
  });

  it('works from CommonJS as the README shows', () => {
    const out = node([
      '-e',
      `const { parseReference, isImgdigestError } = require('imgdigest');
       console.log(parseReference('nginx:1.27').canonical);
       try { parseReference('Not A Reference'); } catch (e) { console.log(isImgdigestError(e), e.code); }`,
    ]);
    expect(out).toBe('docker.io/library/nginx:1.27\ntrue REFERENCE_INVALID\n');
  });
});
