/**
 * Hostile clients on loopback against the embedded registry with Basic authentication: sockets
 * held open by bodies that crawl or headers that never end, password guessers, and clients that
 * open upload sessions without end. Each test reproduces an attack that used to break or slow the
 * registry, and asserts what a legitimate, logged-in client still gets. No assertion is on elapsed
 * time: bounds below only stop a test that would otherwise wait forever.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningRegistry,
  type StartRegistryOptions,
  startRegistry,
} from '../../src/registry-server/index.js';
import { sha256 } from '../support/sha256.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { call, imageFixture, OCI_MANIFEST, pushImage } from './client.js';

/** Slow sockets per attack: this 2-core machine handles 1,000 comfortably. */
const ATTACKERS = 1000;

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const alice = basic('alice', 'secret');

let dir: string;
const running: RunningRegistry[] = [];
const sockets: Socket[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  dir = await tempDir('attacks');
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await Promise.all(running.splice(0).map((r) => r.close()));
});
afterAll(cleanupTempDirs);

/** An htpasswd file made by the real htpasswd tool (bcrypt at `cost`). */
async function htpasswd(cost = 5): Promise<string> {
  const path = join(dir, `users-${cost}`);
  await writeFile(path, execFileSync('htpasswd', ['-Bbn', '-C', String(cost), 'alice', 'secret']));
  return path;
}

async function serve(options: Partial<StartRegistryOptions> = {}): Promise<RunningRegistry> {
  const reg = await startRegistry({
    addr: '127.0.0.1:0',
    memory: true,
    htpasswd: await htpasswd(),
    ...options,
  });
  running.push(reg);
  return reg;
}

/** A client on another loopback address (127.0.0.0/8 is all loopback on Linux). */
function from(localAddress: string): Agent {
  const agent = new Agent({ localAddress });
  agents.push(agent);
  return agent;
}

interface SlowClient {
  /** Resolves when the server closed (or reset) the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** What the server sent. */
  received(): string;
}

/**
 * Open a connection, send `head`, then one byte of `drip` every `everyMs` until the server closes
 * it: a body or a header that never ends.
 */
function slowClient(port: number, head: string, everyMs: number): SlowClient {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const chunks: Buffer[] = [];
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (chunk) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      done = true;
      clearInterval(timer);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, everyMs);
  });
  return { closed, isClosed: () => done, received: () => Buffer.concat(chunks).toString('latin1') };
}

/**
 * Wait until at least `wanted` of the clients are closed (default all), or until `ms` passed;
 * returns how many are closed.
 */
