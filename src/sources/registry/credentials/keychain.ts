/**
 * @module registry/credentials/keychain
 * Where a registry's credentials come from: a keychain answers "which credentials for this
 * registry?", and says where it found them so that an authentication failure can name the source
 * (`/root/.docker/config.json (auths)`, `helper docker-credential-pass`) without showing a secret.
 *
 * The default keychain reads, in order: `DOCKER_AUTH_CONFIG`, Docker's config.json (credHelpers,
 * then credsStore, then auths), `REGISTRY_AUTH_FILE`, then podman's auth.json files: Docker's
 * order first, so a machine set up for `docker pull` just works, then the files podman and skopeo
 * read (containers-auth.json(5)). go-containerregistry's `authn.Keychain` is the model.
 * @see https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
 */

import { compileAllowList } from '../allowed-hosts.js';
import {
  type AuthEntry,
  type AuthFile,
  authConfigKey,
  authFilePaths,
  decodeAuth,
  findEntry,
  parseAuthFile,
  readAuthFile,
} from './docker-config.js';
import { helperProgram, IDENTITY_TOKEN_USERNAME, runCredentialHelper } from './helpers.js';

/** Credentials for one registry. Never log or print these fields; `source` is safe to show. */
export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** A bearer token sent as is (`registrytoken`). */
  registryToken?: string;
  /** Where these came from, for messages: a file and section, a helper, or "static credentials". */
  source: string;
}

export interface KeychainOptions {
  signal?: AbortSignal;
}

/** Finds credentials for a registry (`127.0.0.1:5000`, `docker.io`, `ghcr.io`). */
export interface Keychain {
  /** Credentials for `registry`, or null for anonymous access. */
  resolve(registry: string, options?: KeychainOptions): Promise<Credential | null>;
  /** Where this keychain looks, for "no credentials found" messages. */
  describe(): string;
}

/** A keychain that always answers anonymous. */
export const anonymousKeychain: Keychain = Object.freeze({
  resolve: async () => null,
  describe: () => 'anonymous access',
});

/** The same username and password for every registry (the CLI's `--username` + `--password-stdin`). */
export function staticKeychain(
  credentials: { username: string; password: string },
  source = 'static credentials',
): Keychain {
  const credential: Credential = Object.freeze({ ...credentials, source });
  return { resolve: async () => credential, describe: () => source };
}

/** The first keychain with an answer wins. */
export function multiKeychain(...keychains: Keychain[]): Keychain {
  return {
    async resolve(registry, options) {
      for (const keychain of keychains) {
        const found = await keychain.resolve(registry, options);
        if (found) return found;
      }
      return null;
    },
    describe: () => keychains.map((k) => k.describe()).join(', '),
  };
}

/**
 * A keychain that answers only for registries on an allow-list (anonymous for every other), so a
 * credential helper is never even asked about a host the client may not contact.
 */
export function allowListKeychain(keychain: Keychain, allowedHosts: readonly string[]): Keychain {
  const list = compileAllowList(allowedHosts);
  return {
    resolve: async (registry, options) =>
      list.allowsRegistry(registry) ? keychain.resolve(registry, options) : null,
    describe: () => `${keychain.describe()} (only for ${list.entries.join(', ') || 'no registry'})`,
  };
}

/** Credentials from one `auths` entry; null for an empty entry (Docker writes `{}` beside a credsStore). */
export function credentialFromEntry(entry: AuthEntry, source: string): Credential | null {
  const credential: Credential = { source };
  if (typeof entry.username === 'string' && entry.username) credential.username = entry.username;
  if (typeof entry.password === 'string' && entry.password) credential.password = entry.password;
  if (typeof entry.auth === 'string' && entry.auth) Object.assign(credential, decodeAuth(entry.auth, source));
  if (typeof entry.identitytoken === 'string' && entry.identitytoken)
    credential.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken)
    credential.registryToken = entry.registrytoken;
  const hasSecret = credential.password || credential.identityToken || credential.registryToken;
  return hasSecret ? credential : null;
}

export interface DefaultKeychainOptions {
  /** The environment to read `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_*`, `PATH` from. */
  env?: NodeJS.ProcessEnv;
  /** The home directory (default `$HOME`). */
  home?: string;
  /** Helper timeout in milliseconds. */
  helperTimeoutMs?: number;
  /**
   * Auth files read before all others (a docker config.json, or a mounted
   * `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`). Read on every look-up, so a
   * rotated Secret is seen without a restart.
   */
  authFiles?: string[];
}

/**
 * The keychain of Docker and podman users: config files and credential helpers, read when asked
 * (so a `docker login` in between is seen).
 */
export function defaultKeychain(options: DefaultKeychainOptions = {}): Keychain {
  const env = options.env ?? process.env;
  const locate = () => [
    ...(options.authFiles ?? []),
    ...authFilePaths({ env, ...(options.home ? { home: options.home } : {}) }),
  ];
  return {
    async resolve(registry, callOptions = {}) {
      for (const file of loadFiles(env, locate())) {
        const found = await fromFile(file, registry, {
          env,
          signal: callOptions.signal,
          timeoutMs: options.helperTimeoutMs,
        });
        if (found) return found;
      }
      return null;
    },
    describe: () => `${env.DOCKER_AUTH_CONFIG ? 'DOCKER_AUTH_CONFIG, ' : ''}${locate().join(', ')}`,
  };
}

function* loadFiles(env: NodeJS.ProcessEnv, paths: string[]): Generator<AuthFile> {
  if (env.DOCKER_AUTH_CONFIG) yield parseAuthFile(env.DOCKER_AUTH_CONFIG, 'DOCKER_AUTH_CONFIG');
  for (const path of paths) {
    const file = readAuthFile(path);
    if (file) yield file;
  }
}

async function fromFile(
  file: AuthFile,
  registry: string,
  helperOptions: { env: NodeJS.ProcessEnv; signal: AbortSignal | undefined; timeoutMs: number | undefined },
): Promise<Credential | null> {
  const helper = findEntry(file.credHelpers, registry)?.value ?? file.credsStore;
  if (helper) {
    const serverUrl = authConfigKey(registry);
    const got = await runCredentialHelper(helper, serverUrl, {
      env: helperOptions.env,
      ...(helperOptions.signal ? { signal: helperOptions.signal } : {}),
      ...(helperOptions.timeoutMs ? { timeoutMs: helperOptions.timeoutMs } : {}),
    });
    if (got) {
      const source = `helper ${helperProgram(helper)}`;
      return got.username === IDENTITY_TOKEN_USERNAME
        ? { identityToken: got.secret, source }
        : { username: got.username, password: got.secret, source };
    }
  }
  const entry = findEntry(file.auths, registry);
  return entry ? credentialFromEntry(entry.value, `${file.path} (auths)`) : null;
}
