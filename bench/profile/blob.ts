/**
 * Profiling harness (not part of `npm run bench`): a blob streamed from the CNCF registry through
 * `getBlob` (verified) against Node hashing the same file from disk, alternating; PROFILE=FILE
 * writes a CPU profile of the last imgdigest round. Usage: node --import tsx bench/profile/blob.ts [MiB] [rounds]
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { pushedBlob } from './pushed-blob.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const rounds = Number(process.argv[3] ?? 3);
const pushed = await pushedBlob(size, 'blob');
const { path, blob, client, repo, url } = pushed;
try {
  const sizes: number[] = [];
  const ours = async () => {
    const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
    if (process.env.SINK === 'devnull') await pipeline(reader.stream, createWriteStream('/dev/null'));
    else for await (const chunk of reader.stream) sizes.push((chunk as Buffer).length);
  };
  const node = async () => {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
    if (`sha256:${hash.digest('hex')}` !== blob.digest) throw new Error('hash differs');
  };
  const raw = async () => {
    const { request } = await import('undici');
    const res = await request(url, { maxRedirections: 0 } as never);
    let n = 0;
    for await (const chunk of res.body) n += (chunk as Buffer).length;
    if (n !== size) throw new Error('short');
  };
  const rawHash = async () => {
    const { request } = await import('undici');
    const res = await request(url, { maxRedirections: 0 } as never);
    const hash = createHash('sha256');
    for await (const chunk of res.body) hash.update(chunk as Buffer);
    if (`sha256:${hash.digest('hex')}` !== blob.digest) throw new Error('hash differs');
  };
  const nodeHttp = async () => {
    const http = await import('node:http');
    await new Promise<void>((resolve, reject) => {
      http
        .get(url, (res) => {
          const hash = createHash('sha256');
          res.on('data', (c: Buffer) => hash.update(c));
          res.on('end', () =>
            `sha256:${hash.digest('hex')}` === blob.digest ? resolve() : reject(new Error('differs')),
          );
        })
        .on('error', reject);
    });
  };
  const curl = async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('curl', ['-s', '-o', '/dev/null', url]);
  };
  const session = process.env.PROFILE ? new Session() : null;
  session?.connect();
  await session?.post('Profiler.enable');
  const r: Record<string, number[]> = { ours: [], node: [], raw: [], rawHash: [], nodeHttp: [], curl: [] };
  const cpu: Record<string, number[]> = { ours: [], node: [], raw: [], rawHash: [], nodeHttp: [], curl: [] };
  await ours();
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of [
      ['node', node],
      ['ours', ours],
      ['raw', raw],
      ['rawHash', rawHash],
      ['nodeHttp', nodeHttp],
      ['curl', curl],
    ] as const) {
      if (name === 'ours') await session?.post('Profiler.start');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      r[name]!.push(Math.round(size / MiB / (ms / 1000)));
      cpu[name]!.push(Math.round((c.user + c.system) / (size / MiB)));
      if (name === 'ours' && session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
      }
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  if (sizes.length > 0)
    console.log(
      `chunks: ${sizes.length}, median ${[...sizes].sort((a, b) => a - b)[sizes.length >> 1]} bytes`,
    );
  console.log(
    `MiB/s ${JSON.stringify(r)} client CPU µs/MiB ${JSON.stringify(cpu)} ratio ${(med(r.ours!) / med(r.node!)).toFixed(3)}`,
  );
} finally {
  await pushed.close();
}
