/**
 * @module bench/lib/head-loop
 * The ceiling for tag resolution: a minimal keep-alive loop that sends `HEAD
 * /v2/<repo>/manifests/<tag>` over an undici Pool with a fixed number of connections, and does
 * nothing else (no parsing, no auth handshake, tokens fetched beforehand). autocannon is not used
 * because it counts no HEAD responses at all (its response parser waits for the Content-Length
 * bytes a HEAD answer never carries; the resolve benchmark probes this on every run and reports it).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { MANIFEST_ACCEPT } from '../../src/core/media-types.js';
import { mapLimit } from './proc.js';

export interface HeadTarget {
  path: string;
  /** `Bearer ...` when the registry wants a token (fetched before timing starts). */
  authorization?: string;
}

export interface LoopResult {
  ms: number;
  ok: number;
  failed: number;
}

/** HEAD every target once with `concurrency` connections; times the whole set. */
export async function headLoop(
  origin: string,
  targets: readonly HeadTarget[],
  concurrency: number,
): Promise<LoopResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const accept = MANIFEST_ACCEPT.join(', ');
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  try {
    await mapLimit(targets, concurrency, async (t) => {
      const res = await pool.request({
        method: 'HEAD',
        path: t.path,
        // Without this undici closes the connection after every HEAD (a new connection each time).
        reset: false,
        headers: t.authorization ? { accept, authorization: t.authorization } : { accept },
      });
      await res.body.dump();
      if (res.statusCode === 200 && res.headers['docker-content-digest']) ok++;
      else failed++;
    });
    return { ms: performance.now() - start, ok, failed };
  } finally {
    await pool.close();
  }
}

/** Send HEADs for `seconds` with `concurrency` connections, cycling through `targets`: requests per second. */
export async function headRate(
  origin: string,
  targets: readonly HeadTarget[],
  concurrency: number,
  seconds: number,
): Promise<{ perSecond: number; ok: number; failed: number }> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const accept = MANIFEST_ACCEPT.join(', ');
  let ok = 0;
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = targets[next++ % targets.length]!;
          const res = await pool.request({
            method: 'HEAD',
            path: t.path,
            reset: false,
            headers: t.authorization ? { accept, authorization: t.authorization } : { accept },
          });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failed++;
        }
      }),
    );
    return { perSecond: (ok / (performance.now() - start)) * 1000, ok, failed };
  } finally {
    await pool.close();
  }
}
