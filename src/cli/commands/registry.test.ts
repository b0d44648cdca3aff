import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../../test/registry-server/client.js';
import { removeTempDir, tempDir } from '../../../test/support/tmp.js';
import { haveTools } from '../../../test/support/tools.js';

const SERVE = join(import.meta.dirname, '../../../test/registry-server/serve-cli.ts');
const running = new Set<ChildProcess>();

let dir: string;
beforeAll(async () => {
  dir = await tempDir('cli-registry');
});
afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await removeTempDir(dir);
});

interface Started {
  child: ChildProcess;
  line: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Start `imgdigest ARGS`; resolves at the listening line (or when the process exits first). */
function start(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  running.add(child);
  let text = '';
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return new Promise((resolve) => {
    const started = (line: string) => resolve({ child, line, stderr: () => text, exit });
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('imgdigest registry listening on'));
      if (line) started(line);
    });
    void exit.then(() => started(''));
  });
}

describe('imgdigest registry serve', () => {
  it('prints one line with the real port and root, serves, and stops cleanly on SIGTERM', async () => {
    const root = join(dir, 'root');
    const server = await start(['registry', 'serve', '--addr', '127.0.0.1:0', '--root', root]);
    const match = /^imgdigest registry listening on http:\/\/127\.0\.0\.1:(\d+) \(root (.+)\)$/.exec(
      server.line,
    );
    expect(match, server.stderr()).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(0);
    expect(match![2]).toBe(root);
    expect((await call(`http://127.0.0.1:${match![1]}`, 'GET', '/v2/')).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(server.stderr().trim().split('\n')).toEqual([server.line]);
  });

  it('stops on SIGINT too, says (memory) for --memory, and logs requests with --verbose', async () => {
    const server = await start(['--verbose', 'registry', 'serve', '--addr', '127.0.0.1:0', '--memory']);
    expect(server.line).toMatch(/ \(memory\)$/);
    const url = /(http:\/\/\S+)/.exec(server.line)![1]!;
    expect((await call(url, 'GET', '/v2/nothing/tags/list')).status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.stderr()).toMatch(/imgdigest registry: GET \/v2\/nothing\/tags\/list 404 [\d.]+ms/);
    server.child.kill('SIGINT');
    expect(await server.exit).toBe(0);
  });

  it('--demo lists the demo images before the listening line and serves them, on disk too', async () => {
    const server = await start([
      'registry',
      'serve',
      '--addr',
      '127.0.0.1:0',
      '--root',
      join(dir, 'demo'),
      '--demo',
    ]);
    const url = /(http:\/\/\S+)/.exec(server.line)?.[1];
    expect(url, server.stderr()).toBeDefined();
    const images = server
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('imgdigest registry: serving '));
    expect(images.map((l) => l.replace(/@.*/, ''))).toEqual([
      'imgdigest registry: serving sample/app:1.0',
      'imgdigest registry: serving sample/app:1.1',
      'imgdigest registry: serving sample/app:latest',
      'imgdigest registry: serving sample/app:single',
      'imgdigest registry: serving sample/worker:2',
    ]);
    for (const line of images) {
      const [, repo, tag, digest] = /serving (\S+):(\S+)@(sha256:[0-9a-f]{64})$/.exec(line)!;
      const res = await call(url!, 'HEAD', `/v2/${repo}/manifests/${tag}`);
      expect(res.headers['docker-content-digest']).toBe(digest);
    }
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  });

  it('keeps its data under $XDG_CACHE_HOME by default', async () => {
    const cache = join(dir, 'xdg');
    const server = await start(['registry', 'serve', '--addr', '127.0.0.1:0'], {
      ...process.env,
      XDG_CACHE_HOME: cache,
    });
    expect(server.line).toContain(`(root ${join(cache, 'imgdigest', 'registry')})`);
    server.child.kill('SIGTERM');
    await server.exit;
  });

  it('refuses a non-loopback address without auth: exit 2 and one clear line', async () => {
    const server = await start(['registry', 'serve', '--addr', '0.0.0.0:0', '--memory']);
    expect(await server.exit).toBe(2);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imgdigest: refusing to serve 0\.0\.0\.0:0 without authentication/);
  });

  it.skipIf(!haveTools('htpasswd'))(
    'refuses an htpasswd file with a non-bcrypt entry at startup (exit 2)',
    async () => {
      const file = join(dir, 'md5');
      await writeFile(file, execFileSync('htpasswd', ['-mbn', 'bob', 'pw']));
      const server = await start([
        'registry',
        'serve',
        '--addr',
        '127.0.0.1:0',
        '--memory',
        '--htpasswd',
        file,
      ]);
      expect(await server.exit).toBe(2);
      expect(server.stderr()).toMatch(/not a bcrypt hash; create it with "htpasswd -B"/);
    },
  );

  it('passes the limit flags to the registry, and refuses a limit that is not a number in range (exit 2)', async () => {
    const server = await start([
      'registry',
      'serve',
      '--addr',
      '127.0.0.1:0',
      '--memory',
      '--max-uploads-per-client',
      '1',
    ]);
    const url = /(http:\/\/\S+)/.exec(server.line)?.[1];
    expect(url, server.stderr()).toBeDefined();
    expect((await call(url!, 'POST', '/v2/limited/app/blobs/uploads/')).status).toBe(202);
    const second = await call(url!, 'POST', '/v2/limited/app/blobs/uploads/');
    expect(second.status).toBe(429);
    expect(second.codes()).toEqual(['TOOMANYREQUESTS']);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);

    const bad = await start(['registry', 'serve', '--addr', '127.0.0.1:0', '--memory', '--body-grace', '0']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr().trim()).toBe('imgdigest: --body-grace must be a positive integer, got "0"');
  });

  it('documents the flags with an example and its output line', async () => {
    const help = execFileSync(process.execPath, ['--import', 'tsx', SERVE, 'registry', 'serve', '--help'], {
      encoding: 'utf8',
    });
    for (const flag of [
      '--addr',
      '--root',
      '--memory',
      '--htpasswd',
      '--tls-cert',
      '--tls-key',
      '--allow-anonymous',
      '--load',
      '--demo',
      '--body-min-rate',
      '--body-grace',
      '--max-unauthenticated',
      '--auth-max-failures',
      '--auth-failure-window',
      '--max-uploads',
      '--max-uploads-per-client',
      '--upload-idle',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(
      /Examples:\n {2}\$ imgdigest registry serve .*\n {2}imgdigest registry listening on http:\/\/127\.0\.0\.1:\d+/,
    );
  });
});
