/**
 * Faults the embedded registry must survive: path traversal in names and digests, bodies that lie
 * about their length, digests that do not match, clients that vanish mid-upload, storage that
 * fails while writing, and a process killed with SIGKILL in the middle of an upload.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FsStorage,
  type RunningRegistry,
  startRegistry,
  type UploadTarget,
} from '../../src/registry-server/index.js';
import { sha256 } from '../support/sha256.js';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { call, pushBlob } from './client.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('faults');
});
afterAll(() => removeTempDir(dir));

/** Send raw bytes on a socket and return what comes back until the server closes or `ms` pass. */
function raw(
  port: number,
  text: string | Buffer,
  options: { ms?: number; closeAfterWrite?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', done);
    socket.on('error', reject);
    socket.setTimeout(options.ms ?? 2000, done);
    socket.write(text, () => {
      if (options.closeAfterWrite) socket.destroy();
    });
    if (options.closeAfterWrite) setTimeout(done, 50);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

/** Every file under `root`, relative. */
async function files(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(root.length + 1));
}

describe('names and digests that try to leave the root', () => {
  let reg: RunningRegistry;
  let root: string;
  beforeAll(async () => {
    root = join(dir, 'traversal');
    reg = await startRegistry({ addr: '127.0.0.1:0', root });
  });
  afterAll(() => reg?.close());

  it.each([
    '/v2/../../etc/manifests/latest',
    '/v2/a/../../b/manifests/latest',
    '/v2/%2e%2e/%2e%2e/etc/manifests/latest',
    '/v2/a%2f..%2f..%2fetc/manifests/latest',
    '/v2//etc/passwd/manifests/latest',
    '/v2/a/./b/tags/list',
    '/v2/UPPER/tags/list',
    `/v2/${'a'.repeat(256)}/tags/list`,
    '/v2/a%00b/blobs/uploads/',
  ])('answers %s with 400 NAME_INVALID and touches nothing', async (path) => {
    const response = await raw(reg.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(statusOf(response)).toBe(400);
    expect(response).toContain('"code":"NAME_INVALID"');
  });

  it.each([
    'sha256:../../../../etc/passwd',
    'sha256:..%2f..%2fetc',
    'sha256%3a..%2f..',
    `sha256:${'A'.repeat(64)}`,
    'md5:d41d8cd98f00b204e9800998ecf8427e',
  ])('answers digest %s with 400 DIGEST_INVALID (or a 404 that never reaches a file)', async (digest) => {
    const response = await raw(
      reg.port,
      `GET /v2/safe/blobs/${digest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect([400, 404]).toContain(statusOf(response));
    if (statusOf(response) === 400) expect(response).toContain('"code":"DIGEST_INVALID"');
  });

  it('accepts a 255-character name and nothing was written outside the root', async () => {
    const name = 'a'.repeat(255);
    expect((await call(reg.url, 'GET', `/v2/${name}/tags/list`)).status).toBe(404);
    expect(await files(root)).toEqual([]);
  });
});

describe('uploads that lie or fail', () => {
  let reg: RunningRegistry;
  let root: string;
  beforeAll(async () => {
    root = join(dir, 'lies');
    reg = await startRegistry({ addr: '127.0.0.1:0', root });
  });
  afterAll(() => reg?.close());

  it('refuses a chunk whose Content-Length disagrees with its Content-Range', async () => {
    const start = await call(reg.url, 'POST', '/v2/lies/blobs/uploads/');
    const res = await call(reg.url, 'PATCH', start.headers.location!, {
      body: 'abcde',
      headers: { 'content-range': '0-9' },
    });
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['SIZE_INVALID']);
    expect((await call(reg.url, 'GET', start.headers.location!)).headers.range).toBe('0-0');
  });

  it('rolls back a chunk whose body is shorter than its Content-Length (client gone)', async () => {
    const start = await call(reg.url, 'POST', '/v2/lies/blobs/uploads/');
    const location = start.headers.location!;
    await call(reg.url, 'PATCH', location, { body: 'abc', headers: { 'content-range': '0-2' } });
    await raw(reg.port, `PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b`, {
      closeAfterWrite: true,
    });
    await new Promise((r) => setTimeout(r, 100));
    const status = await call(reg.url, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-2');
    // The session still works: finish it with the right bytes.
    const next = await call(reg.url, 'PATCH', location, { body: 'def', headers: { 'content-range': '3-5' } });
    expect(next.status).toBe(202);
    const done = await call(reg.url, 'PUT', `${location}?digest=${sha256('abcdef')}`);
    expect(done.status).toBe(201);
  });

  it('answers a final digest mismatch with DIGEST_INVALID and makes nothing visible', async () => {
    const start = await call(reg.url, 'POST', '/v2/lies/blobs/uploads/');
    await call(reg.url, 'PATCH', start.headers.location!, { body: 'the real bytes' });
    const claimed = sha256('the claimed bytes');
    const res = await call(reg.url, 'PUT', `${start.headers.location}?digest=${claimed}`);
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['DIGEST_INVALID']);
    for (const digest of [claimed, sha256('the real bytes')]) {
      expect((await call(reg.url, 'HEAD', `/v2/lies/blobs/${digest}`)).status).toBe(404);
    }
    expect((await files(root)).filter((f) => f.startsWith('blobs/') && f.includes(claimed.slice(7)))).toEqual(
      [],
    );
    expect((await readdir(join(root, '_uploads'))).length).toBeLessThanOrEqual(2);
  });

  it('keeps serving after a client disconnects in the middle of a monolithic upload', async () => {
    const digest = sha256('x'.repeat(1000));
    await raw(
      reg.port,
      `POST /v2/lies/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(400)}`,
      { closeAfterWrite: true },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect((await call(reg.url, 'HEAD', `/v2/lies/blobs/${digest}`)).status).toBe(404);
    expect(await pushBlob(reg.url, 'lies', 'x'.repeat(1000))).toBe(digest);
    expect((await call(reg.url, 'HEAD', `/v2/lies/blobs/${digest}`)).status).toBe(200);
  });
});

describe('a storage write error', () => {
  it('is answered with a spec error body, leaves nothing visible, and the server keeps serving', async () => {
    const root = join(dir, 'write-error');
    const storage = new FsStorage(root);
    const createUpload = storage.createUpload.bind(storage);
    let failNext = true;
    storage.createUpload = async (id: string): Promise<UploadTarget> => {
      const target = await createUpload(id);
      if (!failNext) return target;
      failNext = false;
      return {
        ...target,
        writable: () =>
          new Writable({
            write(_chunk, _encoding, callback) {
              callback(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
            },
          }),
      };
    };
    const reg = await startRegistry({ addr: '127.0.0.1:0', storage });
    try {
      const digest = sha256('doomed bytes');
      const res = await call(reg.url, 'POST', `/v2/werr/blobs/uploads/?digest=${digest}`, {
        body: 'doomed bytes',
      });
      expect(res.status).toBe(507);
      expect(res.codes()).toEqual(['UNKNOWN']);
      expect(res.json<{ errors: Array<{ message: string }> }>().errors[0]!.message).toMatch(/ENOSPC/);
      expect((await call(reg.url, 'HEAD', `/v2/werr/blobs/${digest}`)).status).toBe(404);
      expect((await files(root)).filter((f) => !f.startsWith('_uploads'))).toEqual([]);
      expect(await pushBlob(reg.url, 'werr', 'doomed bytes')).toBe(digest);
    } finally {
      await reg.close();
    }
  });
});

const canMountTmpfs = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = join(tmpdir(), `imgdigest-tmpfs-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
})();

describe.skipIf(!canMountTmpfs)('a full disk (1 MiB tmpfs)', () => {
  let mountPoint: string;
  let reg: RunningRegistry;
  beforeAll(async () => {
    mountPoint = join(dir, 'tiny');
    execFileSync('mkdir', ['-p', mountPoint]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    reg = await startRegistry({ addr: '127.0.0.1:0', root: join(mountPoint, 'root') });
  });
  afterAll(async () => {
    await reg?.close();
    execFileSync('umount', [mountPoint]);
  });

  it('answers 507 for a blob larger than the disk, keeps nothing, and still accepts small blobs', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    const start = await call(reg.url, 'POST', '/v2/full/blobs/uploads/');
    const res = await call(reg.url, 'PATCH', start.headers.location!, { body: big });
    expect(res.status).toBe(507);
    expect(res.codes()).toEqual(['UNKNOWN']);
    expect((await call(reg.url, 'GET', start.headers.location!)).headers.range).toBe('0-0');
    expect((await call(reg.url, 'HEAD', `/v2/full/blobs/${sha256(big)}`)).status).toBe(404);
    expect(await pushBlob(reg.url, 'full', 'small')).toBe(sha256('small'));
  });
});

describe('SIGKILL in the middle of an upload', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  function serve(root: string): Promise<{ child: ChildProcess; url: string; port: number }> {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'serve-cli.ts'),
        'registry',
        'serve',
        '--addr',
        '127.0.0.1:0',
        '--root',
        root,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    return new Promise((resolve, reject) => {
      let text = '';
      proc.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(text);
        if (match) resolve({ child: proc, url: match[1]!, port: Number(match[2]) });
      });
      proc.once('exit', (code) => reject(new Error(`registry exited with ${code}: ${text}`)));
    });
  }

  it('leaves no visible partial blob, and the restarted registry serves what was complete', async () => {
    const root = join(dir, 'killed');
    const first = await serve(root);
    const kept = await pushBlob(first.url, 'crash', 'complete before the crash');
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    const digest = sha256(big);
    const start = await call(first.url, 'POST', '/v2/crash/blobs/uploads/');
    // Send half of a monolithic PUT, then kill the server while it waits for the rest.
    const socket = connect(first.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      `PUT ${start.headers.location}?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    socket.write(big.subarray(0, big.length / 2));
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    socket.destroy();

    const partial = (await files(root)).filter((f) => f.startsWith('_uploads/'));
    expect(partial.length).toBeGreaterThan(0); // the half upload was on disk, invisible
    const second = await serve(root);
    try {
      expect((await call(second.url, 'HEAD', `/v2/crash/blobs/${digest}`)).status).toBe(404);
      expect((await call(second.url, 'GET', `/v2/crash/blobs/${kept}`)).body.toString()).toBe(
        'complete before the crash',
      );
      expect((await files(root)).filter((f) => f.startsWith('_uploads/'))).toEqual([]);
      expect((await files(root)).some((f) => f.includes(digest.slice(7)))).toBe(false);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  });
});
