/**
 * The repository stands alone: the suite never reads a folder beside it (a user's clone has none),
 * and `npm install` on a fresh clone leaves the lock file as committed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outsideRepository, repoRoot, takeViolations } from './support/repo-boundary.js';
import { loadVectors } from './support/vectors.js';

describe('the repository boundary', () => {
  const sibling = join(repoRoot, '..', 'shared', 'vectors', 'vectors.json');

  it('refuses reads of a folder beside the repository, sync and async, even when the error is swallowed', async () => {
    expect(() => readFileSync(sibling)).toThrow(/outside the repository/);
    expect(() => existsSync(sibling)).toThrow(/outside the repository/);
    await expect(readFile(sibling)).rejects.toThrow(/outside the repository/);
    expect(() => readFileSync(new URL(`file://${join(repoRoot, '..', 'anything.txt')}`))).toThrow(
      /outside the repository/,
    );
    expect(takeViolations()).toHaveLength(4); // each one would also fail the file at its end
  });

  it('allows the repository, the temporary folder, the system and dot-folders of a home directory', () => {
    expect(outsideRepository(join(repoRoot, 'test', 'fixtures', 'vectors.json'))).toBe(false);
    expect(outsideRepository('/usr/bin/skopeo')).toBe(false);
    expect(outsideRepository(join(tmpdir(), 'imgdigest-test-x', 'a.json'))).toBe(false);
    expect(outsideRepository(join(repoRoot, '..', '.docker', 'config.json'))).toBe(false);
    expect(outsideRepository(join(repoRoot, '..'))).toBe(true);
    expect(outsideRepository(sibling)).toBe(true);
  });

  it('keeps the test vectors inside the repository, with their sources', () => {
    const vectors = loadVectors();
    expect(vectors.upstreamCommits).toBeTruthy();
    expect(vectors.reference_parse.length).toBeGreaterThan(10);
    for (const v of vectors.reference_parse) expect(v.source).toMatch(/\S/);
  });
});

describe('package-lock.json', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));

  it('records exactly the ranges package.json asks for, so `npm install` does not rewrite it', () => {
    const root = lock.packages[''];
    expect(lock.name).toBe(pkg.name);
    expect(root.version).toBe(pkg.version);
    expect(root.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(root.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(root.engines ?? {}).toEqual(pkg.engines ?? {});
    expect(root.bin ?? {}).toEqual(pkg.bin ?? {});
  });
});
