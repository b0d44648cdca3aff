/**
 * @module bench/cases/blob
 * sha256 of a large blob streamed from the CNCF registry through `RegistryClient.getBlob` (which
 * verifies digest and size as the bytes flow), against Node and `openssl dgst -sha256` hashing the
 * same file on disk. The target compares like with like: the download read to the end and
 * written nowhere, as the file is hashed and written nowhere. The same download piped into a
 * /dev/null file stream with `imgdigest blob -o`'s 8 MiB buffer is reported beside it: what an
 * output file adds (a write through Node's thread pool per chunk), not the download. openssl is
 * measured as well, to show how much of the difference is the hashing, and a bare undici
 * GET of the same blob hashed on its way to /dev/null: a verified download as plain Node code
 * writes it, over HTTP with the registry's own CPU on the same cores (not a target: a reference
 * that pays what imgdigest pays and the file on disk does not). Last, the least any Node code can
 * spend on that download: one TCP socket, one GET, every read into the same 1 MiB buffer and
 * hashed there (no HTTP parser, no stream, no copy): how fast a download from this registry on
 * these cores can be in Node at all.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import type { Benchmark } from '../lib/context.js';
import { pushFileBlob, writeRandomFile } from '../lib/data.js';
import { run } from '../lib/proc.js';
import { stopDistribution } from '../lib/seed.js';

const MiB = 2 ** 20;

export const blobBenchmark: Benchmark = {
  id: 'blob',
  title: 'sha256 of a blob streamed from the registry',
  async run(ctx, rec) {
    const { blobBytes, bigRounds } = ctx.scale;
    rec.param('blob', `${blobBytes / MiB} MiB of random bytes`);
    rec.param('rounds', bigRounds);
    const path = join(ctx.tmp, 'blob.bin');
    const dist = await startDistribution({ proxy: false });
    const client = new RegistryClient({ anonymous: true });
    try {
      ctx.log(`blob: writing ${blobBytes / MiB} MiB`);
      const blob = await writeRandomFile(path, blobBytes);
      ctx.log('blob: pushing it to the CNCF registry');
      await pushFileBlob(dist.registryUrl, 'bench/blob', blob);
      const repo = parseReference(`${new URL(dist.registryUrl).host}/bench/blob`);
      const samples: Record<string, number[]> = {
        verified: [],
        imgdigest: [],
        openssl: [],
        node: [],
        undici: [],
        socket: [],
      };
      const blobUrl = `${dist.registryUrl}/v2/bench/blob/blobs/${blob.digest}`;
      const mibps = (ms: number) => blobBytes / MiB / (ms / 1000);
      const steps: Record<string, () => Promise<number>> = {
        verified: async () => {
          const t0 = performance.now();
          const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
          // Read to the end: the stream fails before its end if the bytes do not verify.
          for await (const _ of reader.stream) {
            // dropped, as the file row drops what it hashed
          }
          return performance.now() - t0;
        },
        imgdigest: async () => {
          const t0 = performance.now();
          const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
          // The sink takes 8 MiB before it says wait, as `imgdigest blob -o FILE` writes its file.
          await pipeline(reader.stream, createWriteStream('/dev/null', { highWaterMark: 8 * MiB }));
          return performance.now() - t0;
        },
        undici: async () => {
          const t0 = performance.now();
          const res = await request(blobUrl);
          if (res.statusCode !== 200) throw new Error(`GET ${blobUrl}: ${res.statusCode}`);
          const hash = createHash('sha256');
          const hashing = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              hash.update(chunk);
              done(null, chunk);
            },
          });
          await pipeline(res.body, hashing, createWriteStream('/dev/null'));
          if (`sha256:${hash.digest('hex')}` !== blob.digest)
            throw new Error('the bare GET hashed differently');
          return performance.now() - t0;
        },
        socket: async () => {
          const t0 = performance.now();
          const hex = await socketDownloadHash(new URL(blobUrl), blob.size);
          if (`sha256:${hex}` !== blob.digest) throw new Error('the socket download hashed differently');
          return performance.now() - t0;
        },
        openssl: async () => {
          const res = await run('openssl', ['dgst', '-sha256', path]);
          if (!res.stdout.trim().endsWith(blob.digest.slice('sha256:'.length))) {
            throw new Error(`openssl printed ${res.stdout.trim()}`);
          }
          return res.ms;
        },
        node: async () => {
          const t0 = performance.now();
          const hash = createHash('sha256');
          for await (const chunk of createReadStream(path, { highWaterMark: MiB }))
            hash.update(chunk as Buffer);
          if (`sha256:${hash.digest('hex')}` !== blob.digest)
            throw new Error('node hash of the file differs');
          return performance.now() - t0;
        },
      };
      // Untimed warm-up: the file and the registry's copy end up in the page cache for everyone.
      if (ctx.scale.warmUp) {
        await steps.openssl!();
        await steps.imgdigest!();
      }
      const names = Object.keys(steps);
      for (let round = 1; round <= bigRounds; round++) {
        ctx.log(`blob: round ${round}/${bigRounds}`);
        for (let k = 0; k < names.length; k++) {
          const name = names[(k + round) % names.length]!;
          samples[name]!.push(mibps(await steps[name]!()));
        }
      }
      rec.measure(
        'verified',
        'imgdigest RegistryClient.getBlob read to the end (verified sha256), written nowhere',
        'MiB/s',
        'higher',
        samples.verified!,
      );
      rec.measure(
        'imgdigest',
        'imgdigest RegistryClient.getBlob → /dev/null file stream, 8 MiB buffer as `blob -o` (verified sha256)',
        'MiB/s',
        'higher',
        samples.imgdigest!,
      );
      rec.measure('openssl', 'openssl dgst -sha256 FILE (from disk)', 'MiB/s', 'higher', samples.openssl!);
      rec.measure(
        'node',
        'Node createHash over the file on disk (no HTTP)',
        'MiB/s',
        'higher',
        samples.node!,
      );
      rec.ratio(
        'verified',
        'node',
        'imgdigest streamed and verified / Node hashing the file on disk, neither writing (MiB/s)',
        { atLeast: 0.9, text: '≥ 0.90×' },
      );
      rec.ratio(
        'imgdigest',
        'node',
        'imgdigest streamed into a /dev/null file stream, as `blob -o` writes / Node hashing the file on disk (MiB/s)',
      );
      rec.measure(
        'undici',
        'bare undici GET → sha256 → /dev/null (the same blob, the same registry)',
        'MiB/s',
        'higher',
        samples.undici!,
      );
      rec.ratio('verified', 'openssl', 'imgdigest streamed and verified / openssl on disk (MiB/s)');
      rec.ratio(
        'undici',
        'node',
        'bare undici GET hashed / Node hashing the file on disk (MiB/s), for reference',
      );
      rec.ratio(
        'imgdigest',
        'undici',
        'imgdigest streamed into /dev/null / bare undici GET hashed into /dev/null (MiB/s)',
      );
      rec.ratio('node', 'openssl', 'Node hashing the file / openssl (MiB/s), for reference');
      rec.measure(
        'socket',
        'raw TCP socket GET, each read hashed in one reused 1 MiB buffer (no HTTP parser, no stream)',
        'MiB/s',
        'higher',
        samples.socket!,
      );
      rec.ratio(
        'socket',
        'node',
        'raw socket download hashed / Node hashing the file on disk (MiB/s): how fast a download from this registry can be in Node',
      );
      rec.ratio('verified', 'socket', 'imgdigest streamed and verified / the raw socket download (MiB/s)');
      rec.note(
        "The file and the registry's copy are in the page cache (written and pushed just before, plus an untimed warm-up round in full mode): the numbers compare CPU paths (HTTP transfer + hashing vs hashing), not disks.",
      );
    } finally {
      await client.close();
      await stopDistribution(dist);
      await rm(path, { force: true });
    }
  },
};

/**
 * GET `url` over one plain TCP connection and hash the body as it arrives, every read landing in
 * the same 1 MiB buffer: the least a Node process can do to download and verify a blob. Only the
 * status line and the end of the headers are looked at (the registry answers `200` with a
 * Content-Length body; `Connection: close` ends it). Returns the hex sha256 of `size` body bytes.
 */
function socketDownloadHash(url: URL, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let head: Buffer | null = Buffer.alloc(0);
    let got = 0;
    const socket = connect({
      port: Number(url.port),
      host: url.hostname,
      onread: {
        buffer: Buffer.allocUnsafe(MiB),
        callback(n: number, buf: Uint8Array) {
          let chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (head) {
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return true;
            const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
            if (!/^HTTP\/1\.[01] 200 /.test(status)) {
              socket.destroy(new Error(`GET ${url.pathname}: ${status}`));
              return false;
            }
            chunk = head.subarray(end + 4);
            head = null;
          }
          got += chunk.length;
          hash.update(chunk);
          return true;
        },
      },
    });
    socket.on('error', reject);
    socket.on('end', () => {
      if (got !== size) reject(new Error(`GET ${url.pathname}: ${got} bytes, expected ${size}`));
      else resolve(hash.digest('hex'));
    });
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
  });
}
