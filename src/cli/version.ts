/**
 * @module cli/version
 * The package version, read once from package.json (for --version and the User-Agent), and the
 * commit the CLI bundle was built from.
 */
import { readFileSync } from 'node:fs';

/** Set by scripts/bundle-cli.mjs (esbuild `define`); not defined when running from src/ or dist/cli/. */
declare const IMGDIGEST_COMMIT: string | undefined;

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cached;
}

/** The git commit the CLI was built from (`-dirty` when files had uncommitted changes), or null. */
export function buildCommit(): string | null {
  return typeof IMGDIGEST_COMMIT === 'string' && IMGDIGEST_COMMIT !== '' ? IMGDIGEST_COMMIT : null;
}
