/**
 * `imgdigest login` / `logout` (docker login, docker logout): credentials checked against the CNCF
 * registry (htpasswd made by the real `htpasswd`, and a token server) before anything is written;
 * Docker's config.json changed only where the login goes (mode 0600, through a symlink); a
 * credential helper on PATH (`docker-credential-<name>`, a script of this test) used for `store`,
 * `get` and `erase` when `credsStore` or `credHelpers` names it; what was saved then read by
 * imgdigest itself and by skopeo. The prompts are driven on a real terminal (a pty).
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addImage, buildSampleImages, createImageSet } from '../../src/builder/index.js';
import { repoRoot } from '../support/build.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);

/**
 * A credential helper as docker-credential-helpers' protocol has it: `store` reads
 * {ServerURL, Username, Secret}, `get` and `erase` read the server URL; "credentials not found"
 * and exit 1 when there is nothing. It keeps one file per server URL and logs every call.
 */
const HELPER = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FAKE_CRED_DIR;
const input = fs.readFileSync(0, 'utf8');
const action = process.argv[2];
const file = (url) => path.join(dir, Buffer.from(url).toString('base64url') + '.json');
fs.appendFileSync(path.join(dir, 'calls.log'), action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input.trim()) + '\\n');
if (action === 'store') { fs.writeFileSync(file(JSON.parse(input).ServerURL), input); process.exit(0); }
const url = input.trim();
if (!fs.existsSync(file(url))) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
if (action === 'get') { process.stdout.write(fs.readFileSync(file(url))); process.exit(0); }
if (action === 'erase') { fs.unlinkSync(file(url)); process.exit(0); }
process.stdout.write('unknown action ' + action + '\\n'); process.exit(1);
`;

/** A config.json as Docker writes it, with keys imgdigest does not know, and another login. */
const DOCKER_CONFIG_TEXT = `{
\t"auths": {
\t\t"ghcr.io": {
\t\t\t"auth": "b3RoZXI6dG9rZW4="
\t\t}
\t},
\t"psFormat": "table {{.ID}}\\t{{.Names}} \\u003c{{.Image}}\\u003e",
\t"currentContext": "default"
}`;

afterAll(cleanupTempDirs);

describe.skipIf(!haveTools('docker-registry', 'htpasswd', 'skopeo'))(
  'imgdigest login on the CNCF registry (htpasswd)',
  () => {
    let reg: Distribution;
    let home: string;
    let dockerConfig: string;
    let helpers: string;
    let env: NodeJS.ProcessEnv;
    const configFile = () => join(dockerConfig, 'config.json');
    const login = (args: string[], password: string, extra: NodeJS.ProcessEnv = {}) =>
      runCli(['login', '-u', 'alice', '--password-stdin', ...args, reg.host], {
        stdin: `${password}\n`,
        env: { ...env, ...extra },
      });

    beforeAll(async () => {
      reg = await startDistribution({ auth: 'htpasswd', username: 'alice', password: 's3cret:with colon' });
      const app = await buildSampleImages('private');
      const set = createImageSet();
      addImage(set, app.single, 'v1');
      await pushWithClient(reg.host, 'private', set, reg.credentials);
      helpers = await tempDir('login-helpers');
      await writeFile(join(helpers, 'docker-credential-fake'), HELPER);
      await chmod(join(helpers, 'docker-credential-fake'), 0o755);
    });
    afterAll(() => reg?.stop());

    beforeEach(async () => {
      home = await tempDir('login-home');
      dockerConfig = join(home, 'docker');
      await mkdir(join(home, 'creds'));
      env = {
        PATH: `${helpers}:${process.env.PATH}`,
        HOME: home,
        DOCKER_CONFIG: dockerConfig,
        FAKE_CRED_DIR: join(home, 'creds'),
      };
    });

    it('refuses a wrong password (exit 3) and writes nothing', async () => {
      const r = await login([], 'wrong');
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        `imgdigest: unauthorized: authentication to ${reg.host} failed with credentials from login -u alice (UNAUTHORIZED, GET ${reg.url}/v2/ 401); nothing was saved\n`,
      );
      await expect(stat(dockerConfig)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('saves a base64 auths entry in a new config.json (mode 0600) that imgdigest and skopeo then use', async () => {
      const r = await login([], 's3cret:with colon');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`logged in to ${reg.host} as alice (saved in $DOCKER_CONFIG/config.json)\n`);
      expect(r.stderr).toBe(
        'imgdigest: warning: the password is stored unencrypted (base64) in $DOCKER_CONFIG/config.json; set credsStore to a credential helper to keep it elsewhere\n',
      );
      const text = await readFile(configFile(), 'utf8');
      expect(JSON.parse(text)).toEqual({
        auths: { [reg.host]: { auth: Buffer.from('alice:s3cret:with colon').toString('base64') } },
      });
      expect(text.startsWith('{\n\t"auths": {\n\t\t"')).toBe(true);
      expect((await stat(configFile())).mode & 0o777).toBe(0o600);
      expect(await readdir(dockerConfig)).toEqual(['config.json']);

      const digest = await runCli(['digest', `${reg.host}/private:v1`], { env });
      expect(digest.code, digest.stderr).toBe(0);
      const skopeo = await run(
        'skopeo',
        ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${reg.host}/private:v1`],
        {
          env: {
            ...process.env,
            ...env,
            XDG_RUNTIME_DIR: join(home, 'runtime'),
            REGISTRY_AUTH_FILE: configFile(),
          },
        },
      );
      expect(skopeo.stdout.trim()).toBe(digest.stdout.trim());
    });

    it('changes only its own entry of an existing config.json, through a symlink, and logout takes it out again', async () => {
      await mkdir(dockerConfig);
      const real = join(home, 'dotfiles-config.json');
      await writeFile(real, DOCKER_CONFIG_TEXT, { mode: 0o644 });
      await symlink(real, configFile());
      const r = await login([], 's3cret:with colon');
      expect(r.code, r.stderr).toBe(0);
      const entry = Buffer.from('alice:s3cret:with colon').toString('base64');
      const expected = DOCKER_CONFIG_TEXT.replace(
        '\t\t}\n\t},',
        `\t\t},\n\t\t"${reg.host}": {\n\t\t\t"auth": "${entry}"\n\t\t}\n\t},`,
      );
      expect(await readFile(real, 'utf8')).toBe(expected);
      expect((await lstat(configFile())).isSymbolicLink()).toBe(true);
      expect((await stat(real)).mode & 0o777).toBe(0o600);

      const out = await runCli(['logout', reg.host], { env });
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toBe(`logged out of ${reg.host} (removed from $DOCKER_CONFIG/config.json)\n`);
      expect(await readFile(real, 'utf8')).toBe(DOCKER_CONFIG_TEXT);
      const again = await runCli(['logout', reg.host], { env });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(`not logged in to ${reg.host} (nothing in $DOCKER_CONFIG/config.json)\n`);
      expect(await readFile(real, 'utf8')).toBe(DOCKER_CONFIG_TEXT);
    });

    it('a broken config.json is reported (exit 2) and left as it is', async () => {
      await mkdir(dockerConfig);
      await writeFile(configFile(), '{"auths": {', { mode: 0o644 });
      const r = await login([], 's3cret:with colon');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^imgdigest: invalid credentials file .*config\.json: .*\n$/);
      expect(await readFile(configFile(), 'utf8')).toBe('{"auths": {');
    });

    it('with credsStore, the secret goes to the helper (store), the file keeps an empty entry, and get and erase use it', async () => {
      await mkdir(dockerConfig);
      await writeFile(configFile(), '{\n  "credsStore": "fake"\n}\n');
      const r = await login([], 's3cret:with colon');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(
        `logged in to ${reg.host} as alice (saved by docker-credential-fake, listed in $DOCKER_CONFIG/config.json)\n`,
      );
      expect(r.stderr).toBe('');
      expect(await readFile(configFile(), 'utf8')).toBe(
        `{\n  "credsStore": "fake",\n  "auths": {\n    "${reg.host}": {}\n  }\n}\n`,
      );
      const stored = join(home, 'creds', `${Buffer.from(reg.host).toString('base64url')}.json`);
      expect(JSON.parse(await readFile(stored, 'utf8'))).toEqual({
        ServerURL: reg.host,
        Username: 'alice',
        Secret: 's3cret:with colon',
      });
      // imgdigest reads the secret back through the helper.
      expect((await runCli(['digest', `${reg.host}/private:v1`], { env })).code).toBe(0);
      const out = await runCli(['logout', reg.host], { env });
      expect(out.stdout).toBe(
        `logged out of ${reg.host} (removed from docker-credential-fake and $DOCKER_CONFIG/config.json)\n`,
      );
      await expect(stat(stored)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(join(home, 'creds', 'calls.log'), 'utf8')).toBe(
        `store ${reg.host}\nget ${reg.host}\nerase ${reg.host}\n`,
      );
      expect(await readFile(configFile(), 'utf8')).toBe(`{\n  "credsStore": "fake",\n  "auths": {}\n}\n`);
    });

    it('credHelpers for this registry wins over credsStore; a helper that is missing fails the login (exit 3) with the file unchanged', async () => {
      await mkdir(dockerConfig);
      const text = `{"credsStore": "missing", "credHelpers": {"${reg.host}": "fake"}}`;
      await writeFile(configFile(), text);
      const r = await login([], 's3cret:with colon');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(await readFile(configFile(), 'utf8')).auths).toEqual({ [reg.host]: {} });
      await writeFile(configFile(), '{"credsStore": "missing"}');
      const failed = await login([], 's3cret:with colon');
      expect(failed.code).toBe(3);
      expect(failed.stderr).toBe(
        `imgdigest: credential helper docker-credential-missing could not store the credentials of ${reg.host}: not found on PATH\n`,
      );
      expect(await readFile(configFile(), 'utf8')).toBe('{"credsStore": "missing"}');
    });

    it('asks for the user name and the password on a terminal, and the password is not shown', async () => {
      const output = await onTerminal(
        ['login', reg.host],
        [
          ['Username: ', 'alice\r'],
          ['Password: ', 's3cret:with colon\r'],
        ],
        env,
      );
      expect(output.code, output.text).toBe(0);
      expect(output.text).toContain('Username: alice');
      expect(output.text).toContain(`logged in to ${reg.host} as alice`);
      expect(output.text).not.toContain('s3cret');
      expect(JSON.parse(await readFile(configFile(), 'utf8')).auths[reg.host].auth).toBe(
        Buffer.from('alice:s3cret:with colon').toString('base64'),
      );
    }, 60_000);
  },
);

