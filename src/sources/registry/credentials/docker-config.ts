/**
 * @module registry/credentials/docker-config
 * Docker's `config.json` and podman's `auth.json`: where they are, how their keys are spelled, and
 * what an `auths` entry holds.
 *
 * Key rules come from docker/cli: Docker Hub's key is `https://index.docker.io/v1/`
 * (configfile/file.go `getAuthConfigKey`); other registries use the bare host, and legacy URL keys
 * (`https://host/v1/`) still match through `ConvertToHostname` (credentials/file_store.go). Podman
 * writes `docker.io` for Docker Hub, so every Hub spelling is accepted for Hub.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImgdigestError } from '../../../core/errors.js';
import { isRecord } from '../../../core/json.js';
import { DEFAULT_DOMAIN, DOCKER_HUB_HOST, LEGACY_DEFAULT_DOMAIN } from '../../../core/reference.js';

/** The `auths` key Docker uses for Docker Hub. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = new Set([DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_HOST]);

/** True for any name of Docker Hub's registry. */
export function isDockerHub(registry: string): boolean {
  return HUB_HOSTS.has(registry.toLowerCase());
}

/** The key Docker stores a registry's credentials under (`getAuthConfigKey`). */
export function authConfigKey(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_AUTH_KEY : registry;
}

/**
 * docker/cli `ConvertToHostname`: drop the scheme and anything after the host.
 * @example convertToHostname('https://index.docker.io/v1/') // 'index.docker.io'
 */
export function convertToHostname(url: string): string {
  let stripped = url;
  if (stripped.startsWith('http://')) stripped = stripped.slice('http://'.length);
  else if (stripped.startsWith('https://')) stripped = stripped.slice('https://'.length);
  return stripped.split('/')[0] ?? stripped;
}

/** One `auths` entry as the files spell it. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
  [other: string]: unknown;
}

/** A credentials file, read. */
export interface AuthFile {
  /** The file path, or a name such as `DOCKER_AUTH_CONFIG` for a file given in the environment. */
  path: string;
  auths: Record<string, AuthEntry>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

/**
 * Decode an `auth` field: base64 of `user:password`, split at the FIRST colon (passwords may hold
 * colons), NUL bytes trimmed from the password, an empty user or a missing colon refused
 * (configfile/file.go `decodeAuth`).
 * @throws `CONFIG_INVALID` "invalid auth configuration file" (never showing the value).
 */
export function decodeAuth(
  auth: string,
  where = 'auth configuration',
): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new ImgdigestError('CONFIG_INVALID', `invalid auth configuration file: ${where}`, {
      details: { where },
    });
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

/** The inverse of {@link decodeAuth}, as `docker login` writes it. */
export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** Parse the text of a config.json / auth.json. */
export function parseAuthFile(text: string, path: string): AuthFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ImgdigestError('CONFIG_INVALID', `invalid credentials file ${path}: ${(e as Error).message}`, {
      details: { path },
    });
  }
  if (!isRecord(json)) {
    throw new ImgdigestError('CONFIG_INVALID', `invalid credentials file ${path}: not a JSON object`, {
      details: { path },
    });
  }
  const obj = json as Record<string, unknown>;
  const file: AuthFile = {
    path,
    auths: objectOf(obj.auths) as Record<string, AuthEntry>,
    credHelpers: Object.fromEntries(
      Object.entries(objectOf(obj.credHelpers)).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    ),
  };
  if (typeof obj.credsStore === 'string' && obj.credsStore) file.credsStore = obj.credsStore;
  return file;
}

function objectOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** Read a credentials file; null when it does not exist. */
export function readAuthFile(path: string): AuthFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `cannot read credentials file ${path}: ${code ?? (e as Error).message}`,
      {
        cause: e,
        details: { path },
      },
    );
  }
  return parseAuthFile(text, path);
}

export interface AuthFileLocations {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/**
 * The credentials files, in the order they are consulted: Docker's config.json
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), `$REGISTRY_AUTH_FILE`, then
 * podman's `$XDG_RUNTIME_DIR/containers/auth.json` and `$XDG_CONFIG_HOME/containers/auth.json`
 * (`~/.config` by default).
 */
export function authFilePaths(options: AuthFileLocations = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const paths = [
    env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json'),
  ];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'));
  return [...new Set(paths)];
}

/** The keys a registry's entry may be stored under, best first. */
function candidateKeys(registry: string): string[] {
  return isDockerHub(registry) ? [DOCKER_HUB_AUTH_KEY, ...HUB_HOSTS] : [registry];
}

/** Find the entry of a map (`auths` or `credHelpers`) for a registry, with legacy URL keys. */
export function findEntry<T>(map: Record<string, T>, registry: string): { key: string; value: T } | null {
  const wanted = candidateKeys(registry);
  for (const key of wanted) {
    const value = map[key];
    if (value !== undefined) return { key, value };
  }
  // Legacy keys such as `https://registry.example.com/v1/` (fileStore.Get's fallback).
  const hosts = new Set(wanted.map(convertToHostname));
  for (const [key, value] of Object.entries(map)) {
    if (hosts.has(convertToHostname(key))) return { key, value };
  }
  return null;
}

/**
 * The registries the credentials files know (`auths` and `credHelpers` keys, as host names), in
 * file order without repeats: what a user has logged in to. Unreadable files are skipped.
 */
export function configuredRegistries(options: AuthFileLocations = {}): string[] {
  const names = new Set<string>();
  for (const path of authFilePaths(options)) {
    let file: AuthFile | null;
    try {
      file = readAuthFile(path);
    } catch {
      continue;
    }
    if (!file) continue;
    for (const key of [...Object.keys(file.auths), ...Object.keys(file.credHelpers)]) {
      const host = convertToHostname(key);
      names.add(isDockerHub(host) ? 'docker.io' : host);
    }
  }
  return [...names];
}
