/**
 * @module cli/options
 * Flags shared by the commands that talk to registries and image sources, and their translation
 * into library options. Credentials given on the command line come only through stdin
 * (`--password-stdin`), never as a flag value that would land in shell history and `ps`.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../core/errors.js';
import { proxyVariables } from '../core/net.js';
import type { OpenResolverOptions } from '../resolver/open.js';
import type { RegistryClientOptions } from '../sources/registry/index.js';
import type { HttpClientKind } from '../sources/registry/transport.js';
import type { CliContext } from './context.js';
import { wholeNumber } from './flags.js';
import { packageVersion } from './version.js';

export interface RegistryFlags {
  insecure?: boolean;
  skipTlsVerify?: boolean;
  caFile?: string;
  username?: string;
  passwordStdin?: boolean;
  anonymous?: boolean;
  timeout?: string;
  retries?: string;
  https?: boolean;
}

/** Add the registry connection and credential flags to a command. */
export function addRegistryOptions(cmd: Command): Command {
  return addLimitOptions(
    addTlsOptions(cmd)
      .option(
        '-u, --username <name>',
        'registry user name (the password is read from stdin with --password-stdin)',
      )
      .option('--password-stdin', 'read the registry password or token from stdin')
      .option('--anonymous', 'send no credentials, even if a docker config has some'),
  );
}

/** The connection flags alone (TLS, plain HTTP, timeouts, retries), for commands with their own credentials. */
export function addConnectionOptions(cmd: Command): Command {
  return addLimitOptions(addTlsOptions(cmd));
}

function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--insecure', 'allow plain HTTP to registries other than localhost/127.0.0.0/8/[::1]')
    .option('--skip-tls-verify', 'do not verify the registry TLS certificate (still uses HTTPS)')
    .option(
      '--https',
      'use HTTPS even for localhost and 127.0.0.0/8 registries (plain HTTP is the default there)',
    )
    .option('--ca-file <file>', 'trust this PEM CA bundle too (NODE_EXTRA_CA_CERTS also works)');
}

function addLimitOptions(cmd: Command): Command {
  return cmd
    .option('--timeout <seconds>', 'give up on a request after this many seconds', '30')
    .option(
      '--retries <n>',
      'retry 408/429/5xx answers and refused or reset connections this many times',
      '3',
    );
}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 optimises that module in background
 * threads and, at exit, waits for them: ~120 ms added to every short command. The baseline
 * compiler alone is as fast for what a CLI run does (measured on a 200 MiB blob download). Called
 * before a command's first connection (registry or engine API) rather than at start: commands that
 * open none do not load node:v8 at all.
 */
export function baselineWasmOnly(): void {
  process.getBuiltinModule('node:v8').setFlagsFromString('--liftoff-only');
}

/**
 * Refuse `--password-stdin` where stdin is also the command's input (`-f -`, a KRM ResourceList,
 * `--file -`): one stream cannot carry both, and reading one would leave the other empty.
 * @param what the input that reads stdin, for the message (`-f -`).
 */
export function refuseStdinConflict(flags: RegistryFlags, what: string): void {
  if (flags.passwordStdin) {
    throw new ImgdigestError(
      'USAGE',
      `--password-stdin cannot be used with ${what}: both read stdin; put the input in a file, or save the credentials with "imgdigest login"`,
    );
  }
}

/** All of stdin as UTF-8 text. */
export async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Whether a proxy variable is set (requests to hosts that are not on loopback go through it). */
function hasProxy(env: NodeJS.ProcessEnv): boolean {
  const { httpProxy, httpsProxy } = proxyVariables(env);
  return Boolean(httpProxy || httpsProxy);
}

/**
 * Build registry client options from the flags (reads stdin for --password-stdin).
 * @param httpClient `node` for a command that sends a few requests and exits (`digest REF`,
 *   `manifest`, `tag`): node:http is built in, where loading undici costs a short command about
 *   40 ms of its start; `undici` (the default) for commands that send many requests or move large
 *   blobs (batches, `tags --digest`, `blob`, `files`, `copy`, the servers), where it is faster.
 */
export async function registryOptions(
  flags: RegistryFlags,
  ctx: CliContext,
  httpClient: HttpClientKind = 'undici',
): Promise<RegistryClientOptions> {
  // undici compiles its parser's WebAssembly at the first connection; node:http needs none unless
  // a proxy sends its requests through undici anyway.
  if (httpClient === 'undici' || hasProxy(ctx.io.env)) baselineWasmOnly();
  const options: RegistryClientOptions = {
    insecure: Boolean(flags.insecure),
    skipTlsVerify: Boolean(flags.skipTlsVerify),
    anonymous: Boolean(flags.anonymous),
    timeoutMs: wholeNumber(flags.timeout ?? '30', '--timeout') * 1000,
    retry: { maxRetries: wholeNumber(flags.retries ?? '3', '--retries') },
    env: ctx.io.env,
    userAgent: `imgdigest/${packageVersion()}`,
  };
  if (httpClient === 'node') options.httpClient = 'node';
  if (flags.https) options.scheme = 'https';
  if (flags.caFile) options.caFile = flags.caFile;
  if (flags.passwordStdin && !flags.username) {
    throw new ImgdigestError('USAGE', '--password-stdin needs --username');
  }
  if (flags.username) {
    if (!flags.passwordStdin) throw new ImgdigestError('USAGE', '--username needs --password-stdin');
    if (flags.anonymous) throw new ImgdigestError('USAGE', '--anonymous cannot be combined with --username');
    const password = (await readStdin(ctx)).replace(/\r?\n$/, '');
    if (!password) throw new ImgdigestError('USAGE', '--password-stdin: stdin was empty');
    options.credentials = { username: flags.username, password, source: 'the --username flag' };
  }
  if (ctx.globals().verbose) {
    options.logger = (e) => {
      ctx.err(`${e.method} ${e.url} ${e.status ?? 'ERR'} ${Math.round(e.ms)}ms`);
    };
  }
  return options;
}

/**
 * `openResolver` options from a command's flags: the `--from-lock` files when given (no network,
 * no credentials read), else the registry flags; `concurrency` is per registry.
 */
export async function resolverOptions(
  flags: RegistryFlags & { fromLock?: string[]; concurrency?: number },
  ctx: CliContext,
): Promise<OpenResolverOptions> {
  const options: OpenResolverOptions =
    flags.fromLock && flags.fromLock.length > 0
      ? { locks: flags.fromLock.map((p) => resolve(ctx.io.cwd, p)) }
      : { registry: await registryOptions(flags, ctx) };
  if (flags.concurrency !== undefined) options.concurrency = flags.concurrency;
  return options;
}
