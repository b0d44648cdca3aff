/**
 * @module bench/cases/scale
 * How cost grows with the work, each point one process of its own (so peak RSS is that work's):
 * - `pin --from-lock` and `check` over 1k, 10k and 100k documents (files of 100 documents each, so
 *   the largest file stays the same size while the total grows);
 * - `digest --from-file` over 100, 1k and 10k unique tags on the CNCF registry (requests counted by
 *   its proxy);
 * - the embedded registry's RSS while it receives and then serves one blob of growing size
 *   (sampled from /proc every 50 ms);
 * - `files` on gzip layers of 50 MiB, 500 MiB and 2 GiB from the CNCF registry.
 * Time and peak RSS (GNU time's maximum resident set size) per point, a growth check per curve
 * (cost per unit at the largest point over the smallest: 1.0 is linear; RSS at the largest over the
 * smallest: 1.0 is flat), and bench/scale.svg drawn from the same numbers. Quick mode uses smaller
 * points (a few minutes in all).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { parseReference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { pushFileBlob, writeManyFilesLayer, writeRandomFile } from '../lib/data.js';
import { removeTree, run, startServerChild } from '../lib/proc.js';
import type { Recorder } from '../lib/results.js';
import { seedTinyImages, stopDistribution } from '../lib/seed.js';
import { type Curve, writeScaleSvg } from '../lib/svg.js';

const MiB = 2 ** 20;

interface Sizes {
  documents: number[];
  tags: number[];
  registryBlobMiB: number[];
  layerMiB: number[];
}

const FULL_SIZES: Sizes = {
  documents: [1_000, 10_000, 100_000],
  tags: [100, 1_000, 10_000],
  registryBlobMiB: [64, 256, 1024],
  layerMiB: [50, 500, 2048],
};
const QUICK_SIZES: Sizes = {
  documents: [500, 2_000, 5_000],
  tags: [50, 200, 500],
  registryBlobMiB: [16, 64, 128],
  layerMiB: [8, 32, 64],
};

/** Time and peak RSS of one CLI process, through GNU time. */
async function measured(
  ctx: BenchContext,
  args: string[],
  options: { expectCode?: number[]; cwd?: string; nodeFlags?: string[] } = {},
): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  const [node, bin] = ctx.cli as [string, string];
  const argv = [node, ...(options.nodeFlags ?? []), bin, ...args];
  const res = await run('/usr/bin/time', ['-f', 'IMGDIGEST_BENCH %e %M', ...argv], {
    check: false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const allowed = options.expectCode ?? [0];
  const line = /IMGDIGEST_BENCH ([\d.]+) (\d+)/.exec(res.stderr);
  // GNU time reports the child's exit as its own: a code it did not expect is a failed run.
  if (!line || !allowed.includes(res.code ?? -1)) {
    throw new Error(`imgdigest ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim().slice(-300)}`);
  }
  return { seconds: Number(line[1]), rssMiB: Number(line[2]) / 1024, stdout: res.stdout };
}

export const scaleBenchmark: Benchmark = {
  id: 'scale',
  title: 'Scale curves: time and memory as the work grows',
  async run(ctx, rec) {
    if (!ctx.cli) throw new Error('no dist/ build: the CLI cannot run');
    const sizes = ctx.quick ? QUICK_SIZES : FULL_SIZES;
    rec.param('documents', sizes.documents.join(', '));
    rec.param('unique tags', sizes.tags.join(', '));
    rec.param('registry blob (MiB)', sizes.registryBlobMiB.join(', '));
    rec.param('files layer (MiB of gzip)', sizes.layerMiB.join(', '));
    rec.param('rounds', 1);
    const curves: Curve[] = [];
    curves.push(...(await documentCurves(ctx, rec, sizes.documents)));
    curves.push(...(await tagCurves(ctx, rec, sizes.tags)));
    curves.push(...(await registryCurves(ctx, rec, sizes.registryBlobMiB)));
    curves.push(...(await filesCurves(ctx, rec, sizes.layerMiB)));
    await mkdir(ctx.outDir, { recursive: true });
    await writeScaleSvg(join(ctx.outDir, 'scale.svg'), curves);
    rec.note(
      'Every point is one process and one round (the curves are about shape; the other benchmarks give repeated rounds). The plot, drawn by the benchmark from these numbers: [scale.svg](scale.svg) (log-log; dashed: linear time from the first point).',
    );
  },
};

/** Record one curve's points and its growth checks. */
function recordCurve(
  rec: Recorder,
  curve: Curve,
  target: { time?: number; rss?: number; rssLabel?: string },
): void {
  const first = curve.points[0]!;
  const last = curve.points.at(-1)!;
  for (const p of curve.points) {
    rec.measure(`${curve.id}.${p.x}.time`, `${curve.label}, ${p.label}: time`, 's', 'lower', [p.seconds]);
    rec.measure(`${curve.id}.${p.x}.rss`, `${curve.label}, ${p.label}: peak RSS`, 'MiB', 'lower', [p.rssMiB]);
  }
  const perUnit = last.seconds / last.x / (first.seconds / first.x);
  rec.check(
    `${curve.label}: time per unit at ${last.label} / at ${first.label}`,
    perUnit,
    `${perUnit.toFixed(2)}×`,
    target.time === undefined ? undefined : { atMost: target.time, text: `≤ ${target.time}× (linear: 1.0)` },
  );
  const rss = last.rssMiB / first.rssMiB;
  rec.check(
    `${curve.label}: peak RSS at ${last.label} / at ${first.label}`,
    rss,
    `${rss.toFixed(2)}× (${first.rssMiB.toFixed(0)} → ${last.rssMiB.toFixed(0)} MiB)`,
    target.rss === undefined
      ? undefined
      : { atMost: target.rss, text: target.rssLabel ?? `≤ ${target.rss}× (flat: 1.0)` },
  );
}

function deployment(i: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  labels: { app.kubernetes.io/name: app-${i} }
spec:
  template:
    spec:
      containers:
        - name: app
          image: ${image}
          resources: { limits: { cpu: 500m, memory: 256Mi } }
`;
}

async function documentCurves(ctx: BenchContext, rec: Recorder, counts: number[]): Promise<Curve[]> {
  const perFile = 100;
  const lock = join(ctx.tmp, 'scale-images.lock');
  const images = Array.from(
    { length: 1000 },
    (_, i) => `registry.example.com/team-${i % 37}/service-${i}:1.${i % 10}`,
  );
  await writeFile(
    lock,
    images.map((image) => `${image}@sha256:${createHash('sha256').update(image).digest('hex')}\n`).join(''),
  );
  const pin: Curve = {
    id: 'pin',
    label: 'pin --from-lock (files of 100 documents)',
    unit: 'documents',
    points: [],
  };
  const check: Curve = {
    id: 'check',
    label: 'check (files of 100 documents)',
    unit: 'documents',
    points: [],
  };
  for (const n of counts) {
    const dir = join(ctx.tmp, `scale-docs-${n}`);
    await mkdir(dir, { recursive: true });
    ctx.log(`scale: writing ${n} documents`);
    for (let f = 0; f * perFile < n; f++) {
      const docs: string[] = [];
      for (let d = f * perFile; d < Math.min(n, (f + 1) * perFile); d++)
        docs.push(deployment(d, images[d % images.length]!));
      await writeFile(join(dir, `apps-${String(f).padStart(5, '0')}.yaml`), docs.join('---\n'));
    }
    const label = `${n.toLocaleString('en-US')} documents`;
    ctx.log(`scale: pin and check over ${label}`);
    // pin prints every pinned file: to /dev/null through the shell is not needed, the output is discarded here.
    const p = await measured(ctx, ['pin', '-q', '-f', dir, '--from-lock', lock, '--check'], {
      expectCode: [1],
    });
    const changed = p.stdout.trim().split('\n').length;
    if (changed < n) throw new Error(`pin --check listed ${changed} changes for ${n} documents`);
    pin.points.push({ x: n, label, seconds: p.seconds, rssMiB: p.rssMiB });
    const c = await measured(ctx, ['check', '-q', '-f', dir], { expectCode: [1] });
    check.points.push({ x: n, label, seconds: c.seconds, rssMiB: c.rssMiB });
    if (n === counts.at(-1))
      await liveHeapChecks(ctx, rec, label, [pin, check], {
        pin: ['pin', '-q', '-f', dir, '--from-lock', lock, '--check'],
        check: ['check', '-q', '-f', dir],
      });
    await removeTree(dir);
  }
  recordCurve(rec, pin, { time: 1.5, rss: 1.5, rssLabel: '≤ 1.5× (bounded by the largest file: 1.0)' });
  recordCurve(rec, check, { time: 1.5, rss: 1.5, rssLabel: '≤ 1.5× (bounded by the largest file: 1.0)' });
  rec.note(
    'pin runs with `--check` (it lists what would change, one line per image, and writes nothing), from a lock of 1,000 images; check lists every unpinned image. Both exit 1 (findings), as expected.',
  );
  return [pin, check];
}

/**
 * Peak RSS follows V8's heap sizing as well as what a run keeps, so the largest point runs twice
 * more: with the old generation capped at 64 MiB (it completes only if what the run keeps fits:
 * a run that kept every file would not, nor one that keeps about 1 KB per finding for 100,000
 * findings), and with 4 MiB semi-spaces (how the RSS moves with the young generation's size).
 */
async function liveHeapChecks(
  ctx: BenchContext,
  rec: Recorder,
  label: string,
  curves: Curve[],
  argsOf: Record<string, string[]>,
): Promise<void> {
  for (const curve of curves) {
    const args = argsOf[curve.id]!;
    let completed = 1;
    try {
      await measured(ctx, args, { expectCode: [1], nodeFlags: ['--max-old-space-size=64'] });
    } catch {
      completed = 0;
    }
    rec.check(
      `${curve.label}: ${label} with the old generation capped at 64 MiB (--max-old-space-size=64)`,
      completed,
      completed ? 'completes' : 'runs out of memory',
      { equals: 1, text: 'completes (what it keeps is bounded)' },
    );
    const small = await measured(ctx, args, { expectCode: [1], nodeFlags: ['--max-semi-space-size=4'] });
    const first = curve.points[0]!;
    const ratio = small.rssMiB / first.rssMiB;
    rec.check(
      `${curve.label}: peak RSS at ${label} with 4 MiB semi-spaces / at ${first.label} (default)`,
      ratio,
      `${ratio.toFixed(2)}× (${first.rssMiB.toFixed(0)} → ${small.rssMiB.toFixed(0)} MiB)`,
    );
  }
}

async function tagCurves(ctx: BenchContext, rec: Recorder, counts: number[]): Promise<Curve[]> {
  const curve: Curve = { id: 'tags', label: 'digest --from-file (unique tags)', unit: 'tags', points: [] };
  const dist = await startDistribution({ auth: 'anonymous' });
  try {
    const max = Math.max(...counts);
    ctx.log(`scale: seeding ${max} tags`);
    const seeded = await seedTinyImages(dist.registryUrl, {
      repos: Math.ceil(max / 10),
      tagsPerRepo: 10,
      prefix: 'scale/app',
    });
    const requests: string[] = [];
    for (const n of counts) {
      const tags = seeded.slice(0, n);
      const list = join(ctx.tmp, `scale-tags-${n}.txt`);
      await writeFile(list, tags.map((t) => `${dist.host}/${t.repo}:${t.tag}\n`).join(''));
      dist.resetCounts();
      ctx.log(`scale: resolving ${n} tags`);
      const r = await measured(ctx, ['digest', '--from-file', list]);
      const lines = r.stdout.trimEnd().split('\n');
      tags.forEach((t, i) => {
        if (lines[i] !== `${dist.host}/${t.repo}:${t.tag} ${t.digest}`)
          throw new Error(`digest --from-file: line ${i + 1} is ${lines[i]}`);
      });
      const label = `${n.toLocaleString('en-US')} tags`;
      curve.points.push({ x: n, label, seconds: r.seconds, rssMiB: r.rssMiB });
      requests.push(`${label}: ${dist.requestLog.length} requests`);
      rec.measure(`tags.${n}.requests`, `${curve.label}, ${label}: registry requests`, 'requests', 'lower', [
        dist.requestLog.length,
      ]);
    }
    rec.note(
      `digest --from-file, requests through the CNCF registry's counting proxy (one GET /v2/ ping, then one HEAD per tag): ${requests.join('; ')}. Times include the process start and the proxy.`,
    );
  } finally {
    await stopDistribution(dist);
  }
  recordCurve(rec, curve, { time: 1.5 });
  return [curve];
}

