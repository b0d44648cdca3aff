/**
 * @module bench/cases/webhook-scale
 * The webhook's memory under a long load: `/mutate` at a fixed 1,000 req/s for 60 s (10 s with
 * `--quick`), each request naming images from a pool of 10,000 distinct tags, so the resolver cache
 * (bounded by `cacheMaxEntries`, 1,000 by default) is always full and always evicting. The child's
 * RSS is read from /proc once a second; the curve goes into the report as a table and as a small
 * SVG plot written beside it (bench/webhook-rss.svg). Goal: flat after warm-up (the first third).
 *
 * Called by the webhook benchmark with the webhook child it started (no second server).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchContext } from '../lib/context.js';
import type { Recorder } from '../lib/results.js';

const RATE = 1000;
const DISTINCT_IMAGES = 10_000;
/** The part of the run that is warm-up (the heap grows to its working size): the first third. */
const WARM_UP_SHARE = 1 / 3;

/** An AdmissionReview for a Pod whose two images are tags number `n` and `n + 1` of the pool. */
function reviewFor(n: number): string {
  const image = (i: number) => `registry.example.com/team/app-${i % DISTINCT_IMAGES}:1.0`;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: `app-${n}`,
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `app-${n}`, namespace: 'default' },
        spec: {
          containers: [
            { name: 'app', image: image(n) },
            { name: 'sidecar', image: image(n + 1) },
          ],
        },
      },
      oldObject: null,
      dryRun: false,
    },
  });
}

/** Resident set size of a process in MiB (Linux /proc), or undefined when it cannot be read. */
async function rssMiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** A small line plot of RSS over time, with axes and a dashed line at the warm-up mark. */
function svgPlot(points: ReadonlyArray<[number, number]>, seconds: number, warmUp: number): string {
  const W = 480;
  const H = 240;
  const left = 50;
  const bottom = 200;
  const top = 20;
  const right = 460;
  const maxY = Math.max(...points.map(([, y]) => y)) * 1.15;
  const x = (t: number) => left + ((right - left) * t) / seconds;
  const y = (v: number) => bottom - ((bottom - top) * v) / maxY;
  const line = points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => (maxY / 1.15) * f);
  const xTicks = Array.from({ length: 7 }, (_, i) => (seconds * i) / 6);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="12" text-anchor="middle" font-size="11">webhook RSS, /mutate at ${RATE} req/s, ${DISTINCT_IMAGES.toLocaleString('en-US')} distinct images</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="black"/>`,
    ...yTicks.map(
      (v) =>
        `<text x="${left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${v.toFixed(0)}</text><line x1="${left}" y1="${y(v).toFixed(1)}" x2="${right}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
    ),
    ...xTicks.map(
      (t) => `<text x="${x(t).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${t.toFixed(0)}</text>`,
    ),
    `<line x1="${x(warmUp).toFixed(1)}" y1="${top}" x2="${x(warmUp).toFixed(1)}" y2="${bottom}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">seconds of load</text>`,
    `<text x="12" y="${(top + bottom) / 2}" transform="rotate(-90 12 ${(top + bottom) / 2})" text-anchor="middle">RSS (MiB)</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line}"/>`,
    '</svg>',
    '',
  ];
  return out.join('\n');
}

/** Run the load against the webhook child at `url` (process `pid`) and record the curve. */
export async function webhookRssCurve(
  ctx: BenchContext,
  rec: Recorder,
  webhook: { url: string; pid: number },
): Promise<void> {
  if ((await rssMiB(webhook.pid)) === undefined) {
    rec.note('RSS curve not run: /proc/PID/status cannot be read on this system.');
    return;
  }
  const seconds = ctx.quick ? 15 : 60;
  const warmUp = seconds * WARM_UP_SHARE;
  ctx.log(`webhook: RSS over ${seconds} s of /mutate at ${RATE} req/s, ${DISTINCT_IMAGES} distinct images`);
  const bodies = Array.from({ length: DISTINCT_IMAGES }, (_, n) => reviewFor(n));
  let next = 0;
  const points: Array<[number, number]> = [];
  const started = Date.now();
  const sample = async () => {
    const rss = await rssMiB(webhook.pid);
    if (rss !== undefined) points.push([(Date.now() - started) / 1000, rss]);
  };
  await sample();
  const timer = setInterval(() => void sample(), 1000);
  const options = {
    url: `${webhook.url}/mutate`,
    method: 'POST',
    connections: 8,
    duration: seconds,
    overallRate: RATE,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % DISTINCT_IMAGES] }),
      },
    ],
  };
  let result: Awaited<ReturnType<typeof autocannon>>;
  try {
    result = await autocannon(options as Parameters<typeof autocannon>[0]);
  } finally {
    clearInterval(timer);
  }
  await sample();
  rec.param('RSS curve', `${seconds} s of /mutate at ${RATE} req/s over ${DISTINCT_IMAGES} distinct images`);
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
    rec.note(
      `RSS curve load: ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts.`,
    );
  }
  // The table: RSS at every tenth of the run (the sample nearest that time).
  const at = (t: number) =>
    points.reduce((best, p) => (Math.abs(p[0] - t) < Math.abs(best[0] - t) ? p : best), points[0]!)[1];
  const step = seconds / 6;
  for (let i = 0; i <= 6; i++) {
    const t = Math.round(step * i);
    rec.measure(`scale.rss.${t}s`, `webhook RSS after ${t} s of load`, 'MiB', 'lower', [at(t)]);
  }
  // Flat after warm-up: the last third's peak is no higher than the middle third's (10% slack for
  // the garbage collector's timing), so nothing grows with the number of requests served.
  const peakOf = (from: number, to: number) =>
    Math.max(...points.filter(([t]) => t >= from && t <= to).map(([, v]) => v));
  const middle = peakOf(warmUp, 2 * warmUp);
  const last = peakOf(2 * warmUp, seconds + 1);
  rec.measure('scale.rss.peak', 'webhook peak RSS after warm-up', 'MiB', 'lower', [Math.max(middle, last)]);
  rec.check(
    `webhook RSS, peak of the last third of the run vs the middle third (${DISTINCT_IMAGES.toLocaleString('en-US')} distinct images)`,
    last / middle,
    `${last.toFixed(1)} vs ${middle.toFixed(1)} MiB (${(last / middle).toFixed(2)}×)`,
    { atMost: 1.1, text: 'flat: ≤ 1.10×' },
  );
  rec.check(
    `RSS curve: rate achieved when asked for ${RATE} req/s (the load generator shares the cores)`,
    result.requests.average,
    `${result.requests.average.toFixed(0)} req/s`,
  );
  const file = join(ctx.root, 'bench', 'webhook-rss.svg');
  await writeFile(file, svgPlot(points, seconds, warmUp));
  rec.note(
    `RSS curve: the resolver cache holds at most cacheMaxEntries (1,000, the default) answers and cacheMaxBytes (16 MiB, the default; about 1.2 KiB per answer by its estimate, so the entry bound binds first here), so with ${DISTINCT_IMAGES.toLocaleString('en-US')} distinct images nine in ten lookups miss and evict; the base resolver answers at once (no registry), so the curve shows the webhook's own memory. Plot: ![webhook RSS over time](webhook-rss.svg) (bench/webhook-rss.svg, written by this run).`,
  );
}
