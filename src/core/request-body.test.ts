import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestBody, readRequestBody } from './request-body.js';

const LIMIT = 1024;
let server: Server;
let port: number;
const outcomes: RequestBody[] = [];

beforeAll(async () => {
  // The answer is sent after the read: a refused body must still get its answer.
  server = createServer(async (req, res) => {
    const read = await readRequestBody(req, LIMIT);
    outcomes.push(read);
    if (read.ok) res.end(`read ${read.body.length}`);
    else if (read.reason === 'too-large') {
      req.resume();
      res.writeHead(413).end('too large');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function post(chunks: Buffer[], headers: Record<string, string | number> = {}) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('readRequestBody', () => {
  it('reads a body up to the limit, in one or several chunks', async () => {
    expect(await post([Buffer.alloc(LIMIT)], { 'content-length': LIMIT })).toEqual({
      status: 200,
      text: `read ${LIMIT}`,
    });
    expect(await post([Buffer.alloc(10), Buffer.alloc(20)])).toEqual({ status: 200, text: 'read 30' });
  });

  it('refuses a declared Content-Length over the limit and still answers', async () => {
    const answer = await post([Buffer.alloc(LIMIT + 1)], { 'content-length': LIMIT + 1 });
    expect(answer).toEqual({ status: 413, text: 'too large' });
    expect(outcomes.at(-1)).toEqual({ ok: false, reason: 'too-large' });
  });

  it('refuses a chunked body once it passes the limit, and the answer still reaches the client', async () => {
    const answer = await post([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(600)]);
    expect(answer).toEqual({ status: 413, text: 'too large' });
  });

  it('says the client went away when the connection closes mid-body', async () => {
    const before = outcomes.length;
    await new Promise<void>((resolve) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': 500 } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100), () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    await expect.poll(() => outcomes.length).toBe(before + 1);
    expect(outcomes.at(-1)).toMatchObject({ ok: false, reason: 'aborted' });
  });
});
