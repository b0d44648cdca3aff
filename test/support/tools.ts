/**
 * @module test/support/tools
 * Real components the tests start (the CNCF registry, skopeo, umoci, podman, htpasswd, kubectl,
 * kpt). Locally a missing tool skips its suite with a note; under CI=true a missing tool fails the
 * suite, so CI can never pass by skipping.
 */
import { execFileSync } from 'node:child_process';

const cache = new Map<string, string | null>();

/** The absolute path of `name` on PATH, or null. */
export function findTool(name: string): string | null {
  if (!cache.has(name)) {
    try {
      cache.set(name, execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null);
    } catch {
      cache.set(name, null);
    }
  }
  return cache.get(name) ?? null;
}

export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Use in `describe.skipIf(!haveTools(...))`. Under CI a missing tool throws at collection time so
 * the suite fails loudly instead of skipping.
 */
export function haveTools(...names: string[]): boolean {
  const missing = names.filter((n) => findTool(n) === null);
  if (missing.length === 0) return true;
  if (isCI) {
    throw new Error(
      `CI=true and required test tools are missing: ${missing.join(', ')} (.ci/run installs them)`,
    );
  }
  process.stderr.write(`skipping: missing ${missing.join(', ')}\n`);
  return false;
}
