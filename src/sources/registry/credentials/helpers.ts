/**
 * @module registry/credentials/helpers
 * Docker credential helpers: `docker-credential-<name> get`, server URL on stdin, JSON
 * `{ServerURL, Username, Secret}` on stdout (docker/docker-credential-helpers client/client.go).
 *
 * A helper that fails writes its message to stdout and exits non-zero; "credentials not found"
 * means there are none (anonymous), anything else is an error. A `<token>` username means the
 * secret is an identity token (docker/cli credentials/native_store.go). Helper output is never put
 * in messages except the first line of a failure, which helpers use for error text.
 */
import { spawn } from 'node:child_process';
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
  const { code, stdout, error } = await run(program, ['get'], serverUrl, options);
  if (options.signal?.aborted) throw options.signal.reason;
  const fail = (why: string) =>
    new ImgdigestError('AUTH_FAILED', `credential helper ${program} failed for ${serverUrl}: ${why}`, {
      details: { helper: program, serverURL: serverUrl },
      cause: error,
    });
  if (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') throw fail('not found on PATH');
    if (errno === 'ETIMEDOUT') throw fail(`no answer within ${options.timeoutMs ?? 30_000} ms`);
    throw fail(errno ?? error.message);
  }
  if (code !== 0) {
    const firstLine = stdout.trim().split('\n')[0]?.trim() ?? '';
    if (/credentials not found/i.test(firstLine)) return null;
    throw fail(firstLine ? firstLine.slice(0, 200) : `exit status ${code}`);
  }
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

function run(
  program: string,
  args: string[],
  input: string,
  options: RunHelperOptions,
): Promise<{ code: number | null; stdout: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn(program, args, {
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
