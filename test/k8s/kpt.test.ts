/**
 * `imgdigest krm check|pin` under the real kpt (`kpt fn eval DIR --exec ...`), run from src/
 * through test/k8s/support/imgdigest-dev.sh.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { removeTempDir, tempDirSync } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const DEV = join(import.meta.dirname, 'support/imgdigest-dev.sh');
const CORPUS = join(import.meta.dirname, '../fixtures/k8s/corpus');
const root = tempDirSync('kpt');
afterAll(() => removeTempDir(root));

function kpt(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kpt', args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function pkg(name: string, files: string[]): string {
  const dir = join(root, name);
  for (const f of files) cpSync(join(CORPUS, f), join(dir, f), { recursive: true });
  return dir;
}

describe.skipIf(!haveTools('kpt'))('kpt fn eval --exec "imgdigest krm ..."', () => {
  it('check: one error result per image without a digest, with resourceRef, field and file; exit 1', async () => {
    const dir = pkg('check', ['commented.yaml', 'flow.yaml']);
    const before = readFileSync(join(dir, 'commented.yaml'), 'utf8');
    const r = await kpt([
      'fn',
      'eval',
      dir,
      '--results-dir',
      join(root, 'check-results'),
      '--exec',
      `${DEV} krm check --exempt-image busybox:1.36`,
    ]);
    expect(r.code).not.toBe(0);
    const results = parseAllDocuments(
      readFileSync(join(root, 'check-results/results.yaml'), 'utf8'),
    )[0]!.toJS().items[0].results;
    expect(results).toEqual(
      expect.arrayContaining([
        {
          message: 'container <app> uses an image without a digest <registry.example.com/team/app:1.0>',
          severity: 'error',
          resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'prod' },
          field: { path: 'spec.template.spec.containers[0].image' },
          file: { path: 'commented.yaml' },
        },
        expect.objectContaining({
          message:
            'initContainer <migrate> uses an image without a digest <registry.example.com/team/migrate:2.1>',
          file: { path: 'commented.yaml' },
        }),
        expect.objectContaining({
          resourceRef: { apiVersion: 'v1', kind: 'Pod', name: 'flowy' },
          file: { path: 'flow.yaml' },
        }),
      ]),
    );
    expect(results).toHaveLength(3); // busybox:1.36 is exempt, the pinned nginx passes
    expect(readFileSync(join(dir, 'commented.yaml'), 'utf8')).toBe(before);
  });

  it('check: exit 0 and no results for a clean package, options from a ConfigMap functionConfig', async () => {
    const dir = pkg('clean', ['flow.yaml']);
    const r = await kpt([
      'fn',
      'eval',
      dir,
      '--exec',
      `${DEV} krm check`,
      '--',
      'exemptImages=registry.example.com/*,busybox:1.36',
    ]);
    expect(r.stderr).toMatch(/\[PASS\]/);
    expect(r.code).toBe(0);
  });

  it('pin: rewrites the items from a lock, offline, keeping comments', async () => {
    const dir = pkg('pin', ['commented.yaml']);
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const d3 = `sha256:${'3'.repeat(64)}`;
    const lock = join(root, 'built.txt');
    writeFileSync(
      lock,
      `registry.example.com/team/app:1.0@${d1}\nregistry.example.com/team/migrate:2.1@${d2}\nbusybox:1.36@${d3}\n`,
    );
    const r = await kpt(['fn', 'eval', dir, '--exec', `${DEV} krm pin --from-lock ${lock}`]);
    expect(r.stderr).toMatch(/\[PASS\]/);
    const out = readFileSync(join(dir, 'commented.yaml'), 'utf8');
    expect(out).toContain(`registry.example.com/team/app:1.0@${d1}`);
    expect(out).toContain(`registry.example.com/team/migrate:2.1@${d2}`);
    expect(out).toContain(`busybox:1.36@${d3}`);
    expect(out).toContain('# the main container');
    expect(out).toContain('# single-quoted');
  });

  it('pin: fails with error results and leaves the files alone when an image is missing from the lock', async () => {
    const dir = pkg('pin-missing', ['flow.yaml']);
    const before = readFileSync(join(dir, 'flow.yaml'), 'utf8');
    const lock = join(root, 'partial.txt');
    writeFileSync(lock, `busybox:1.36@sha256:${'3'.repeat(64)}\n`);
    const r = await kpt(['fn', 'eval', dir, '--exec', `${DEV} krm pin --from-lock ${lock}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/registry\.example\.com\/team\/app:1\.0: not in the lock/);
    expect(readFileSync(join(dir, 'flow.yaml'), 'utf8')).toBe(before);
  });
});
