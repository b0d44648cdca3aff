/**
 * `imgdigest version` and `--version`: what is running, for bug reports and scripts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/core/platform.js';
import { ensureBuilt, repoRoot } from '../support/build.js';
import { runCli } from '../support/cli.js';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

describe('imgdigest version', () => {
  it('prints the version, commit, Node and the platform in the names images use', async () => {
    const r = await runCli(['version']);
    expect(r.code).toBe(0);
    const { os, architecture, variant } = hostPlatform();
    expect(r.stdout).toBe(
      [
        `imgdigest ${version}`,
        'commit    unknown', // from src/: no build, no commit
        `node      ${process.version}`,
        `platform  ${[os, architecture, variant].filter(Boolean).join('/')}`,
        '',
      ].join('\n'),
    );
    expect((await runCli(['--version'])).stdout).toBe(`${version}\n`);
  });

  it('--json: {version, commit, node, platform: {os, architecture}}', async () => {
    const r = await runCli(['version', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({
      version,
      commit: null,
      node: process.version,
      platform: hostPlatform(),
    });
  });

  it('names the commit the built CLI was made from', async () => {
    await ensureBuilt();
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(repoRoot, 'bin', 'imgdigest.js'),
      'version',
      '--json',
    ]);
    const facts = JSON.parse(stdout) as { version: string; commit: string | null };
    expect(facts.version).toBe(version);
    // A build outside a git checkout (a copy, a tarball) knows no commit.
    let inGit = true;
    await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: repoRoot }).catch(() => {
      inGit = false;
    });
    if (inGit) expect(facts.commit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    else expect(facts.commit).toBeNull();
  });
});
