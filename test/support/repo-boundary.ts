/**
 * @module test/support/repo-boundary
 * A vitest setup file: the suite may read the repository, the system and temporary folders, but
 * never a folder beside the repository (a user's clone has no siblings, so a test that reads
 * `../shared` passes here and fails for them). File-system reads of such paths throw, and every
 * attempt is also reported when the test file ends, so a caller that swallows the error (a
 * try/catch, `existsSync`) still fails the suite.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const parent = dirname(repoRoot);
const temp = resolve(tmpdir());

const violations: string[] = [];

function inside(child: string, dir: string): boolean {
  const rel = relative(dir, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * True for the repository's parent folder and anything under it that is not the repository itself
 * or a dot-folder (a home directory's `.docker`, `.config`, `.cache`). The temporary folder is
 * allowed wherever it does not lie beside the repository.
 */
export function outsideRepository(path: string): boolean {
  if (parent === repoRoot) return false; // the repository is the file-system root
  if (inside(path, repoRoot)) return false;
  // A clone made directly in the temporary folder has every temporary directory as a sibling.
  if (inside(temp, parent) && inside(path, temp)) return false;
  if (path === parent) return true;
  if (!inside(path, parent)) return false;
  const first = relative(parent, path).split(sep)[0] ?? '';
  return !first.startsWith('.');
}

function toPath(p: unknown): string | undefined {
  if (typeof p === 'string') return resolve(p);
  if (p instanceof URL && p.protocol === 'file:') return fileURLToPath(p);
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  return undefined;
}

function check(p: unknown, fn: string): void {
  const path = toPath(p);
  if (path === undefined || !outsideRepository(path)) return;
  const message = `test read outside the repository: ${fn}(${path}); bring the file into the repository (e.g. test/fixtures/)`;
  violations.push(message);
  throw new Error(message);
}

/** Violations recorded so far, removed from the record (for the guard's own test). */
export function takeViolations(): string[] {
  return violations.splice(0);
}

const guarded = [
  'readFileSync',
  'readFile',
  'existsSync',
  'statSync',
  'stat',
  'lstatSync',
  'lstat',
  'openSync',
  'open',
  'createReadStream',
  'readdirSync',
  'readdir',
  'accessSync',
  'access',
  'realpathSync',
  'realpath',
  'opendirSync',
  'opendir',
] as const;
const promiseGuarded = [
  'readFile',
  'stat',
  'lstat',
  'open',
  'readdir',
  'access',
  'realpath',
  'opendir',
] as const;

const target = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
const marker = Symbol.for('imgdigest.repoBoundary');
if (!(target as Record<symbol, unknown>)[marker]) {
  (target as Record<symbol, unknown>)[marker] = true;
  for (const name of guarded) {
    const original = target[name]!;
    target[name] = function (this: unknown, ...args: unknown[]) {
      check(args[0], `fs.${name}`);
      return original.apply(this, args);
    };
  }
  const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of promiseGuarded) {
    const original = promises[name]!;
    promises[name] = function (this: unknown, ...args: unknown[]) {
      try {
        check(args[0], `fs.promises.${name}`);
      } catch (err) {
        return Promise.reject(err);
      }
      return original.apply(this, args);
    };
  }
  syncBuiltinESMExports();
}

afterAll(() => {
  const found = takeViolations();
  if (found.length > 0) throw new Error(found.join('\n'));
});
