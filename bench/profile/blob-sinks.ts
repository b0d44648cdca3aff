/**
 * Profiling harness (not part of `npm run bench`): what the consumer of a verified blob download
 * costs. The same blob from the CNCF registry through `getBlob`, read to the end and dropped
 * (`nosink`), piped into a /dev/null file stream with `blob -o`'s 8 MiB buffer (`sink`, what the
 * bench's `/dev/null` row does), piped into a Writable that drops each chunk at once (`nullw`),
 * against Node hashing the file from disk (`file`), rounds alternated. Prints MiB/s, client CPU
 * per MiB (all threads) and chunks per download.
 *
 *   node --import tsx bench/profile/blob-sinks.ts [MiB] [rounds]     (ONLY=nosink,file to pick)
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pushedBlob } from './pushed-blob.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const rounds = Number(process.argv[3] ?? 6);
const pushed = await pushedBlob(size, 'sinks');
const { path, blob, client, repo } = pushed;
try {
  const chunks: Record<string, number> = {};
  const count = (name: string) => {
    chunks[name] = (chunks[name] ?? 0) + 1;
  };
  const open = () => client.getBlob(repo, { digest: blob.digest, size: blob.size });
  const variants: Record<string, () => Promise<void>> = {
    nosink: async () => {
      for await (const _ of (await open()).stream) count('nosink');
    },
    sink: async () => {
      const reader = await open();
      reader.stream.on('data', () => count('sink'));
      await pipeline(reader.stream, createWriteStream('/dev/null', { highWaterMark: 8 * MiB }));
    },
    nullw: async () => {
      const drop = new Writable({
        highWaterMark: 8 * MiB,
        write(_chunk, _encoding, done) {
          count('nullw');
          done();
        },
      });
      await pipeline((await open()).stream, drop);
    },
    file: async () => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
      if (`sha256:${hash.digest('hex')}` !== blob.digest) throw new Error('the file hashed differently');
    },
  };
  const names = process.env.ONLY?.split(',') ?? Object.keys(variants);
  const rates: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (const name of names) {
    rates[name] = [];
    cpu[name] = [];
    await variants[name]!(); // warm-up
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? [...names].reverse() : names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await variants[name]!();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      rates[name]!.push(Math.round(size / MiB / (ms / 1000)));
      cpu[name]!.push(Math.round((c.user + c.system) / (size / MiB)));
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const name of names) {
    console.log(
      `${name.padEnd(7)} ${median(rates[name]!)} MiB/s, ${median(cpu[name]!)} µs CPU/MiB (medians), ` +
        `${Math.round((chunks[name] ?? 0) / (rounds + 1))} chunks per download; rounds ${JSON.stringify(rates[name])}`,
    );
  }
} finally {
  await pushed.close();
}
