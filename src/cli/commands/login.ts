/**
 * @module cli/commands/login
 * `imgdigest login REGISTRY` and `imgdigest logout REGISTRY`: save and remove a registry's
 * credentials where `docker login` does (Docker's config.json, or the credential helper it names),
 * so imgdigest, Docker, podman, skopeo and crane all find them. A login is checked against the
 * registry before anything is written; a refused one writes nothing.
 */
import { join, sep } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { addConnectionOptions, type RegistryFlags, readStdin, registryOptions } from '../options.js';

interface LoginFlags extends RegistryFlags {
  username?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('login')
    .description('check credentials against a registry, then save them where docker login does')
    .argument('<registry>', 'registry host (localhost:5000, ghcr.io, docker.io)')
    .option('-u, --username <name>', 'user name (asked on a terminal when not given)')
    .option(
      '--password-stdin',
      'read the password or token from stdin (otherwise it is asked on a terminal, not shown)',
    );
  addConnectionOptions(cmd).addHelpText(
    'after',
    `
The credentials are checked first, as docker login does: the registry's /v2/ with them (Basic),
or a token from its token server (Bearer). Refused credentials end the command (exit 3) and
nothing is written.

They are then saved in $DOCKER_CONFIG/config.json (else ~/.docker/config.json): when the file
names a credential helper for the registry (credHelpers) or for all (credsStore), the secret goes
to docker-credential-<helper> store and the file keeps an empty entry; otherwise auths.<registry>
.auth holds base64 of user:password, which is not encryption. Only that entry of the file
changes; the file is replaced atomically and gets mode 0600. Docker Hub (docker.io) is saved
under https://index.docker.io/v1/, as Docker names it.

On a terminal, the user name (without -u) and the password are asked (the password is not
shown). Elsewhere give -u NAME --password-stdin; a password is never a flag value, which shell
history and ps would show.

Examples:
  $ echo "$TOKEN" | imgdigest login -u alice --password-stdin ghcr.io
  logged in to ghcr.io as alice (saved in ~/.docker/config.json)
  $ imgdigest login localhost:5001
  Username: alice
  Password:
  logged in to localhost:5001 as alice (saved in ~/.docker/config.json)`,
  );
  cmd.action(async (input: string, flags: LoginFlags) => {
    const { loginRegistry, saveLogin } = await import('../../sources/registry/credentials/login.js');
    const registry = loginRegistry(input);
    const { username, password } = await readCredentials(ctx, flags);
    const { RegistryClient } = await import('../../sources/registry/index.js');
    // The connection flags only: the credentials are the ones being checked.
    const { username: _u, passwordStdin: _p, ...connection } = flags;
    const client = new RegistryClient({
      ...(await registryOptions(connection, ctx, 'node')),
      credentials: { username, password, source: `login -u ${username}` },
    });
    let auth: string;
    try {
      ({ auth } = await client.verifyLogin(registry));
    } catch (error) {
      if (isImgdigestError(error) && error.code === 'AUTH_FAILED') {
        throw new ImgdigestError('AUTH_FAILED', `${error.message}; nothing was saved`, {
          details: error.details,
          cause: error,
        });
      }
      throw error;
    } finally {
      await client.close();
    }
    const saved = await saveLogin(registry, { username, password }, { env: ctx.io.env });
    const where = shownPath(saved.path, ctx.io.env);
    if (!ctx.globals().quiet) {
      if (auth === 'none')
        ctx.err(`imgdigest: warning: ${registry} asks for no credentials; saved them anyway`);
      if (!saved.helper) {
        ctx.err(
          `imgdigest: warning: the password is stored unencrypted (base64) in ${where}; set credsStore to a credential helper to keep it elsewhere`,
        );
      }
    }
    const how = saved.helper ? `saved by ${saved.helper}, listed in ${where}` : `saved in ${where}`;
    ctx.out(`logged in to ${registry} as ${username} (${how})`);
  });
}

export function registerLogout(program: Command, ctx: CliContext): void {
  program
    .command('logout')
    .description('remove the saved credentials of a registry, as docker logout does')
    .argument('<registry>', 'registry host (localhost:5000, ghcr.io, docker.io)')
    .addHelpText(
      'after',
      `
Removes the registry's entries from $DOCKER_CONFIG/config.json (else ~/.docker/config.json),
legacy spellings such as https://host/v1/ included, and asks the credential helper the file
names for the registry (credHelpers, else credsStore) to erase its copy. Nothing else in the file
changes. Not being logged in is no error (exit 0). Credentials in podman's auth.json are left
alone (podman logout removes those).

Examples:
  $ imgdigest logout localhost:5001
  logged out of localhost:5001 (removed from ~/.docker/config.json)`,
    )
    .action(async (input: string) => {
      const { loginRegistry, removeLogin } = await import('../../sources/registry/credentials/login.js');
      const registry = loginRegistry(input);
      const removed = await removeLogin(registry, { env: ctx.io.env });
      const where = shownPath(removed.path, ctx.io.env);
      const from = removed.helper ? `${removed.helper} and ${where}` : where;
      if (removed.removed) ctx.out(`logged out of ${registry} (removed from ${from})`);
      else ctx.out(`not logged in to ${registry} (nothing in ${from})`);
    });
}

/** The user name and password: -u and stdin, or asked on the terminal. */
async function readCredentials(
  ctx: CliContext,
  flags: LoginFlags,
): Promise<{ username: string; password: string }> {
  let username = flags.username;
  let password: string;
  if (flags.passwordStdin) {
    if (!username) {
      throw new ImgdigestError('USAGE', '--password-stdin needs --username: stdin holds the password');
    }
    password = (await readStdin(ctx)).replace(/\r?\n$/, '');
    if (!password) throw new ImgdigestError('USAGE', '--password-stdin: stdin was empty');
  } else {
    const { ask, isInteractive } = await import('../prompt.js');
    if (!isInteractive(ctx)) {
      throw new ImgdigestError(
        'USAGE',
        'login asks for the password and stdin is not a terminal: use --username NAME --password-stdin',
      );
    }
    username ??= await ask(ctx, 'Username: ');
    password = await ask(ctx, 'Password: ', { echo: false });
    if (!password) throw new ImgdigestError('USAGE', 'the password is empty; nothing was saved');
  }
  if (!username) throw new ImgdigestError('USAGE', 'the user name is empty; nothing was saved');
  if (username.includes(':')) {
    // The auth entry is base64 of user:password, split at the first colon.
    throw new ImgdigestError('USAGE', `a user name cannot contain ":" ("${username}")`);
  }
  return { username, password };
}

/** The config file as a person would type it: `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. */
export function shownPath(path: string, env: NodeJS.ProcessEnv): string {
  if (env.DOCKER_CONFIG && path === join(env.DOCKER_CONFIG, 'config.json'))
    return '$DOCKER_CONFIG/config.json';
  const home = env.HOME;
  if (home && path.startsWith(home + sep)) return `~${path.slice(home.length)}`;
  return path;
}
