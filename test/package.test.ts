/**
 * The package's public surface: every sub-path export points at a module that exists, and the
 * root export carries the core model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { types: string; import: string }>;
  bin: Record<string, string>;
  engines: { node: string };
};

describe('package.json', () => {
  for (const [path, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    it(`export ${path} is built from a source module`, () => {
      const src = target.import.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(new URL(`../${src}`, import.meta.url)), src).toBe(true);
      expect(target.types).toBe(target.import.replace(/\.js$/, '.d.ts'));
    });
  }

  it('names the imgdigest binary and a Node 20 engine', () => {
    expect(pkg.bin.imgdigest).toBe('bin/imgdigest.js');
    expect(pkg.engines.node).toMatch(/^>=20/);
  });

  it('exports the core model from the root', async () => {
    const root = await import('../src/index.js');
    for (const name of [
      'parseReference',
      'parseDigest',
      'parsePlatform',
      'parseManifest',
      'ImgdigestError',
    ]) {
      expect(typeof (root as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
