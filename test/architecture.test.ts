/**
 * The layering of docs/architecture.md, checked rather than hoped for, and failing closed: every
 * source file belongs to a declared unit (a folder under src/ or a declared top-level file), and
 * every module it refers to (imports of any kind, `require()`, `createRequire`) is one its unit may
 * use: the units of the layers above it, and an explicit list of npm packages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/build.js';
import { checkLayers, type LayerRules, moduleReferences, readSourceTree } from './support/layers.js';

const SERVERS_MAY = ['core', 'sources'];

/** The units of src/ and what each may use; docs/architecture.md shows the same table. */
export const RULES: LayerRules = {
  folders: {
    core: { layer: 'core', may: [], packages: [] },
    sources: { layer: 'sources', may: ['core'], packages: ['undici', 'tar-stream'] },
    // The image builder pushes through the registry client: no HTTP package of its own.
    builder: { layer: 'sources', may: ['core', 'sources'], packages: ['tar-stream'] },
    // Lock files are YAML.
    resolver: { layer: 'resolver', may: ['core', 'sources'], packages: ['lru-cache', 'yaml'] },
    // Kubernetes code is handed a resolver: it knows the contract and the lock format, not the
    // registry client.
    k8s: { layer: 'k8s', may: ['core', 'resolver/types.ts', 'resolver/lock.ts'], packages: ['yaml'] },
    webhook: {
      layer: 'servers',
      may: [...SERVERS_MAY, 'resolver', 'k8s'],
      packages: ['yaml', 'pino', 'prom-client', '@peculiar/x509', 'reflect-metadata'],
    },
    // The demo images come from the builder.
    'registry-server': {
      layer: 'servers',
      may: [...SERVERS_MAY, 'builder'],
      packages: ['bcryptjs', 'lru-cache'],
    },
    // The web explorer reads through the same sources and resolver as the CLI.
    explorer: {
      layer: 'servers',
      may: [...SERVERS_MAY, 'resolver', 'k8s', 'builder'],
      packages: ['hono', '@hono/node-server', 'lru-cache'],
    },
    // The mirror file is YAML read with its line numbers.
    cli: {
      layer: 'cli',
      may: ['core', 'sources', 'builder', 'resolver', 'k8s', 'webhook', 'registry-server', 'explorer'],
      packages: ['commander', 'yaml'],
    },
  },
  files: {
    // The package root re-exports the core model.
    'index.ts': { layer: 'core', may: ['core'], packages: [] },
  },
};

const src = join(repoRoot, 'src');

describe('architecture', () => {
  const tree = readSourceTree(src);
  const violations = checkLayers(tree, RULES);

  it('finds the source tree', () => {
    expect(tree.length).toBeGreaterThan(100);
    expect(tree.some((f) => f.path === 'index.ts')).toBe(true);
  });

  it('every source file belongs to a declared unit', () => {
    expect(violations.filter((v) => v.includes('belongs to no declared layer'))).toEqual([]);
  });

  for (const [name, rule] of Object.entries({ ...RULES.folders, ...RULES.files })) {
    const may = rule.may.length ? rule.may.join(', ') : 'nothing else';
    it(`${name} imports ${may} and ${rule.packages.length ? rule.packages.join(', ') : 'no package'}`, () => {
      expect(
        violations.filter((v) => v === name || v.startsWith(name.endsWith('.ts') ? name : `${name}/`)),
      ).toEqual([]);
    });
  }

  it('keeps the arrows one way: only the CLI may use the CLI framework, the core only Node', () => {
    const units = Object.entries({ ...RULES.folders, ...RULES.files });
    expect(units.filter(([, r]) => r.packages.includes('commander')).map(([n]) => n)).toEqual(['cli']);
    expect(RULES.folders.core).toEqual({ layer: 'core', may: [], packages: [] });
    for (const [name, rule] of units) {
      if (name !== 'cli') expect(rule.may, name).not.toContain('cli');
    }
  });

  it('the explorer reaches the other layers only through its one adapter module (library.ts)', () => {
    const offenders = tree
      .filter((f) => f.path.startsWith('explorer/') && f.path !== 'explorer/library.ts')
      .flatMap((f) =>
        moduleReferences(f.path, f.text)
          .filter((spec) => spec.startsWith('../'))
          .map((spec) => `${f.path} -> ${spec}`),
      );
    expect(offenders).toEqual([]);
  });

  it('is the table docs/architecture.md shows', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
    const rows = doc
      .split('\n')
      .filter((l) => /^\| `[^`]+` \|/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    const table = Object.fromEntries(
      rows.map((c) => [
        c[1]!.replaceAll('`', ''),
        {
          layer: c[2]!,
          may: c[3] === 'nothing' ? [] : c[3]!.replaceAll('`', '').split(', '),
          packages: c[4] === 'none' ? [] : c[4]!.replaceAll('`', '').split(', '),
        },
      ]),
    );
    expect(table).toEqual({ ...RULES.folders, ...RULES.files });
  });
});

