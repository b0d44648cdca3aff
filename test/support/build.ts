/**
 * @module test/support/build
 * dist/ for the tests that use the package as a user gets it (the README's shell session, require()
 * of the published exports): built as `npm run build` builds it (tsc, then the CLI bundle) when
 * any source under src/ is newer.
 * Test files run in parallel, so one build at a time (a lock folder beside dist/).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest modification time of the compiled sources under `dir` (tests excluded). */
async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  }
  return newest;
}

/** The newest of what a build reads: the sources, and the script that bundles the CLI. */
async function newestInput(): Promise<number> {
  const bundler = (await stat(join(repoRoot, 'scripts', 'bundle-cli.mjs'))).mtimeMs;
  return Math.max(await newestSource(join(repoRoot, 'src')), bundler);
}

/** When dist/ was last built: the older of the tsc output and the CLI bundle (0: missing). */
function builtAt(): number {
  try {
    return Math.min(
      statSync(join(repoRoot, 'dist', 'cli', 'main.js')).mtimeMs,
      statSync(join(repoRoot, 'dist', 'cli-bundle', 'main.js')).mtimeMs,
    );
  } catch {
    return 0;
  }
}

/** Build dist/ when src/ is newer than it; wait for a build another test file started. */
export async function ensureBuilt(): Promise<void> {
  const lock = join(repoRoot, '.dist-build.lock');
  const givingUp = Date.now() + 180_000;
  while (builtAt() < (await newestInput())) {
    try {
      mkdirSync(lock);
    } catch {
      // A build is running in another test file (or one crashed and left its lock: take it over).
      if (Date.now() > givingUp) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      execFileSync(
        process.execPath,
        [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        { cwd: repoRoot, stdio: 'pipe' },
      );
      // bin/imgdigest.js runs the bundle (npm run build makes both).
      execFileSync(process.execPath, [join(repoRoot, 'scripts', 'bundle-cli.mjs')], {
        cwd: repoRoot,
        stdio: 'pipe',
      });
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/**
 * Why dist/cli-bundle/ cannot be trusted to be the CLI of this checkout, or null when it can: it is
 * missing, or older than what it is built from (src/, scripts/bundle-cli.mjs). For the tests that
 * run bin/imgdigest.js as it ships and must not build it themselves (CI builds first).
 */
export async function staleBundle(): Promise<string | null> {
  let bundledAt: number;
  try {
    bundledAt = statSync(join(repoRoot, 'dist', 'cli-bundle', 'main.js')).mtimeMs;
  } catch {
    return 'dist/cli-bundle/ is missing: run npm run build';
  }
  if (bundledAt < (await newestInput())) return 'dist/cli-bundle/ is older than src/: run npm run build';
  return null;
}
