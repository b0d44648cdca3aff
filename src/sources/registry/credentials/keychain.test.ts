import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../../../test/support/tmp.js';
import { encodeAuth } from './docker-config.js';
import { runCredentialHelper } from './helpers.js';
import { anonymousKeychain, defaultKeychain, multiKeychain, staticKeychain } from './keychain.js';

let bin: string;
let env: NodeJS.ProcessEnv;
let home: string;

/**
 * A real `docker-credential-test` program speaking the helper protocol: reads the server URL from
 * stdin, answers known hosts with JSON, says "credentials not found" otherwise, and fails loudly
 * for `broken.example`. Every call is appended to a log so tests can see what was asked.
 */
const HELPER = `#!/bin/sh
[ "$1" = "get" ] || { echo "unsupported action $1"; exit 1; }
read -r url
echo "$url" >> "$HELPER_LOG"
case "$url" in
  helper.example:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$url" ;;
  tokenhost.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hubpass"}' "$url" ;;
  broken.example) echo "keychain is locked"; exit 1 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

beforeAll(async () => {
  bin = await tempDir('cred-bin');
  home = await tempDir('cred-home');
  await writeFile(join(bin, 'docker-credential-test'), HELPER);
  await chmod(join(bin, 'docker-credential-test'), 0o755);
  env = { PATH: `${bin}:${process.env.PATH}`, HELPER_LOG: join(bin, 'calls.log'), HOME: home };
});
afterAll(cleanupTempDirs);

async function dockerConfig(content: unknown): Promise<string> {
  const dir = await tempDir('docker-config');
  await writeFile(join(dir, 'config.json'), JSON.stringify(content));
  return dir;
}

describe('credential helpers (docker-credential-<name> get)', () => {
  it('returns what the helper prints for the server URL on stdin', async () => {
    expect(await runCredentialHelper('test', 'helper.example:5000', { env })).toEqual({
      serverURL: 'helper.example:5000',
      username: 'helper-user',
      secret: 'helper-secret',
    });
  });

  it('treats "credentials not found" as anonymous', async () => {
    expect(await runCredentialHelper('test', 'unknown.example', { env })).toBeNull();
  });

  it('reports a failing or missing helper by name, without secrets', async () => {
    await expect(runCredentialHelper('test', 'broken.example', { env })).rejects.toThrow(
      'credential helper docker-credential-test failed for broken.example: keychain is locked',
    );
    await expect(runCredentialHelper('absent', 'x', { env })).rejects.toThrow(
      'credential helper docker-credential-absent failed for x: not found on PATH',
    );
    await expect(runCredentialHelper('../evil', 'x', { env })).rejects.toThrow(
      /invalid credential helper name/,
    );
  });
});

describe('default keychain', () => {
  it('uses credHelpers[host] before auths', async () => {
    const dir = await dockerConfig({
      credHelpers: { 'helper.example:5000': 'test' },
      auths: { 'helper.example:5000': { auth: encodeAuth('file-user', 'file-pass') } },
    });
    const found = await defaultKeychain({ env: { ...env, DOCKER_CONFIG: dir } }).resolve(
      'helper.example:5000',
    );
    expect(found).toEqual({
      username: 'helper-user',
      password: 'helper-secret',
      source: 'helper docker-credential-test',
    });
  });

  it('maps a <token> username to an identity token', async () => {
    const dir = await dockerConfig({ credHelpers: { 'tokenhost.example': 'test' } });
    const found = await defaultKeychain({ env: { ...env, DOCKER_CONFIG: dir } }).resolve('tokenhost.example');
    expect(found).toEqual({ identityToken: 'refresh-123', source: 'helper docker-credential-test' });
  });

  it('asks credsStore with Hub key for Docker Hub, and falls back to auths when the store has nothing', async () => {
    const dir = await dockerConfig({
      credsStore: 'test',
      auths: { 'other.example': { username: 'u', password: 'p' } },
    });
    const keychain = defaultKeychain({ env: { ...env, DOCKER_CONFIG: dir } });
    expect(await keychain.resolve('docker.io')).toEqual({
      username: 'hubuser',
      password: 'hubpass',
      source: 'helper docker-credential-test',
    });
    expect(await keychain.resolve('other.example')).toEqual({
      username: 'u',
      password: 'p',
      source: `${dir}/config.json (auths)`,
    });
  });

  it('reads auth, username/password, identitytoken and registrytoken entries, legacy keys included', async () => {
    const dir = await dockerConfig({
      auths: {
        'https://legacy.example/v1/': { auth: encodeAuth('lu', 'l:p') },
        'idt.example': { username: 'x', identitytoken: 'refresh' },
        'rt.example': { registrytoken: 'bearer-token' },
        'empty.example': {},
      },
    });
    const keychain = defaultKeychain({ env: { ...env, DOCKER_CONFIG: dir } });
    const source = `${dir}/config.json (auths)`;
    expect(await keychain.resolve('legacy.example')).toEqual({ username: 'lu', password: 'l:p', source });
    expect(await keychain.resolve('idt.example')).toEqual({
      username: 'x',
      identityToken: 'refresh',
      source,
    });
    expect(await keychain.resolve('rt.example')).toEqual({ registryToken: 'bearer-token', source });
    expect(await keychain.resolve('empty.example')).toBeNull();
    expect(await keychain.resolve('nowhere.example')).toBeNull();
  });

  it('falls through to REGISTRY_AUTH_FILE and podman auth.json', async () => {
    const docker = await dockerConfig({ auths: {} });
    const regDir = await tempDir('reg-auth');
    await writeFile(
      join(regDir, 'auth.json'),
      JSON.stringify({ auths: { 'a.example': { auth: encodeAuth('ra', 'rp') } } }),
    );
    const runtime = await tempDir('xdg-runtime');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(runtime, 'containers'));
    await writeFile(
      join(runtime, 'containers', 'auth.json'),
      JSON.stringify({ auths: { 'docker.io': { auth: encodeAuth('pu', 'pp') } } }),
    );
    const keychain = defaultKeychain({
      env: {
        ...env,
        DOCKER_CONFIG: docker,
        REGISTRY_AUTH_FILE: join(regDir, 'auth.json'),
        XDG_RUNTIME_DIR: runtime,
      },
    });
    expect(await keychain.resolve('a.example')).toMatchObject({
      username: 'ra',
      source: `${join(regDir, 'auth.json')} (auths)`,
    });
    // podman writes "docker.io" for Docker Hub.
    expect(await keychain.resolve('docker.io')).toMatchObject({ username: 'pu', password: 'pp' });
    expect(keychain.describe()).toContain(join(runtime, 'containers', 'auth.json'));
  });

  it('honours DOCKER_AUTH_CONFIG first and ~/.docker/config.json without DOCKER_CONFIG', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'h.example': { auth: encodeAuth('hu', 'hp') } } }),
    );
    const fromHome = defaultKeychain({ env });
    expect(await fromHome.resolve('h.example')).toEqual({
      username: 'hu',
      password: 'hp',
      source: `${home}/.docker/config.json (auths)`,
    });
    const fromEnv = defaultKeychain({
      env: {
        ...env,
        DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'h.example': { auth: encodeAuth('eu', 'ep') } } }),
      },
    });
    expect(await fromEnv.resolve('h.example')).toEqual({
      username: 'eu',
      password: 'ep',
      source: 'DOCKER_AUTH_CONFIG (auths)',
    });
  });

  it('combines static, anonymous and chained keychains', async () => {
    expect(await anonymousKeychain.resolve('x')).toBeNull();
    const fixed = staticKeychain({ username: 'u', password: 'p' }, 'the --username flag');
    expect(await fixed.resolve('x')).toEqual({ username: 'u', password: 'p', source: 'the --username flag' });
    expect(await multiKeychain(anonymousKeychain, fixed).resolve('x')).toMatchObject({ username: 'u' });
  });
});