async function closedWithin(clients: SlowClient[], ms: number, wanted = clients.length): Promise<number> {
  const count = () => clients.filter((c) => c.isClosed()).length;
  const until = Date.now() + ms;
  while (count() < wanted && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  return count();
}

/** A logged-in client's round trip: push an image, pull its manifest and a blob back. */
async function pushAndPull(base: string, seed: string): Promise<number[]> {
  const image = imageFixture(seed);
  const put = await pushImage(base, 'legit/app', image, seed, alice);
  const manifest = await call(base, 'GET', `/v2/legit/app/manifests/${seed}`, {
    headers: { ...alice, accept: OCI_MANIFEST },
  });
  const blob = await call(base, 'GET', `/v2/legit/app/blobs/${sha256(image.layers[0]!)}`, { headers: alice });
  expect(manifest.body.equals(image.manifest)).toBe(true);
  return [put.status, manifest.status, blob.status];
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

describe.skipIf(!haveTools('htpasswd'))('sockets held open without credentials', () => {
  it(`answers ${ATTACKERS} crawling unauthenticated uploads with 401 at once and closes them, while a logged-in client pushes and pulls`, async () => {
    // The cap on unauthenticated connections is out of the way here: this is about the 401.
    const reg = await serve({ limits: { maxUnauthenticatedConnections: 10 * ATTACKERS } });
    const head = (id: string) =>
      `PATCH /v2/victim/blobs/uploads/${id} HTTP/1.1\r\nHost: ${reg.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`;
    const attackers = Array.from({ length: ATTACKERS }, () =>
      slowClient(reg.port, head(randomUUID()), 10_000),
    );
    expect(await pushAndPull(reg.url, 'during-slow-uploads')).toEqual([201, 200, 200]);
    expect(await closedWithin(attackers, 30_000)).toBe(ATTACKERS);
    const statuses = new Set(attackers.map((a) => statusOf(a.received())));
    expect([...statuses]).toEqual([401]);
    expect(attackers[0]!.received()).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('keeps connections that never authenticate under the maximum by closing the oldest, and logged-in clients still get in', async () => {
    const max = 50;
    const reg = await serve({ limits: { maxUnauthenticatedConnections: max } });
    // Headers that never end: Node's own header timeout would take a minute for each.
    const head = `GET /v2/ HTTP/1.1\r\nHost: ${reg.host}\r\nX-Slow: `;
    const attackers = Array.from({ length: ATTACKERS }, () => slowClient(reg.port, head, 1_000));
    expect(await closedWithin(attackers, 30_000, ATTACKERS - max)).toBe(ATTACKERS - max);
    // Those closed were cut before any answer: they never finished a request.
    expect(attackers.filter((a) => a.isClosed()).every((a) => a.received() === '')).toBe(true);
    // The registry is at its maximum of unauthenticated connections: a logged-in client's new
    // connections still get in (each closes an old idle one), and the count stays at the maximum.
    expect(await pushAndPull(reg.url, 'among-idle-sockets')).toEqual([201, 200, 200]);
    expect(attackers.filter((a) => !a.isClosed()).length).toBeLessThanOrEqual(max);
  });
});

describe.skipIf(!haveTools('htpasswd'))('request bodies below the minimum rate', () => {
  it('answers 408 to a logged-in client whose body crawls, rolls the chunk back, and never cuts one that keeps moving', async () => {
    const reg = await serve({ limits: { bodyMinBytesPerSecond: 1024, bodyGraceMs: 500 } });
    const started = await call(reg.url, 'POST', '/v2/slow/app/blobs/uploads/', { headers: alice });
    expect(started.status).toBe(202);
    const location = started.headers.location!;
    const auth = alice.authorization;
    const patch = (length: number) =>
      `PATCH ${location} HTTP/1.1\r\nHost: ${reg.host}\r\nAuthorization: ${auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

    const crawler = slowClient(reg.port, patch(1024 * 1024), 100);
    expect(await closedWithin([crawler], 30_000)).toBe(1);
    expect(statusOf(crawler.received())).toBe(408);
    expect(crawler.received()).toMatch(/BLOB_UPLOAD_INVALID.*slower than 1 KiB\/s over 0.5s/);
    const status = await call(reg.url, 'GET', location, { headers: alice });
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-0');

    // 4 KiB every 100 ms for 3 s: six windows, each far above the minimum.
    const chunk = Buffer.alloc(4096, 0x61);
    const total = chunk.length * 30;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(reg.port, '127.0.0.1');
      sockets.push(socket);
      const got: Buffer[] = [];
      let sent = 0;
      socket.on('error', reject);
      socket.on('data', (c) => {
        got.push(c);
        if (/\r\n\r\n/.test(Buffer.concat(got).toString('latin1')))
          resolve(Buffer.concat(got).toString('latin1'));
      });
      socket.once('connect', () => {
        socket.write(patch(total));
        const timer = setInterval(() => {
          socket.write(chunk);
          sent += chunk.length;
          if (sent >= total) clearInterval(timer);
        }, 100);
      });
    });
    expect(statusOf(answer), answer).toBe(202);
    expect(answer).toMatch(new RegExp(`\r\nRange: 0-${total - 1}\r\n`, 'i'));
  });
});

describe.skipIf(!haveTools('htpasswd'))('password guessing', () => {
  it('answers a logged-in client while guessers keep bcrypt busy', async () => {
    // Cost 10, as `htpasswd -B -C 10` writes: tens of milliseconds of CPU per comparison.
    const reg = await serve({
      htpasswd: await htpasswd(10),
      limits: { authMaxFailures: 1_000_000 },
    });
    expect((await call(reg.url, 'GET', '/v2/', { headers: alice })).status).toBe(200);
    let guesses = 0;
    let stop = false;
    const guessers = Array.from({ length: 8 }, async (_, i) => {
      while (!stop) {
        const res = await call(reg.url, 'GET', '/v2/', { headers: basic('alice', `guess-${i}-${guesses}`) });
        expect(res.status).toBe(401);
        guesses++;
      }
    });
    while (guesses < 8) await new Promise((resolve) => setTimeout(resolve, 20));
    // While the guessers run, the logged-in client's requests do not wait for their bcrypt work:
    // fewer guesses complete during its 20 requests than it has requests (on the event loop,
    // every one of its requests waited behind all eight comparisons).
    const before = guesses;
    for (let i = 0; i < 20; i++) {
      expect((await call(reg.url, 'GET', '/v2/legit/none/tags/list', { headers: alice })).status).toBe(404);
    }
    const during = guesses - before;
    stop = true;
    await Promise.all(guessers);
    expect(during).toBeLessThan(20);
  });

  it('answers 429 with Retry-After after the allowed failures, for that address only, and remembered logins still pass', async () => {
    const reg = await serve({ limits: { authMaxFailures: 3, authFailureWindowMs: 60_000 } });
    expect((await call(reg.url, 'GET', '/v2/', { headers: alice })).status).toBe(200);
    const wrong = basic('alice', 'wrong');
    for (let i = 0; i < 3; i++)
      expect((await call(reg.url, 'GET', '/v2/', { headers: wrong })).status).toBe(401);
    const limited = await call(reg.url, 'GET', '/v2/', { headers: wrong });
    expect(limited.status).toBe(429);
    expect(limited.codes()).toEqual(['TOOMANYREQUESTS']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Credentials verified before are remembered and still pass from the limited address.
    expect((await call(reg.url, 'GET', '/v2/', { headers: alice })).status).toBe(200);
    // Another address is not limited.
    const other = from('127.0.0.2');
    expect((await call(reg.url, 'GET', '/v2/', { headers: wrong, dispatcher: other })).status).toBe(401);
    expect((await call(reg.url, 'GET', '/v2/', { headers: alice, dispatcher: other })).status).toBe(200);
  });
});

describe('upload sessions', () => {
  it('refuses sessions beyond the per-client maximum with 429 and beyond the total with 503, each with a clear body', async () => {
    const reg = await serve({ htpasswd: undefined, limits: { maxUploadsPerClient: 2, maxUploads: 3 } });
    const open = (agent?: Agent) =>
      call(reg.url, 'POST', '/v2/many/app/blobs/uploads/', { dispatcher: agent });
    const first = await open();
    expect((await open()).status).toBe(202);
    const third = await open();
    expect(third.status).toBe(429);
    expect(third.codes()).toEqual(['TOOMANYREQUESTS']);
    expect(third.json<{ errors: Array<{ message: string }> }>().errors[0]!.message).toMatch(
      /this client has 2 upload sessions open, the maximum per client/,
    );
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another client still gets one, until the registry as a whole is full.
    expect((await open(from('127.0.0.2'))).status).toBe(202);
    const full = await open(from('127.0.0.3'));
    expect(full.status).toBe(503);
    expect(full.codes()).toEqual(['UNAVAILABLE']);
    expect(full.json<{ errors: Array<{ message: string }> }>().errors[0]!.message).toMatch(
      /the registry has 3 upload sessions open, its maximum/,
    );
    // Cancelling a session frees its place.
    expect((await call(reg.url, 'DELETE', first.headers.location!)).status).toBe(204);
    expect((await open()).status).toBe(202);
  });
});
