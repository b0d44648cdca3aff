/**
 * No Node warning reaches a user's terminal: representative commands of the built CLI
 * (bin/imgdigest.js over dist/cli-bundle/) print none, and a warning Node does emit (an
 * experimental API, a deprecation in a dependency) is shown only with --debug.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { ensureBuilt, repoRoot } from '../support/build.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const execFileAsync = promisify(execFile);

/** How Node prints a warning: `(node:1234) ExperimentalWarning: ...`, `Warning: Closing file descriptor ...`. */
const NODE_WARNING = /Warning|\(node:\d+\)/;

/** The built CLI as a user runs it; never rejects: the exit code is part of the answer. */
async function imgdigest(
  args: string[],
  nodeArgs: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [...nodeArgs, join(repoRoot, 'bin', 'imgdigest.js'), ...args],
      { env: { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test' }, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Emits an ExperimentalWarning once the CLI has started (as zlib's zstd does on newer Node). */
const EMIT_WARNING = `data:text/javascript,${encodeURIComponent(
  "let once = false; process.on('beforeExit', () => { if (!once) { once = true; process.emitWarning('zstd is an experimental feature', 'ExperimentalWarning'); } });",
)}`;

afterAll(cleanupTempDirs);

describe('Node warnings', () => {
  let registry: RunningRegistry;
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
    dir = await tempDir('cli-output');
  });
  afterAll(() => registry?.close());

  it('none in what representative commands print', async () => {
    const app = `${registry.host}/sample/app`;
    const commands: Array<[string[], number]> = [
      [['--version'], 0],
      [['--help'], 0],
      [['version', '--json'], 0],
      [['completion', 'bash'], 0],
      [['digest', `${app}:1.0`], 0],
      [['inspect', '--json', `${app}:1.0`], 0],
      [['index', `${app}:1.0`], 0],
      [['files', '-p', 'linux/amd64', `${app}:1.0`], 0],
      [['config', '-p', 'linux/arm64', `${app}:1.0`], 0],
      [['tags', app], 0],
      [['catalog', registry.host], 0],
      [['demo', '--manifests', join(dir, 'deploy'), '--registry', registry.host], 0],
      [['check', '-f', join(dir, 'deploy')], 1],
      [['pin', '-f', join(dir, 'deploy'), '--check'], 1],
      [['webhook', 'certs', '--service', 'hook', '--namespace', 'ns', '--out', join(dir, 'certs')], 0],
      [['webhook', 'manifests', '--no-resolve', '--tls-dir', join(dir, 'certs')], 0],
      [['policy', 'export', '--kyverno'], 0],
      [['digest', `${app}:nope`], 3],
      [['digest', '--retries', '0', '127.0.0.1:1/app:1'], 3],
    ];
    for (const [args, expected] of commands) {
      const r = await imgdigest(args);
      expect(r.code, `imgdigest ${args.join(' ')}: ${r.stderr}`).toBe(expected);
      expect(r.stderr, `imgdigest ${args.join(' ')}`).not.toMatch(NODE_WARNING);
    }
  });

  it.skipIf(!haveTools('skopeo'))('none from a docker save archive, read whole and listed', async () => {
    const archive = join(dir, 'app.tar');
    await execFileAsync('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${registry.host}/sample/app:single`,
      `docker-archive:${archive}:sample/app:single`,
    ]);
    for (const args of [
      ['digest', `docker-archive:${archive}`],
      ['files', `docker-archive:${archive}`],
      ['inspect', `docker-archive:${archive}`],
    ]) {
      const r = await imgdigest(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(NODE_WARNING);
    }
  });

  it('one Node emits is shown with --debug only', async () => {
    const ref = `${registry.host}/sample/app:1.0`;
    const quiet = await imgdigest(['digest', ref], ['--import', EMIT_WARNING]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const debug = await imgdigest(['--debug', 'digest', ref], ['--import', EMIT_WARNING]);
    expect(debug.stderr).toBe(
      'imgdigest: warning from Node: ExperimentalWarning: zstd is an experimental feature\n',
    );
  });
});