describe('imgdigest login and logout: input refused before anything is sent (exit 2)', () => {
  it('needs --password-stdin without a terminal, -u with --password-stdin, and a registry host', async () => {
    const noTty = await runCli(['login', '-u', 'alice', 'localhost:5000'], { stdin: 'secret\n' });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toBe(
      'imgdigest: login asks for the password and stdin is not a terminal: use --username NAME --password-stdin\n',
    );
    const noUser = await runCli(['login', '--password-stdin', 'localhost:5000'], { stdin: 'secret\n' });
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toBe('imgdigest: --password-stdin needs --username: stdin holds the password\n');
    const empty = await runCli(['login', '-u', 'alice', '--password-stdin', 'localhost:5000'], {
      stdin: '\n',
    });
    expect(empty.stderr).toBe('imgdigest: --password-stdin: stdin was empty\n');
    const repo = await runCli(['login', '-u', 'a', '--password-stdin', 'ghcr.io/org/app'], { stdin: 'x\n' });
    expect(repo.code).toBe(2);
    expect(repo.stderr).toBe(
      'imgdigest: "ghcr.io/org/app" is a repository, not a registry: log in to its host (ghcr.io); credentials are per registry\n',
    );
    const colon = await runCli(['login', '-u', 'a:b', '--password-stdin', 'localhost:5000'], {
      stdin: 'x\n',
    });
    expect(colon.stderr).toBe('imgdigest: a user name cannot contain ":" ("a:b")\n');
    const logout = await runCli(['logout', 'https://']);
    expect(logout.code).toBe(2);
  });
});

