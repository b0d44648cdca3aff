/**
 * Every error is one line starting `imgdigest: `, commander's usage errors included; a system
 * error's code never stands without its words; `--retries` retries what its help says it retries
 * (refused and reset connections), against a port that opens late and a server that resets.
 */
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { startResettingRegistry } from '../support/awkward-servers.js';
import { runCli } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

afterAll(cleanupTempDirs);

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Exit 2, nothing on stdout, exactly `line` on stderr. */
async function usage(args: string[], line: string): Promise<void> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`${line}\n`);
}

describe('usage errors', () => {
  it("are commander's words as one imgdigest line, the suggestion on the same line", async () => {
    await usage(
      ['digest', '--plaform', 'linux/amd64', 'x'],
      "imgdigest: unknown option '--plaform' (did you mean --platform?)",
    );
    await usage(['diget'], "imgdigest: unknown command 'diget' (did you mean digest?)");
    await usage(['manifest'], "imgdigest: missing required argument 'reference'");
    await usage(['digest', '--timeout'], "imgdigest: option '--timeout <seconds>' argument missing");
    await usage(['registry', 'serve', '--nope'], "imgdigest: unknown option '--nope'");
    await usage(
      ['tag', 'a', 'b', 'c'],
      "imgdigest: too many arguments for 'tag'. Expected 2 arguments but got 3.",
    );
  });
});

describe('system errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('errors');
  });

  /** One line, `imgdigest: ` first, and every errno code in brackets after its words. */
  function oneWordyLine(stderr: string): void {
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toMatch(/^imgdigest: /);
    for (const m of stderr.matchAll(/\bE[A-Z]{3,}\b/g)) {
      expect(stderr.slice(m.index - 1, m.index), `${m[0]} in ${stderr}`).toBe('(');
    }
  }

  it('name the failure in words, the code in brackets', async () => {
    const port = await closedPort();
    const refused = await runCli(['digest', '--retries', '0', `127.0.0.1:${port}/app:1`]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(
      `imgdigest: network error: GET http://127.0.0.1:${port}/v2/: connection refused (ECONNREFUSED)\n`,
    );
    const missing = `${dir}/missing.pem`;
    const cases = [
      ['webhook', 'manifests', '--no-resolve', '--ca-bundle', missing],
      ['digest', '--retries', '0', '--ca-file', missing, `127.0.0.1:${port}/app:1`],
      ['digest', `oci:${dir}/nowhere`],
      ['check', '-f', missing],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBeGreaterThanOrEqual(2);
      oneWordyLine(r.stderr.replace(/^.*violations? in .*\n/m, ''));
    }
    expect((await runCli(cases[0]!)).stderr).toBe(
      `imgdigest: cannot read CA bundle ${missing}: no such file or directory (ENOENT)\n`,
    );
  });

  it('say which address a server cannot listen on', async () => {
    const busy = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    try {
      const r = await runCli(['registry', 'serve', '--memory', '--addr', busy.host]);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        `imgdigest: cannot listen on ${busy.host}: address already in use (EADDRINUSE)\n`,
      );
    } finally {
      await busy.close();
    }
  });
});

describe('--retries', () => {
  let late: RunningRegistry | undefined;
  afterAll(() => late?.close());

  it('retries a refused connection: a registry that starts after the first attempt answers', async () => {
    const port = await closedPort();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => {
      out += c;
    });
    // The registry starts when the request log shows the first attempt refused.
    let starting: Promise<RunningRegistry> | undefined;
    stderr.on('data', (c: Buffer) => {
      err += c;
      if (!starting && / ERR /.test(err)) {
        starting = startRegistry({ addr: `127.0.0.1:${port}`, memory: true, demo: true });
      }
    });
    const stdin = new PassThrough();
    stdin.end();
    const code = await main(['-v', 'digest', '--retries', '6', `127.0.0.1:${port}/sample/app:1.0`], {
      stdout,
      stderr,
      stdin,
      env: { DOCKER_CONFIG: '/nonexistent-imgdigest-test' },
      cwd: process.cwd(),
    });
    late = await starting;
    expect(code, err).toBe(0);
    expect(err).toMatch(new RegExp(`^GET http://127.0.0.1:${port}/v2/ ERR `, 'm'));
    expect(out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it('retries reset connections, and says so in words when they run out', async () => {
    const resetting = await startResettingRegistry(2);
    try {
      const r = await runCli(['digest', '--retries', '2', `${resetting.host}/app:latest`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${resetting.image.digest}\n`);
    } finally {
      await resetting.close();
    }
    const stubborn = await startResettingRegistry(5);
    try {
      const r = await runCli(['digest', '--retries', '1', `${stubborn.host}/app:latest`]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^imgdigest: network error: HEAD http:\/\/\S+\/v2\/app\/manifests\/latest: \D/,
      );
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      await stubborn.close();
    }
  });
});
