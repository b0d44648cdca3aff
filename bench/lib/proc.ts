/**
 * @module bench/lib/proc
 * Child processes for the benchmarks: run a command and time it (wall clock from spawn to exit),
 * and start a long-running server child that announces its URL on its first stdout line. Every
 * child started here is killed when the bench process exits, whatever happens.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface RunResult {
  code: number | null;
  /** Wall-clock milliseconds from spawn to exit. */
  ms: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** `devnull` sends stdout to /dev/null (output is part of the work but not kept). Default `pipe`. */
  stdout?: 'pipe' | 'devnull';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Throw unless the exit code is 0 (default true). */
  check?: boolean;
  /** Written to the child's stdin (default: no stdin). */
  input?: string;
}

/** Run `cmd args`, time it and return its output; throws with stderr's tail when it fails. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const devnull = options.stdout === 'devnull' ? openSync('/dev/null', 'w') : undefined;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', devnull ?? 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    children.add(child);
    if (options.input !== undefined) child.stdin?.end(options.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      children.delete(child);
      if (devnull !== undefined) closeSync(devnull);
      reject(e);
    });
    child.on('close', (code) => {
      const ms = performance.now() - start;
      children.delete(child);
      if (devnull !== undefined) closeSync(devnull);
      const result = {
        code,
        ms,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (code !== 0 && options.check !== false) {
        const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${tail}`));
      } else resolve(result);
    });
  });
}

/** The first line of `cmd --version`-like output, or "not installed". */
export function versionOf(cmd: string, args: readonly string[] = ['--version']): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      const text = `${stdout}${stderr}`.trim().split('\n')[0] ?? '';
      resolve(error && text === '' ? 'not installed' : text);
    });
  });
}

export interface ServerChild {
  /** What the child printed on its first stdout line (JSON). */
  readonly info: Record<string, string>;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Start a server in its own process (so load generator and server do not share one event loop)
 * and wait for its first stdout line, a JSON object with at least `url`.
 */
export async function startServerChild(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServerChild> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  const info = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${cmd} ${args.join(' ')} did not start: ${stderr.trim()}`)),
      options.timeoutMs ?? 30_000,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, string>);
      } catch {
        reject(new Error(`${cmd}: unexpected first line ${JSON.stringify(line)}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  lines.on('line', () => {});
  return {
    info,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** Run `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Remove a folder tree with `rm -rf`: on this machine's disk it is several times faster than
 * Node's recursive `fs.rm` for registry storage (thousands of tiny link files).
 */
export async function removeTree(path: string): Promise<void> {
  await run('rm', ['-rf', '--', path]);
}
