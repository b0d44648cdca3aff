/**
 * @module registry/credentials/login
 * Saving and removing a registry's credentials the way `docker login` and `docker logout` do, so
 * Docker, podman, skopeo, crane and imgdigest itself find them afterwards.
 *
 * Where: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (podman's auth.json is read by
 * the keychain but not written here). Under which key: `https://index.docker.io/v1/` for Docker
 * Hub, the host for any other registry. How: when `credHelpers` names a helper for the registry,
 * or `credsStore` is set, the secret goes to `docker-credential-<name> store` and the file keeps an
 * empty entry under the key (as Docker leaves it); otherwise `auths.<key>.auth` is base64 of
 * `user:password` (not encryption: anyone who can read the file can read the password).
 *
 * Only the changed entry of the file is rewritten: every other byte (other keys, their order and
 * spelling, the indentation, Go's `\u003c` escapes, the final newline) stays as it was, and a new
 * entry follows the layout of its neighbours. A file that does not exist yet is written as Docker
 * writes one (tab-indented). The file is replaced atomically with mode 0600, through its symlink
 * if it is one (dotfile managers link config.json).
 * @see https://github.com/docker/cli/blob/master/cli/config/configfile/file.go
 */
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ImgdigestError } from '../../../core/errors.js';
import { isRecord } from '../../../core/json.js';
import { setJsonMember } from '../../../core/json-edit.js';
import { writeAtomic } from '../../../core/write.js';
import {
  authConfigKey,
  authFilePaths,
  convertToHostname,
  encodeAuth,
  findEntry,
  isDockerHub,
  parseAuthFile,
} from './docker-config.js';
import { eraseWithCredentialHelper, helperProgram, storeWithCredentialHelper } from './helpers.js';

export interface LoginFileOptions {
  /** Environment for `DOCKER_CONFIG`, `HOME` and the helpers' `PATH` (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The home directory (default `$HOME`). */
  home?: string;
  /** Helper timeout in milliseconds. */
  helperTimeoutMs?: number;
}

/** Where a login was saved. */
export interface SavedLogin {
  /** The key in `auths` and the `ServerURL` given to a helper. */
  key: string;
  /** The config file written. */
  path: string;
  /** The helper program that holds the secret (`docker-credential-pass`), or null for the file. */
  helper: string | null;
}

/** What a logout removed. */
export interface RemovedLogin {
  /** The keys removed from `auths` (legacy spellings of the same registry included). */
  keys: string[];
  path: string;
  /** The helper asked to erase the credentials, or null. */
  helper: string | null;
  /** False when nothing was there to remove. */
  removed: boolean;
}

/** Docker's own config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigFile(options: LoginFileOptions = {}): string {
  return authFilePaths({
    env: options.env ?? process.env,
    ...(options.home ? { home: options.home } : {}),
  })[0]!;
}

/**
 * The registry a `login`/`logout` argument names: the host (and port) of `host`, `host:port`,
 * `https://host/...` or Docker Hub's legacy URL; `docker.io` for every spelling of Docker Hub.
 * @throws `USAGE` for a repository path or anything else that is not a registry host.
 * @example loginRegistry('https://index.docker.io/v1/') // 'docker.io'
 */
export function loginRegistry(input: string): string {
  const trimmed = input.trim();
  const hasScheme = /^https?:\/\//i.test(trimmed);
  const host = hasScheme ? convertToHostname(trimmed) : trimmed;
  if (!hasScheme && host.includes('/')) {
    throw new ImgdigestError(
      'USAGE',
      `"${input}" is a repository, not a registry: log in to its host (${host.split('/')[0]}); credentials are per registry`,
    );
  }
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/.test(host)) {
    throw new ImgdigestError(
      'USAGE',
      `"${input}" is not a registry host (localhost:5000, ghcr.io, docker.io)`,
    );
  }
  return isDockerHub(host) ? 'docker.io' : host;
}

interface LoadedConfig {
  path: string;
  /** The text as read, or null for a file that does not exist yet (or is empty). */
  text: string | null;
  /** The `auths` keys as they are in the file. */
  authKeys: string[];
  /** The helper for the registry (credHelpers entry, else credsStore), or null. */
  helper: string | null;
}

