/**
 * `imgdigest explore` as a user runs it: it prints the URL of the page for what it was given,
 * serves it until SIGTERM, and refuses to listen beyond loopback without the safety flags.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages } from '../../src/builder/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';
import { pushWithClient } from '../support/images.js';

let registry: RunningRegistry;
beforeAll(async () => {
  registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  await pushWithClient(registry.host, 'sample/app', await buildSampleImages('app'));
});
afterAll(async () => {
  await registry?.close();
});

describe('imgdigest explore', () => {
  it('prints the URL of the reference page, serves it, and stops on SIGTERM', async () => {
    const script = `import('./src/cli/main.ts').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        script,
        'explore',
        '--addr',
        '127.0.0.1:0',
        '--anonymous',
        `${registry.host}/sample/app:1.0`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test' },
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /imgdigest explore: open (\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error(`explore exited: ${err}`)));
      });
      expect(url).toMatch(
        new RegExp(`^http://127\\.0\\.0\\.1:\\d+/image/${registry.host}/sample/app:1\\.0$`),
      );
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`Index ${registry.host}/sample/app:1.0`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('refuses a non-loopback address without --allow-remote, and --allow-remote without --registry', async () => {
    const remote = await runCli(['explore', '--addr', '0.0.0.0:0']);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain(
      'imgdigest: refusing to listen on 0.0.0.0: the explorer listens on loopback unless --allow-remote',
    );
    const unlisted = await runCli(['explore', '--addr', '0.0.0.0:0', '--allow-remote']);
    expect(unlisted.code).toBe(2);
    expect(unlisted.stderr).toContain('--allow-remote needs at least one --registry');
  });
});
