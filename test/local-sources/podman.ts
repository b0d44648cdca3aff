/**
 * @module test/local-sources/podman
 * A real Docker-compatible engine for tests: Podman's API service on a unix socket, run with its
 * own storage (`--root`, `--runroot`, the vfs driver) in a temporary directory, so it touches
 * nothing of the machine's. Images get into it with the real `podman pull` (from the test
 * registry) or `podman load`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { run } from './fixtures.js';

export interface PodmanService {
  /** `unix:///tmp/.../podman.sock`, what DOCKER_HOST is set to. */
  readonly dockerHost: string;
  readonly socket: string;
  /** Run the podman CLI against the same storage. */
  podman(...args: string[]): string;
  /** Ask the API directly (GET), for comparing answers. */
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

function getOverSocket(socket: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const services = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of services) child.kill('SIGKILL');
});

/**
 * podman's global options for a private store under `dir` (vfs: no overlay mounts, nothing of
 * the machine's storage touched). skopeo names the same store `containers-storage:[vfs@ROOT+RUNROOT]`.
 */
export function podmanStorageArgs(dir: string): string[] {
  return [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'runroot'),
    '--storage-driver',
    'vfs',
    '--events-backend',
    'file',
    '--cgroup-manager',
    'cgroupfs',
  ];
}

/** Start `podman system service` with isolated storage and wait until `/version` answers. */
export async function startPodmanService(): Promise<PodmanService> {
  const dir = await tempDir('podman');
  const socket = join(dir, 'podman.sock');
  const global = podmanStorageArgs(dir);
  const child: ChildProcess = spawn(
    'podman',
    [...global, 'system', 'service', '--time=0', `unix://${socket}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  services.add(child);
  child.once('exit', () => services.delete(child));
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-2000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    await removeTempDir(dir);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await getOverSocket(socket, '/version').catch(() => null);
    if (answer?.status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`podman system service did not start: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dockerHost: `unix://${socket}`,
    socket,
    podman: (...args) => run('podman', [...global, ...args]).toString('utf8'),
    get: (path) => getOverSocket(socket, path),
    stop,
  };
}