async function loadConfig(registry: string, options: LoginFileOptions): Promise<LoadedConfig> {
  const path = dockerConfigFile(options);
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new ImgdigestError('CONFIG_INVALID', `cannot read ${path}: ${code ?? (error as Error).message}`, {
        cause: error,
        details: { path },
      });
    }
  }
  // Docker reads an empty file as an empty config.
  if (text === null || text.trim() === '') return { path, text: null, authKeys: [], helper: null };
  // parseAuthFile says where the file is broken; nothing is written to a file that does not parse.
  const file = parseAuthFile(text, path);
  const auths = (JSON.parse(text) as Record<string, unknown>).auths;
  if (auths !== undefined && auths !== null && !isRecord(auths)) {
    throw new ImgdigestError('CONFIG_INVALID', `invalid credentials file ${path}: "auths" is not an object`, {
      details: { path },
    });
  }
  const helper = findEntry(file.credHelpers, registry)?.value ?? file.credsStore ?? null;
  return { path, text, authKeys: Object.keys(auths ?? {}), helper };
}

/**
 * Save `username` and `password` for `registry` (a host, or `docker.io`) as `docker login` does.
 * Check them against the registry first (`RegistryClient.verifyLogin`): this only writes.
 * @throws `CONFIG_INVALID` for a config file that does not parse (nothing is written),
 * `WRITE_FAILED` when the file or the helper cannot take the credentials.
 */
export async function saveLogin(
  registry: string,
  credentials: { username: string; password: string },
  options: LoginFileOptions = {},
): Promise<SavedLogin> {
  const config = await loadConfig(registry, options);
  const key = authConfigKey(registry);
  let entry: Record<string, string>;
  if (config.helper) {
    await storeWithCredentialHelper(
      config.helper,
      { serverURL: key, username: credentials.username, secret: credentials.password },
      helperOptions(options),
    );
    // Docker keeps an empty entry beside the helper: it lists the registry as logged in to.
    entry = {};
  } else {
    entry = { auth: encodeAuth(credentials.username, credentials.password) };
  }
  const text =
    config.text === null
      ? `${JSON.stringify({ auths: { [key]: entry } }, null, '\t')}\n`
      : setJsonMember(config.text, ['auths', key], entry);
  await writeConfig(config, text);
  return { key, path: config.path, helper: config.helper ? helperProgram(config.helper) : null };
}

/**
 * Remove the credentials of `registry` as `docker logout` does: every `auths` key that names it
 * (legacy `https://host/v1/` spellings too), and the helper's copy when one is configured.
 */
export async function removeLogin(registry: string, options: LoginFileOptions = {}): Promise<RemovedLogin> {
  const config = await loadConfig(registry, options);
  const key = authConfigKey(registry);
  const hosts = new Set(isDockerHub(registry) ? ['docker.io'] : [registry]);
  const keys = config.authKeys.filter((k) => {
    const host = convertToHostname(k);
    return k === key || hosts.has(isDockerHub(host) ? 'docker.io' : host);
  });
  let erased = false;
  if (config.helper) {
    for (const serverUrl of new Set([key, ...keys])) {
      if (await eraseWithCredentialHelper(config.helper, serverUrl, helperOptions(options))) erased = true;
    }
  }
  if (config.text !== null && keys.length > 0) {
    let text = config.text;
    for (const k of keys) text = setJsonMember(text, ['auths', k], undefined);
    await writeConfig(config, text);
  }
  return {
    keys,
    path: config.path,
    helper: config.helper ? helperProgram(config.helper) : null,
    removed: erased || keys.length > 0,
  };
}

function helperOptions(options: LoginFileOptions): { env?: NodeJS.ProcessEnv; timeoutMs?: number } {
  return {
    ...(options.env ? { env: options.env } : {}),
    ...(options.helperTimeoutMs ? { timeoutMs: options.helperTimeoutMs } : {}),
  };
}

/** Write the config: atomically, mode 0600, to the symlink's target when it is one. */
async function writeConfig(config: LoadedConfig, text: string): Promise<void> {
  const target = await realpath(config.path).catch(() => config.path);
  try {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ImgdigestError(
      'WRITE_FAILED',
      `cannot create ${dirname(target)}: ${(error as Error).message}`,
      {
        cause: error,
        details: { path: target },
      },
    );
  }
  await writeAtomic(target, text, { mode: 0o600, forceMode: true });
}
