/**
 * The CLI's contract with scripts: exit codes, one-line errors, stacks only with --debug, data
 * only on stdout.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('imgdigest CLI', () => {
  it('prints its version and help, exit 0', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of [
      'digest',
      'manifest',
      'index',
      'config',
      'blob',
      'files',
      'tags',
      'tag',
      'inspect',
      'check',
      'pin',
      'registry',
      'demo',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`\\n  ${cmd} `));
    }
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 findings');
  });

  it('answers usage mistakes with exit 2, also for nested commands', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['digest', '--no-such-flag', 'x'])).code).toBe(2);
    const nested = await runCli(['krm', 'check', '--no-such-flag']);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(/unknown option '--no-such-flag'/);
    expect((await runCli(['registry', 'serve', '--addr', 'nonsense'])).code).toBe(2);
  });

  it('reports an error in one line without a stack, and with the stack under --debug', async () => {
    const plain = await runCli(['ref', 'UPPER/x:']);
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe('');
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^imgdigest: invalid reference "UPPER\/x:": /);
    const debug = await runCli(['--debug', 'ref', 'UPPER/x:']);
    expect(debug.stderr).toContain('code: REFERENCE_INVALID');
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('maps registry and network failures to exit 3', async () => {
    // Nothing listens on port 1 of the loopback address.
    const r = await runCli(['digest', '--retries', '0', '--timeout', '2', '127.0.0.1:1/app:1']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('127.0.0.1:1');
  });

  it('reads the password only from stdin and refuses half-given credentials', async () => {
    expect((await runCli(['digest', '--username', 'u', 'localhost:1/a'])).stderr).toContain(
      '--username needs --password-stdin',
    );
    expect((await runCli(['digest', '--password-stdin', 'localhost:1/a'])).code).toBe(2);
  });
});
