/**
 * @module registry/credentials/helpers
 * Docker credential helpers: `docker-credential-<name> get`, server URL on stdin, JSON
 * `{ServerURL, Username, Secret}` on stdout; `store` with that JSON on stdin; `erase` with the
 * server URL on stdin (docker/docker-credential-helpers client/client.go).
 *
 * A helper that fails writes its message to stdout and exits non-zero; "credentials not found"
 * means there are none (anonymous), anything else is an error. A `<token>` username means the
 * secret is an identity token (docker/cli credentials/native_store.go). Helper output is never put
 * in messages except the first line of a failure, which helpers use for error text.
 */
import { ImgdigestError } from '../../../core/errors.js';

/** What a helper returned for a server. */
export interface HelperCredentials {
  serverURL: string;
  username: string;
  secret: string;
}

export interface RunHelperOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Kill the helper after this long (default 30 s: helpers may ask a keychain daemon). */
  timeoutMs?: number;
}

/** The username helpers use to say that the secret is an identity (refresh) token. */
export const IDENTITY_TOKEN_USERNAME = '<token>';
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_OUTPUT = 1024 * 1024;

/** The program name of a helper suffix. */
export function helperProgram(name: string): string {
  if (!HELPER_NAME.test(name)) {
    throw new ImgdigestError('CONFIG_INVALID', `invalid credential helper name "${name}"`, {
      details: { helper: name },
    });
  }
  return `docker-credential-${name}`;
}

/**
 * Ask helper `name` for the credentials of `serverUrl`. Null when the helper has none.
 * @throws `AUTH_FAILED` when the helper is missing, fails, times out or prints something unreadable.
 */
export async function runCredentialHelper(
  name: string,
  serverUrl: string,
  options: RunHelperOptions = {},
): Promise<HelperCredentials | null> {
  const program = helperProgram(name);
  const outcome = await run(program, ['get'], serverUrl, options);
  if (options.signal?.aborted) throw options.signal.reason;
  const fail = (why: string) =>
    new ImgdigestError('AUTH_FAILED', `credential helper ${program} failed for ${serverUrl}: ${why}`, {
      details: { helper: program, serverURL: serverUrl },
      cause: outcome.error,
    });
  const why = failure(outcome, options);
  if (why !== null) {
    if (!outcome.error && /credentials not found/i.test(why)) return null;
    throw fail(why);
  }
  const stdout = outcome.stdout;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw fail('output is not JSON');
  }
  const username = typeof json.Username === 'string' ? json.Username : '';
  const secret = typeof json.Secret === 'string' ? json.Secret : '';
  if (!username && !secret) return null;
  return { serverURL: typeof json.ServerURL === 'string' ? json.ServerURL : serverUrl, username, secret };
}

/**
 * Store credentials through helper `name` (`docker-credential-<name> store`), as `docker login`
 * does when `credsStore` or `credHelpers` names one.
 * @throws `WRITE_FAILED` when the helper is missing or fails (its first output line is shown).
 */
export async function storeWithCredentialHelper(
  name: string,
  credentials: HelperCredentials,
  options: RunHelperOptions = {},
): Promise<void> {
  const input = JSON.stringify({
    ServerURL: credentials.serverURL,
    Username: credentials.username,
    Secret: credentials.secret,
  });
  const outcome = await run(helperProgram(name), ['store'], input, options);
  if (options.signal?.aborted) throw options.signal.reason;
  const why = failure(outcome, options);
  if (why) throw helperFailed(name, 'store', credentials.serverURL, why, outcome.error);
}

/**
 * Erase the credentials of `serverUrl` from helper `name` (`docker-credential-<name> erase`).
 * False when the helper had none ("credentials not found").
 * @throws `WRITE_FAILED` when the helper is missing or fails otherwise.
 */
export async function eraseWithCredentialHelper(
  name: string,
  serverUrl: string,
  options: RunHelperOptions = {},
): Promise<boolean> {
  const outcome = await run(helperProgram(name), ['erase'], serverUrl, options);
  if (options.signal?.aborted) throw options.signal.reason;
  const why = failure(outcome, options);
  if (why && /credentials not found/i.test(why)) return false;
  if (why) throw helperFailed(name, 'erase', serverUrl, why, outcome.error);
  return true;
}

/** Why a helper run failed (its first output line, or the spawn error), or null when it did not. */
function failure(
  outcome: { code: number | null; stdout: string; error?: Error },
  options: RunHelperOptions,
): string | null {
  if (outcome.error) {
    const errno = (outcome.error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return 'not found on PATH';
    if (errno === 'ETIMEDOUT') return `no answer within ${options.timeoutMs ?? 30_000} ms`;
    return errno ?? outcome.error.message;
  }
  if (outcome.code === 0) return null;
  const firstLine = outcome.stdout.trim().split('\n')[0]?.trim() ?? '';
  return firstLine ? firstLine.slice(0, 200) : `exit status ${outcome.code}`;
}

function helperFailed(
  name: string,
  action: string,
  serverUrl: string,
  why: string,
  cause: Error | undefined,
): ImgdigestError {
  const program = helperProgram(name);
  return new ImgdigestError(
    'WRITE_FAILED',
    `credential helper ${program} could not ${action} the credentials of ${serverUrl}: ${why}`,
    { details: { helper: program, serverURL: serverUrl, action }, cause },
  );
}

function run(
  program: string,
  args: string[],
  input: string,
  options: RunHelperOptions,
): Promise<{ code: number | null; stdout: string; error?: Error }> {
  return new Promise((resolve) => {
    // node:child_process loads on the first helper run, not with the registry client.
    const child = process.getBuiltinModule('node:child_process').spawn(program, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'ignore'],
      signal: options.signal,
      timeout: options.timeoutMs ?? 30_000,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (result: { code: number | null; stdout: string; error?: Error }) => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT) chunks.push(chunk);
      else child.kill();
    });
    child.on('error', (error) => done({ code: null, stdout: '', error }));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(chunks).toString('utf8');
      if (signal === 'SIGTERM' && code === null) {
        done({ code, stdout, error: Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) });
        return;
      }
      done({ code, stdout });
    });
    // A helper that exits before reading stdin makes the write fail with EPIPE; its exit status
    // tells the story, so the write error is ignored.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
