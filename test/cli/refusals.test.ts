/**
 * Arguments with a part the command would ignore are refused, not half-obeyed (exit 2, one line,
 * nothing asked of the network): `catalog HOST/PATH`, `tags REPO:TAG` and `tags REPO@DIGEST`; and a
 * blob is not written to a terminal unless asked to.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { runCli } from '../support/cli.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Exit 2, nothing on stdout, one line on stderr matching `line`. */
async function refused(args: string[], line: RegExp): Promise<void> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toMatch(line);
}

describe('parts of an argument a command would ignore', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
  });
  afterAll(() => registry?.close());

  it('catalog refuses a repository path and a word that is not a host', async () => {
    // Port 1: a refusal that reached the network would be exit 3, not 2.
    await refused(
      ['catalog', '127.0.0.1:1/sample'],
      /^imgdigest: catalog takes a registry host, not "127\.0\.0\.1:1\/sample": .*imgdigest tags 127\.0\.0\.1:1\/sample/,
    );
    await refused(['catalog', 'nginx'], /^imgdigest: "nginx" is not a registry host: /);
    const ok = await runCli(['catalog', `${registry.host}/`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('sample/app\n');
  });

  it('tags refuses a tag or a digest on the repository', async () => {
    await refused(
      ['tags', '127.0.0.1:1/sample/app:1.0'],
      /^imgdigest: tags lists a repository's tags: drop :1\.0 from /,
    );
    await refused(
      ['tags', `127.0.0.1:1/sample/app@${DIGEST}`],
      new RegExp(`drop @${DIGEST} from .*\\(--digest ${DIGEST} lists the tags that point at it\\)`),
    );
    await refused(
      ['tags', 'oci:/nonexistent/layout:1.0'],
      /drop :1\.0 from "oci:\/nonexistent\/layout:1\.0"/,
    );
    const ok = await runCli(['tags', `${registry.host}/sample/app`]);
    expect(ok.stdout).toContain('1.0\n');
  });
});

describe('blob and a terminal', () => {
  let registry: RunningRegistry;
  let layer: string;
  beforeAll(async () => {
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true });
    const inspect = JSON.parse(
      (await runCli(['inspect', '--json', `${registry.host}/sample/app:single`])).stdout,
    );
    layer = `${registry.host}/sample/app@${inspect.image.layers[0].digest}`;
  });
  afterAll(() => registry?.close());

  /** `imgdigest ARGS` with stdout a terminal. */
  async function onTerminal(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    const stdout = Object.assign(new PassThrough(), { isTTY: true });
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    let err = '';
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => {
      err += c;
    });
    const stdin = new PassThrough();
    stdin.end();
    const code = await main(args, {
      stdout,
      stderr,
      stdin,
      env: { DOCKER_CONFIG: '/nonexistent' },
      cwd: '/',
    });
    return { code, stdout: Buffer.concat(out), stderr: err };
  }

  it('refuses to write a blob to a terminal without -o or --force, exit 2', async () => {
    const r = await onTerminal(['blob', layer]);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toBe(
      'imgdigest: blob will not write a blob to the terminal: give -o FILE, pipe it (| tar -tz), or --force\n',
    );
  });

  it('writes it with --force, and to a pipe', async () => {
    const forced = await onTerminal(['-q', 'blob', '--force', layer]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    const piped = await runCli(['blob', layer]);
    expect(piped.code).toBe(0);
    expect(piped.stdoutBytes.equals(forced.stdout)).toBe(true);
  });
});
