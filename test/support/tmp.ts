/**
 * @module test/support/tmp
 * Temporary directories for tests, under os.tmpdir(), each recorded so a suite can remove them in
 * `afterAll(cleanupTempDirs)`; whatever a crashed suite leaves is removed when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
let exitHookInstalled = false;

/** A new empty directory `<tmp>/imgdigest-<prefix>-XXXXXX`, removed by {@link cleanupTempDirs} or at exit. */
export async function tempDir(prefix = 'test'): Promise<string> {
  return record(await mkdtemp(template(prefix)));
}

/** {@link tempDir} for places that cannot wait (a `describe` body, module scope). */
export function tempDirSync(prefix = 'test'): string {
  return record(mkdtempSync(template(prefix)));
}

function template(prefix: string): string {
  return join(tmpdir(), `imgdigest-${prefix.replace(/[^\w.-]/g, '_')}-`);
}

function record(dir: string): string {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort only: 'exit' handlers must be synchronous.
    process.once('exit', () => {
      for (const d of created) rmSync(d, { recursive: true, force: true });
    });
  }
  created.add(dir);
  return dir;
}

/** Remove one directory made by {@link tempDir}. */
export async function removeTempDir(dir: string): Promise<void> {
  created.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Remove every directory {@link tempDir} made and has not removed yet. */
export async function cleanupTempDirs(): Promise<void> {
  await Promise.all([...created].map((dir) => removeTempDir(dir)));
}
