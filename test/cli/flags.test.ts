/**
 * Flags every command reads the same way: each numeric flag is a whole number or a usage error
 * (exit 2, one line naming the flag and the value, nothing done), a rules file's mistakes are
 * reported by every command that reads it, and `--password-stdin` is refused where stdin is
 * already the command's input.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: registry.example.com/team/app:1.0
`;
const DIGEST = `sha256:${'a'.repeat(64)}`;

let dir: string;
let manifest: string;
beforeAll(async () => {
  dir = await tempDir('flags');
  manifest = join(dir, 'pod.yaml');
  writeFileSync(manifest, POD);
});
afterAll(cleanupTempDirs);

/** Exit 2, nothing on stdout, and one line on stderr naming the flag and the value given. */
async function refused(args: string[], flag: string, value: string): Promise<void> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(
    new RegExp(`^imgdigest: ${flag} must be [^\\n]+, got "${value.replace(/[.+]/g, '\\$&')}"\\n$`),
  );
}

describe('numeric flags', () => {
  it('refuses a --concurrency that is not a whole number of at least 1, in every command that has one', async () => {
    await refused(['pin', '-f', manifest, '--concurrency', 'abc'], '--concurrency', 'abc');
    await refused(['pin', '-f', manifest, '--concurrency', '0'], '--concurrency', '0');
    // outdated used to turn a bad value into 8, tags too.
    await refused(['outdated', '-f', manifest, '--concurrency', 'abc'], '--concurrency', 'abc');
    await refused(
      ['tags', '127.0.0.1:1/app', '--digest', DIGEST, '--concurrency', 'abc'],
      '--concurrency',
      'abc',
    );
  });

  it('refuses what Number() would take but is not written as a whole number', async () => {
    for (const value of ['1.5', '1e1', '0x8', ' 8', '+8', '-3', '']) {
      await refused(['pin', '-f', manifest, '--concurrency', value], '--concurrency', value);
    }
  });

  it('refuses fractions and negative values of the registry flags', async () => {
    await refused(['digest', '--timeout', 'x', '127.0.0.1:1/app:1'], '--timeout', 'x');
    await refused(['digest', '--timeout', '-1', '127.0.0.1:1/app:1'], '--timeout', '-1');
    await refused(['digest', '--retries', '1.5', '127.0.0.1:1/app:1'], '--retries', '1.5');
    await refused(['outdated', '-f', manifest, '--timeout', 'soon'], '--timeout', 'soon');
  });

  it('refuses out-of-range webhook numbers and writes no certificate', async () => {
    const out = join(dir, 'certs');
    await refused(
      ['webhook', 'certs', '--service', 'hook', '--namespace', 'ns', '--out', out, '--days', '-3'],
      '--days',
      '-3',
    );
    expect(existsSync(out)).toBe(false);
    await refused(['webhook', 'manifests', '--replicas', '1.5'], '--replicas', '1.5');
    await refused(['webhook', 'manifests', '--timeout-seconds', '31'], '--timeout-seconds', '31');
  });

  it('takes a whole number', async () => {
    const lock = join(dir, 'built.txt');
    writeFileSync(lock, `registry.example.com/team/app:1.0@${DIGEST}\n`);
    const r = await runCli(['pin', '-f', manifest, '--from-lock', lock, '--concurrency', '2', '--check']);
    expect(r.stdout).toBe(
      `${manifest}:7: registry.example.com/team/app:1.0 -> registry.example.com/team/app:1.0@${DIGEST}\n`,
    );
    expect(r.code).toBe(1);
  });
});

describe('--rules', () => {
  it("reports a mistake in the webhook: section from check and pin too, at the file's line and column", async () => {
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'exemptImages: []\nwebhook:\n  enforcement: block\n');
    for (const cmd of ['check', 'pin']) {
      const r = await runCli([cmd, '-f', manifest, '--rules', rules]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`imgdigest: ${rules}:3:16: webhook.enforcement must be deny, warn, dryrun\n`);
    }
  });
});

describe('--password-stdin where stdin is the input too', () => {
  it('is refused (exit 2, one line saying so) by -f -, krm pin and digest --file -, before anything is read', async () => {
    const cases: Array<[string[], string]> = [
      [['pin', '-f', '-'], '-f -'],
      [['pin', '-f', manifest, '-f', '-', '--check'], '-f -'],
      [['outdated', '-f', '-'], '-f -'],
      [['krm', 'pin'], 'krm pin (the ResourceList comes on stdin)'],
      [['digest', '--file', '-'], '--file -'],
    ];
    for (const [args, what] of cases) {
      const r = await runCli([...args, '--username', 'alice', '--password-stdin'], { stdin: POD });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `imgdigest: --password-stdin cannot be used with ${what}: both read stdin; put the input in a file, or save the credentials with "imgdigest login"\n`,
      );
    }
  });

  it('is taken where stdin is free: -f with a file reads the password from stdin', async () => {
    const r = await runCli(
      [
        'pin',
        '-f',
        manifest,
        '--username',
        'alice',
        '--password-stdin',
        '--check',
        '--timeout',
        '1',
        '--retries',
        '0',
      ],
      {
        stdin: '',
      },
    );
    // The empty stdin is read as the password, so the refusal is about the password, not stdin's use.
    expect(r.stderr).toBe('imgdigest: --password-stdin: stdin was empty\n');
    expect(r.code).toBe(2);
  });
});
