/**
 * Profiling harness (not part of `npm run bench`): ways of downloading and hashing the same blob
 * from the CNCF registry, interleaved round by round, each measured in client CPU per MiB (load
 * independent), system CPU, minor page faults per MiB, and MiB/s.
 * Usage: node --import tsx bench/profile/blob-variants.ts [MiB] [rounds] [names,...]
 * ARM=31 frees a 31 MiB block first (what core/heap.ts does); READBUF=BYTES sets socketOnread's
 * buffer, COPY=1 copies each of its reads into a fresh Buffer, READS=1 prints read counts.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RequestTarget } from '../../src/sources/registry/transport.js';
import { Agent, request } from '../../src/sources/registry/undici.js';
import { pushedBlob } from './pushed-blob.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const rounds = Number(process.argv[3] ?? 3);
const only = process.argv[4]?.split(',');
const pushed = await pushedBlob(size, 'blobv');
const { path, blob, client, repo } = pushed;
const agent = new Agent({ connections: 8 });
const READ = Number(process.env.READBUF ?? 256 * 1024);
const bigReads = new Agent({
  connections: 8,
  connect: {
    highWaterMark: Number(process.env.SOCKHWM ?? 4 * READ),
    onread: {
      buffer: process.env.COPYREAD ? Buffer.allocUnsafe(READ) : () => Buffer.allocUnsafe(READ),
      callback(this: { push(b: Buffer): boolean }, n: number, buf: Uint8Array) {
        return this.push(
          process.env.COPYREAD ? Buffer.from((buf as Buffer).subarray(0, n)) : (buf as Buffer).subarray(0, n),
        );
      },
    },
  } as never,
});
if (process.env.ARM) {
  // One large allocation, freed at the next GC: glibc raises its mmap threshold to its size and
  // its trim threshold to twice that.
  let big: Buffer | null = Buffer.allocUnsafeSlow(Number(process.env.ARM) * MiB);
  big[0] = 1;
  big = null;
}
try {
  const url = new URL(pushed.url);
  const check = (hex: string) => {
    if (`sha256:${hex}` !== blob.digest) throw new Error('hash differs');
  };
  const variants: Record<string, () => Promise<void>> = {
    file: async () => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
      check(hash.digest('hex'));
    },
    getBlobDevnull: async () => {
      const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
      await pipeline(reader.stream, createWriteStream('/dev/null'));
    },
    // the same, the file stream taking up to 1 MiB before it says wait (so writes batch into writev)
    getBlobDevnullHwm: async () => {
      const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
      await pipeline(reader.stream, createWriteStream('/dev/null', { highWaterMark: MiB }));
    },
    // the same with the default file stream, the chunks joined into 1 MiB pieces before it
    getBlobDevnullJoin: async () => {
      const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
      let parts: Buffer[] = [];
      let held = 0;
      const join = new Transform({
        transform(chunk: Buffer, _e, cb) {
          parts.push(chunk);
          held += chunk.length;
          if (held < MiB) return cb();
          const out = Buffer.concat(parts, held);
          parts = [];
          held = 0;
          cb(null, out);
        },
        flush(cb) {
          cb(null, held ? Buffer.concat(parts, held) : null);
        },
      });
      await pipeline(reader.stream, join, createWriteStream('/dev/null'));
    },
    // undici request() through an agent whose sockets read into fresh READBUF buffers
    requestBigReads: async () => {
      const res = await request(RequestTarget.of(url), {
        method: 'GET',
        dispatcher: bigReads,
        highWaterMark: 4 * MiB,
      } as never);
      const hash = createHash('sha256');
      for await (const chunk of res.body) hash.update(chunk as Buffer);
      check(hash.digest('hex'));
    },
    requestDefault: async () => {
      const res = await request(RequestTarget.of(url), {
        method: 'GET',
        dispatcher: agent,
        highWaterMark: 4 * MiB,
      } as never);
      const hash = createHash('sha256');
      for await (const chunk of res.body) hash.update(chunk as Buffer);
      check(hash.digest('hex'));
    },
    getBlobIter: async () => {
      const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
      for await (const _ of reader.stream);
    },
    // undici dispatch, a handler that hashes every chunk as the parser hands it over.
    dispatch: () =>
      new Promise<void>((resolve, reject) => {
        const hash = createHash('sha256');
        agent.dispatch(
          { origin: url.origin, path: url.pathname, method: 'GET', headers: { 'user-agent': 'x' } },
          {
            onRequestStart() {},
            onResponseStart() {},
            onResponseData(_c: unknown, chunk: Buffer) {
              hash.update(chunk);
            },
            onResponseEnd() {
              try {
                check(hash.digest('hex'));
                resolve();
              } catch (e) {
                reject(e);
              }
            },
            onResponseError(_c: unknown, e: Error) {
              reject(e);
            },
          } as never,
        );
      }),
    // the same, and every chunk written to /dev/null synchronously
    dispatchWrite: () =>
      new Promise<void>((resolve, reject) => {
        const hash = createHash('sha256');
        const fd = openSync('/dev/null', 'w');
        agent.dispatch(
          { origin: url.origin, path: url.pathname, method: 'GET', headers: { 'user-agent': 'x' } },
          {
            onRequestStart() {},
            onResponseStart() {},
            onResponseData(_c: unknown, chunk: Buffer) {
              hash.update(chunk);
              writeSync(fd, chunk);
            },
            onResponseEnd() {
              closeSync(fd);
              try {
                check(hash.digest('hex'));
                resolve();
              } catch (e) {
                reject(e);
              }
            },
            onResponseError(_c: unknown, e: Error) {
              reject(e);
            },
          } as never,
        );
      }),
    nodeHttp: async () => {
      const http = await import('node:http');
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, (res) => {
            const hash = createHash('sha256');
            res.on('data', (c: Buffer) => hash.update(c));
            res.on('end', () => {
              try {
                check(hash.digest('hex'));
                resolve();
              } catch (e) {
                reject(e);
              }
            });
          })
          .on('error', reject);
      });
    },
    // A bare TCP socket: request written by hand, headers skipped, the rest hashed. The floor for
    // anything that reads a socket in Node.
    socket: () =>
      new Promise<void>((resolve, reject) => {
        const hash = createHash('sha256');
        const s = connect(Number(url.port), url.hostname);
        let head = true;
        let got = 0;
        let reads = 0;
        s.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
        s.on('data', (c: Buffer) => {
          if (head) {
            const i = c.indexOf('\r\n\r\n');
            if (i < 0) return reject(new Error('headers split'));
            head = false;
            c = c.subarray(i + 4);
          }
          got += c.length;
          reads++;
          hash.update(c);
        });
        s.on('end', () => {
          try {
            if (process.env.READS)
              console.log(`data events ${reads}, ${Math.round(size / reads)} bytes each`);
            if (got !== size) throw new Error(`short ${got}`);
            check(hash.digest('hex'));
            resolve();
          } catch (e) {
            reject(e);
          }
        });
        s.on('error', reject);
      }),
    socketNoHash: () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(Number(url.port), url.hostname);
        let got = 0;
        s.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
        s.on('data', (c: Buffer) => {
          got += c.length;
        });
        s.on('end', () => (got > size ? resolve() : reject(new Error('short'))));
        s.on('error', reject);
      }),
    // A bare TCP socket reading into one reused buffer (net's `onread`), hashing every read.
    socketOnread: () =>
      new Promise<void>((resolve, reject) => {
        const hash = createHash('sha256');
        let head = true;
        let got = 0;
        let reads = 0;
        const s = connect({
          port: Number(url.port),
          host: url.hostname,
          onread: {
            buffer: process.env.FRESH
              ? () => Buffer.allocUnsafe(Number(process.env.READBUF ?? 256 * 1024))
              : Buffer.allocUnsafe(Number(process.env.READBUF ?? 256 * 1024)),
            callback(n: number, buf: Uint8Array) {
              reads++;
              let c = (buf as Buffer).subarray(0, n);
              if (head) {
                const i = c.indexOf('\r\n\r\n');
                if (i < 0) {
                  reject(new Error('headers split'));
                  return false;
                }
                head = false;
                c = c.subarray(i + 4);
              }
              got += c.length;
              if (process.env.COPY) c = Buffer.from(c);
              hash.update(c);
              return true;
            },
          },
        });
        s.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
        s.on('end', () => {
          try {
            if (got !== size) throw new Error(`short ${got}`);
            check(hash.digest('hex'));
            if (process.env.READS) console.log(`reads ${reads}, ${Math.round(size / reads)} bytes each`);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
        s.on('error', reject);
      }),
  };
  const names = Object.keys(variants).filter((n) => !only || only.includes(n));
  const r: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const sys: Record<string, number[]> = {};
  const pf: Record<string, number[]> = {};
  for (const n of names) {
    r[n] = [];
    cpu[n] = [];
    sys[n] = [];
    pf[n] = [];
    await variants[n]!();
  }
  for (let i = 0; i < rounds; i++) {
    for (const n of names) {
      const f0 = process.resourceUsage().minorPageFault;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await variants[n]!();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const faults = process.resourceUsage().minorPageFault - f0;
      sys[n]!.push(Math.round(c.system / (size / MiB)));
      pf[n]!.push(Math.round(faults / (size / MiB)));
      r[n]!.push(Math.round(size / MiB / (ms / 1000)));
      cpu[n]!.push(Math.round((c.user + c.system) / (size / MiB)));
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const n of names)
    console.log(
      `${n.padEnd(16)} MiB/s ${String(med(r[n]!)).padStart(5)} ${JSON.stringify(r[n])}  CPU µs/MiB ${String(med(cpu[n]!)).padStart(5)} ${JSON.stringify(cpu[n])} (system ${med(sys[n]!)})  page faults/MiB ${med(pf[n]!)}`,
    );
} finally {
  await agent.close();
  await bigReads.close();
  await pushed.close();
}