describe.skipIf(!haveTools('docker-registry'))(
  'imgdigest login on the CNCF registry with a token server',
  () => {
    let reg: Distribution;
    beforeAll(async () => {
      reg = await startDistribution({ auth: 'token', username: 'bob', password: 'tok3n' });
    });
    afterAll(() => reg?.stop());

    it('checks the credentials with the token server: refused is exit 3 and nothing saved, accepted is saved', async () => {
      const home = await tempDir('login-token');
      const env = { HOME: home, DOCKER_CONFIG: join(home, 'docker'), PATH: process.env.PATH };
      const bad = await runCli(['login', '-u', 'bob', '--password-stdin', reg.host], {
        stdin: 'nope\n',
        env,
      });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/^imgdigest: .*bob.*; nothing was saved\n$/);
      await expect(stat(join(home, 'docker'))).rejects.toMatchObject({ code: 'ENOENT' });
      const before = reg.tokenIssuer!.requests.length;
      const good = await runCli(['login', '-u', 'bob', '--password-stdin', reg.host], {
        stdin: 'tok3n\n',
        env,
      });
      expect(good.code, good.stderr).toBe(0);
      // One token for the login, with no repository scope (as docker login asks).
      const asked = reg.tokenIssuer!.requests.slice(before);
      expect(asked.map((t) => t.scopes)).toEqual([[]]);
      expect(JSON.parse(await readFile(join(home, 'docker', 'config.json'), 'utf8')).auths[reg.host]).toEqual(
        {
          auth: Buffer.from('bob:tok3n').toString('base64'),
        },
      );
    });
  },
);

/**
 * Run the CLI on a real terminal (a pty, through python's pty module): wait for each prompt, type
 * the answer. Returns everything the terminal showed, and the exit code.
 */
async function onTerminal(
  args: string[],
  steps: Array<[expect: string, send: string]>,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; text: string }> {
  const driver = `
import json, os, pty, select, sys, time
steps = json.loads(os.environ['PTY_STEPS'])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def read_until(token):
    global out
    end = time.time() + 45
    while token.encode() not in out:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            sys.stderr.write('timed out waiting for %r\\n' % token); return
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk: return
        out += chunk
for expect, send in steps:
    read_until(expect)
    os.write(fd, send.encode())
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk: break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
  const child = spawn(
    'python3',
    ['-c', driver, process.execPath, '--import', 'tsx', join(repoRoot, 'test/support/cli.ts'), ...args],
    { cwd: repoRoot, env: { ...process.env, ...env, PTY_STEPS: JSON.stringify(steps) } },
  );
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, text };
}
