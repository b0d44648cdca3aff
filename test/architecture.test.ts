/**
 * The layering of ARCHITECTURE.md, checked rather than hoped for: each layer imports only the
 * layers above it, the core model only Node built-ins, and only the CLI the CLI framework.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports (static and dynamic), resolved to a src-relative path for relative ones. */
function imports(file: string): Array<{ spec: string; local: boolean }> {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => (m[1] ?? m[2])!);
  return specs.map((s) =>
    s.startsWith('.')
      ? { spec: relative(src, resolve(dirname(file), s)), local: true }
      : { spec: s, local: false },
  );
}

const layerOf = (path: string) => path.split('/')[0]!;

const ALLOWED: Record<string, { layers: string[]; packages: RegExp }> = {
  core: { layers: ['core'], packages: /^node:/ },
  sources: {
    layers: ['core', 'sources'],
    packages: /^(node:|undici$|tar-stream$|p-limit$|lru-cache$)/,
  },
  // The image builder pushes through the registry client: no HTTP package of its own.
  builder: { layers: ['core', 'sources', 'builder'], packages: /^(node:|tar-stream$)/ },
  resolver: { layers: ['core', 'sources', 'resolver'], packages: /^(node:|lru-cache$|p-limit$)/ },
  k8s: { layers: ['core', 'k8s', 'resolver/types.js'], packages: /^(node:|yaml$|p-limit$)/ },
  webhook: { layers: ['core', 'sources', 'resolver', 'k8s', 'webhook'], packages: /^(?!commander$)/ },
  // The demo images come from the builder.
  'registry-server': {
    layers: ['core', 'sources', 'builder', 'registry-server'],
    packages: /^(?!commander$)/,
  },
};

describe('architecture', () => {
  const all = files(src);

  it('finds the source tree', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  for (const [layer, rule] of Object.entries(ALLOWED)) {
    it(`${layer} imports only ${rule.layers.join(', ')} and ${rule.packages}`, () => {
      const bad: string[] = [];
      for (const file of all.filter((f) => layerOf(relative(src, f)) === layer)) {
        for (const { spec, local } of imports(file)) {
          if (local) {
            const ok = rule.layers.some(
              (l) => spec === l || spec.startsWith(`${l}/`) || (l.endsWith('.js') && spec === l),
            );
            if (!ok) bad.push(`${relative(root, file)} -> src/${spec}`);
          } else if (!rule.packages.test(spec)) {
            bad.push(`${relative(root, file)} -> ${spec}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('only the CLI imports commander', () => {
    const offenders = all
      .filter((f) => !relative(src, f).startsWith('cli/'))
      .filter((f) => imports(f).some((i) => i.spec === 'commander'))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('the core model never reaches the registry client, the CLI, Kubernetes or the servers', () => {
    const core = all.filter((f) => relative(src, f).startsWith('core/'));
    for (const f of core) {
      for (const { spec, local } of imports(f)) {
        expect(local ? spec.startsWith('core/') : spec.startsWith('node:'), `${f} imports ${spec}`).toBe(
          true,
        );
      }
    }
  });
});