/** Peak VmRSS of `pid` while `work` runs, sampled every 50 ms. */
async function peakRss(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kib);
  };
  await sample();
  const timer = setInterval(() => void sample(), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  await sample();
  return peak / 1024;
}

async function registryCurves(ctx: BenchContext, rec: Recorder, sizesMiB: number[]): Promise<Curve[]> {
  const push: Curve = {
    id: 'registry-push',
    label: 'embedded registry receiving a blob',
    unit: 'MiB',
    points: [],
  };
  const pull: Curve = {
    id: 'registry-pull',
    label: 'embedded registry serving a blob',
    unit: 'MiB',
    points: [],
  };
  for (const mib of sizesMiB) {
    const root = join(ctx.tmp, `scale-registry-${mib}`);
    const file = join(ctx.tmp, `scale-blob-${mib}.bin`);
    await mkdir(root, { recursive: true });
    ctx.log(`scale: embedded registry with a ${mib} MiB blob`);
    const blob = await writeRandomFile(file, mib * MiB);
    const child = await startServerChild(process.execPath, [
      join(ctx.root, 'bench', 'servers', 'child.js'),
      'registry',
      root,
    ]);
    const client = new RegistryClient({ anonymous: true });
    try {
      const repo = parseReference(`${child.info.host}/scale/blob`);
      const label = `${mib.toLocaleString('en-US')} MiB`;
      let t0 = performance.now();
      const upRss = await peakRss(child.pid, async () => {
        await client.pushBlob(repo, {
          digest: blob.digest,
          size: blob.size,
          open: () => createReadStream(file, { highWaterMark: MiB }),
        });
      });
      push.points.push({ x: mib, label, seconds: (performance.now() - t0) / 1000, rssMiB: upRss });
      t0 = performance.now();
      const downRss = await peakRss(child.pid, async () => {
        const reader = await client.getBlob(repo, { digest: blob.digest, size: blob.size });
        await pipeline(reader.stream, createWriteStream('/dev/null'));
      });
      pull.points.push({ x: mib, label, seconds: (performance.now() - t0) / 1000, rssMiB: downRss });
    } finally {
      await client.close();
      await child.stop();
      await removeTree(root);
      await rm(file, { force: true });
    }
  }
  const flat = { rss: 1.25, rssLabel: '≤ 1.25× (independent of blob size: 1.0)' };
  recordCurve(rec, push, flat);
  recordCurve(rec, pull, flat);
  rec.note(
    "Registry RSS is the server process's VmRSS, sampled every 50 ms while one client pushes (monolithic POST + PUT, streamed from disk) and then pulls (verified, to /dev/null) the blob; the time is the client's.",
  );
  return [push, pull];
}

