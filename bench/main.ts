/**
 * @module bench/main
 * `npm run bench`: every benchmark against local servers on 127.0.0.1, several rounds
 * each, written to bench/RESULTS.md and bench/results.json. Not part of `npm test` and never a
 * pass/fail gate: targets the numbers miss are reported as "target missed".
 *
 * Flags: `--quick` (smaller inputs, fewer rounds; a few minutes on two cores),
 * `--only resolve,cli,...` (a subset), `--out DIR` (where to write the results; default bench/),
 * `--render` (run nothing: write RESULTS.md again from results.json with the current ANALYSIS.md).
 */
import { rmSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { blobBenchmark } from './cases/blob.js';
import { cliBenchmark } from './cases/cli.js';
import { copyBenchmark } from './cases/copy.js';
import { explorerBenchmark } from './cases/explorer.js';
import { filesBenchmark } from './cases/files.js';
import { pinBenchmark } from './cases/pin.js';
import { registryBenchmark } from './cases/registry.js';
import { resolveBenchmark } from './cases/resolve.js';
import { scaleBenchmark } from './cases/scale.js';
import { webhookBenchmark } from './cases/webhook.js';
import { zstdBenchmark } from './cases/zstd.js';
import { type BenchContext, type Benchmark, cliCommand, FULL, QUICK } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { run } from './lib/proc.js';
import { type RunReport, writeReport } from './lib/report.js';
import { Recorder } from './lib/results.js';

const BENCHMARKS: Benchmark[] = [
  resolveBenchmark,
  cliBenchmark,
  blobBenchmark,
  filesBenchmark,
  zstdBenchmark,
  pinBenchmark,
  webhookBenchmark,
  registryBenchmark,
  explorerBenchmark,
  copyBenchmark,
  scaleBenchmark,
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The newest modification time of the compiled sources under `dir` (tests excluded). */
async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  }
  return newest;
}

/** Build dist/ when a source is newer than the CLI entry point; null when there is no usable CLI. */
async function ensureBuild(notes: string[]): Promise<string[] | null> {
  const entry = join(root, 'dist', 'cli-bundle', 'main.js');
  const built = (() => {
    try {
      return statSync(entry).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (built >= (await newestSource(join(root, 'src')))) return cliCommand(root);
  log('dist/ is older than src/: npm run build');
  const res = await run('npm', ['run', 'build'], { cwd: root, check: false });
  if (res.code === 0) {
    notes.push('dist/ was older than src/ and was rebuilt (`npm run build`) before the run.');
    return cliCommand(root);
  }
  const why = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-2).join(' ');
  try {
    statSync(entry);
    notes.push(
      `\`npm run build\` reported errors (${why}); the CLI and server benchmarks used dist/ as it then was.`,
    );
    return cliCommand(root);
  } catch {
    notes.push(
      `\`npm run build\` failed (${why}) and there is no dist/: the CLI and server benchmarks cannot run.`,
    );
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      render: { type: 'boolean', default: false },
    },
  });
  if (values.render) {
    // The numbers stay those of the run; only the hand-written analysis is read again.
    const outDir = values.out ?? join(root, 'bench');
    const report = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as RunReport;
    const analysis = await readFile(join(root, 'bench', 'ANALYSIS.md'), 'utf8').catch(() => undefined);
    if (analysis) report.analysis = analysis;
    else delete report.analysis;
    const files = await writeReport(outDir, report);
    log(`wrote ${files.join(', ')} from the run of results.json`);
    return;
  }
  const quick = values.quick === true;
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((id) => !BENCHMARKS.some((b) => b.id === id)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `--only: unknown benchmark ${unknown.join(', ')} (known: ${BENCHMARKS.map((b) => b.id).join(', ')})`,
    );
  }
  const selected = only ? BENCHMARKS.filter((b) => only.includes(b.id)) : BENCHMARKS;
  const started = performance.now();
  const machine = await machineInfo(root);
  const notes: string[] = [];
  if (only) notes.push(`Only these benchmarks ran: ${selected.map((b) => b.id).join(', ')}.`);
  const tmp = await mkdtemp(join(tmpdir(), 'imgdigest-bench-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      process.exit(130);
    });
  }
  // The CLI benchmarks and the server children run the compiled dist/, as users do.
  const needsDist = selected.some((b) =>
    ['resolve', 'cli', 'files', 'webhook', 'registry', 'copy', 'scale'].includes(b.id),
  );
  const cli = needsDist ? await ensureBuild(notes) : cliCommand(root);
  const outDir = values.out ?? join(root, 'bench');
  const ctx: BenchContext = { quick, scale: quick ? QUICK : FULL, root, tmp, outDir, cli, log };
  log(`${quick ? 'quick' : 'full'} run of ${selected.map((b) => b.id).join(', ')} in ${tmp}`);

  const results = [];
  for (const bench of selected) {
    const rec = new Recorder(bench.id, bench.title);
    const t0 = performance.now();
    log(`${bench.id}: start`);
    try {
      await bench.run(ctx, rec);
    } catch (e) {
      rec.result.status = 'failed';
      rec.result.reason = (e as Error).message?.split('\n')[0] ?? String(e);
      log(`${bench.id}: FAILED: ${(e as Error).stack ?? e}`);
    }
    rec.result.seconds = (performance.now() - t0) / 1000;
    log(`${bench.id}: ${rec.result.status} in ${rec.result.seconds.toFixed(1)} s`);
    results.push(rec.result);
  }
  const flags = [quick ? '--quick' : '', only ? `--only ${selected.map((b) => b.id).join(',')}` : ''].filter(
    Boolean,
  );
  const command = flags.length > 0 ? `npm run bench -- ${flags.join(' ')}` : 'npm run bench';
  // The hand-written analysis is read when the report is written, so it can be edited during a run.
  const analysis = await readFile(join(root, 'bench', 'ANALYSIS.md'), 'utf8').catch(() => undefined);
  const files = await writeReport(outDir, {
    ...(analysis ? { analysis } : {}),
    mode: quick ? 'quick' : 'full',
    command,
    machine,
    notes,
    results,
    seconds: (performance.now() - started) / 1000,
  });
  log(`wrote ${files.join(', ')} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const r of results) {
    for (const c of r.checks) {
      const mark = c.met === undefined ? ' ' : c.met ? '✓' : '✗';
      log(`${mark} ${r.id}: ${c.label}: ${c.valueText}${c.target ? ` (target ${c.target})` : ''}`);
    }
    if (r.status !== 'ran') log(`✗ ${r.id}: ${r.status}: ${r.reason}`);
  }
}

main().catch((e: unknown) => {
  log(`bench failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