describe('the layer checker fails closed', () => {
  const fake = (path: string, text: string) => ({ path, text });

  it('refuses a file in an undeclared folder and an undeclared top-level file', () => {
    expect(
      checkLayers(
        [
          fake('gui/window.ts', 'export const x = 1;\n'),
          fake('helpers.ts', "import { x } from './core/x.js';\n"),
          fake('core/x.ts', 'export const x = 1;\n'),
        ],
        RULES,
      ),
    ).toEqual([
      'gui/window.ts: belongs to no declared layer (declare its folder or file)',
      'helpers.ts: belongs to no declared layer (declare its folder or file)',
    ]);
  });

  it('sees require(), createRequire and import() against the grain, not only import statements', () => {
    const text = [
      "import { createRequire } from 'node:module';",
      'const load = createRequire(import.meta.url);',
      "const client = load('../sources/registry/client.js');",
      "const pin = require('../k8s/pin.js');",
      "const where = load.resolve('commander');",
      "const later = await import('../webhook/server.js');",
      "import type { Rules } from '../k8s/rules.js';",
      "export * from '../resolver/resolver.js';",
    ].join('\n');
    expect(checkLayers([fake('core/sneaky.ts', text)], RULES)).toEqual([
      'core/sneaky.ts -> src/sources/registry/client.ts: core may not import sources',
      'core/sneaky.ts -> src/k8s/pin.ts: core may not import k8s',
      'core/sneaky.ts -> commander: not among the packages core may use',
      'core/sneaky.ts -> src/webhook/server.ts: core may not import webhook',
      'core/sneaky.ts -> src/k8s/rules.ts: core may not import k8s',
      'core/sneaky.ts -> src/resolver/resolver.ts: core may not import resolver',
    ]);
  });

  it('refuses a server importing a package not on its list, a side-effect import included', () => {
    const text = "import express from 'express';\nimport 'reflect-metadata';\nimport { Hono } from 'hono';\n";
    expect(checkLayers([fake('webhook/app.ts', text), fake('explorer/app.ts', text)], RULES)).toEqual([
      'webhook/app.ts -> express: not among the packages webhook may use',
      'webhook/app.ts -> hono: not among the packages webhook may use',
      'explorer/app.ts -> express: not among the packages explorer may use',
      'explorer/app.ts -> reflect-metadata: not among the packages explorer may use',
    ]);
  });

  it('refuses one server importing another, and k8s reaching past the resolver contract', () => {
    expect(
      checkLayers(
        [
          fake('webhook/a.ts', "import { startRegistry } from '../registry-server/index.js';\n"),
          fake(
            'k8s/a.ts',
            "import type { Resolver } from '../resolver/types.js';\nimport { createResolver } from '../resolver/resolver.js';\n",
          ),
        ],
        RULES,
      ),
    ).toEqual([
      'webhook/a.ts -> src/registry-server/index.ts: webhook may not import registry-server',
      'k8s/a.ts -> src/resolver/resolver.ts: k8s may not import resolver',
    ]);
  });

  it('refuses a computed specifier (it cannot be checked) and a path out of src/', () => {
    expect(
      checkLayers(
        [
          fake(
            'sources/a.ts',
            "const m = await import('./' + name + '.js');\nimport x from '../../test/support/tmp.js';\n",
          ),
        ],
        RULES,
      ),
    ).toEqual([
      "sources/a.ts: <computed: './' + name + '.js'> cannot be checked",
      'sources/a.ts -> ../../test/support/tmp.js: outside src/',
    ]);
  });

  it('does not count what only looks like an import: comments, strings, a method named require', () => {
    const text = [
      '/** @example',
      " * import { parseReference } from 'imgdigest';",
      ' */',
      "// const x = require('commander');",
      'const help = "import x from \'commander\'";',
      'class Tar { require(name: string) { return name; } read() { return this.require("a"); } }',
    ].join('\n');
    expect(moduleReferences('core/ok.ts', text)).toEqual([]);
    expect(checkLayers([fake('core/ok.ts', text)], RULES)).toEqual([]);
  });
});