async function filesCurves(ctx: BenchContext, rec: Recorder, sizesMiB: number[]): Promise<Curve[]> {
  const curve: Curve = {
    id: 'files',
    label: 'files on a gzip layer from the registry',
    unit: 'MiB',
    points: [],
  };
  const dist = await startDistribution({ proxy: false });
  try {
    const host = new URL(dist.registryUrl).host;
    for (const mib of sizesMiB) {
      const path = join(ctx.tmp, `scale-layer-${mib}.tar.gz`);
      ctx.log(`scale: writing a ${mib} MiB gzip layer`);
      const layer = await writeManyFilesLayer(path, mib * MiB);
      await pushFileBlob(dist.registryUrl, 'scale/layer', layer);
      await rm(path, { force: true });
      ctx.log(`scale: files on the ${mib} MiB layer`);
      const r = await measured(ctx, ['files', `${host}/scale/layer@${layer.digest}`]);
      const listed = r.stdout.length === 0 ? 0 : r.stdout.trimEnd().split('\n').length;
      if (listed < layer.entries / 2)
        throw new Error(`files listed ${listed} lines for ${layer.entries} entries`);
      curve.points.push({
        x: mib,
        label: `${mib.toLocaleString('en-US')} MiB`,
        seconds: r.seconds,
        rssMiB: r.rssMiB,
      });
    }
  } finally {
    await stopDistribution(dist);
  }
  recordCurve(rec, curve, { time: 1.5, rss: 1.5, rssLabel: '≤ 1.5× (streamed: 1.0)' });
  return [curve];
}
