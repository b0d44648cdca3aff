/**
 * A soak test of the webhook as it is deployed: `node bin/imgdigest.js webhook serve` in a process
 * of its own (so its resident memory is its own) with the Deployment's heap limit, on 127.0.0.1,
 * under a steady load of mixed validations and mutations of objects the size the API server sends
 * (about 20 KB: env, labels, the last-applied annotation). They name a thousand distinct tags on
 * the embedded registry (five times what the cache keeps, with a short TTL, so answers are evicted
 * and asked again all the time), tags that do not exist, and a registry that is down (its circuit
 * opens and closes).
 *
 * The resident set size (RSS) is read from /proc every second. After a warm-up (the cache and the
 * heap fill), RSS must stay within a bound of where it stood: garbage collection moves it by a few
 * megabytes either way, while a leak grows it with every admission. That memory bound is the only
 * assertion that depends on time; a slow machine sends fewer admissions (the load skips a tick
 * when 64 are in flight), which makes the test less sensitive, never wrong.
 *
 * By default the load runs 30 s, so every `npm test` checks it; `IMGDIGEST_SOAK=1` runs it for
 * three minutes. `IMGDIGEST_SOAK_REPORT=1` prints what was sent and the RSS samples.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { checkName } from '../../src/registry-server/names.js';
import { generateCertificates, writeCertificates } from '../../src/webhook/certs.js';
import { ensureBuilt, repoRoot } from '../support/build.js';
import { freePort } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { admissionReview } from './support.js';

const LONG = process.env.IMGDIGEST_SOAK === '1';
const RUN_MS = LONG ? 180_000 : 30_000;
/** Until the cache is full and the heap sized for the load (about 10 s here); then RSS holds. */
const WARM_UP_MS = 12_000;
/** Admissions per second, half validations and half mutations. */
const RATE = 50;
/** At most this many admissions in flight; a tick that finds them all busy is skipped. */
const MAX_IN_FLIGHT = 64;
/** Distinct tags on the registry: five times what the cache keeps. */
const TAGS = 1000;
const CACHE_ENTRIES = 200;
/**
 * How far RSS may grow past where it stood after the warm-up. A steady webhook moves by 2-5 MiB
 * here. One that keeps every request it is sent (tried by patching dist/ so) grew by 17 MiB in
 * the 650 admissions after the warm-up on a 2-core machine busy with other tests, and fails; a
 * leak of about 20 KB an admission reaches the bound, a smaller one only in the long run.
 */
const GROWTH_BOUND_BYTES = 12 * 1024 * 1024;
/**
 * V8 grows the young generation up to 16 MB a semi-space as it sees fit, some 20 s into the run
 * when this machine is idle and later when it is busy: a step of about 20 MB that says nothing
 * about leaks and would fall before or after the warm-up depending on the load. At 4 MB it is
 * sized within seconds; what leaks ends up in the old generation either way.
 */
const V8_FLAGS = ['--max-semi-space-size=4'];

/** The resident set size of a process, in bytes (Linux: /proc). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

/** A small deterministic generator, so a failing run sends the same objects again. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The value of one series in a /metrics text (0 when absent). */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

let registry: RunningRegistry;
let samples: SampleImages;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await ensureBuilt();
  registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  samples = await buildSampleImages('app');
  await pushWithClient(registry.host, 'team/app', samples);
  // Every tag names the sample index; tagged through the registry's own API, all at once.
  const tags = Array.from({ length: TAGS }, (_, i) => `s${i}`);
  await registry.registry.putManifest(
    checkName('team/app'),
    { tags },
    Buffer.from(samples.index.bytes),
    samples.index.mediaType,
  );
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await registry?.close();
  await cleanupTempDirs();
});

/** Start `imgdigest webhook serve` as a process; resolves with its URL once it listens. */
async function serve(dir: string, rules: string): Promise<{ process: ChildProcess; url: string }> {
  const home = await tempDir('soak-home');
  const proc = spawn(
    process.execPath,
    [
      ...V8_FLAGS,
      join(repoRoot, 'bin', 'imgdigest.js'),
      'webhook',
      'serve',
      '--addr=127.0.0.1:0',
      `--tls-cert=${dir}/tls.crt`,
      `--tls-key=${dir}/tls.key`,
      `--config=${rules}`,
      '--anonymous',
      '--log-level=warn',
    ],
    {
      // The heap limit the Deployment sets (deploy/base/deployment.yaml): a leak that reaches it
      // ends the process, which the exit code shows.
      env: { PATH: process.env.PATH, HOME: home, NODE_OPTIONS: '--max-old-space-size=192' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stdout!.resume(); // admission log lines: read and dropped
  proc.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4096);
  });
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', () => {
      const m = /listening on (https:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`webhook exited with ${code}: ${stderr}`)));
  });
  return { process: proc, url };
}

describe('webhook soak', () => {
  it(`keeps its resident memory flat over ${RUN_MS / 1000} s of mixed admissions at ${RATE}/s`, {
    timeout: RUN_MS + 60_000,
  }, async () => {
    const dir = await tempDir('soak');
    const certs = await generateCertificates({
      service: 'imgdigest-webhook',
      namespace: 'imgdigest-system',
      extraNames: ['127.0.0.1'],
    });
    await writeCertificates(dir, certs);
    const rules = join(dir, 'rules.yaml');
    await writeFile(
      rules,
      [
        'webhook:',
        '  enforcement: warn',
        '  failureMode: allow',
        '  resolutionBudgetMs: 2000',
        '  cacheTtlSeconds: 2',
        `  cacheMaxEntries: ${CACHE_ENTRIES}`,
        '  breakerFailures: 3',
        '  breakerCoolDownSeconds: 2',
        '',
      ].join('\n'),
    );
    const started = await serve(dir, rules);
    child = started.process;
    const { url } = started;
    const pid = child.pid!;

    const agent = new Agent({ connect: { ca: certs.caCert }, connections: 32 });
    const down = `127.0.0.1:${await freePort()}`; // nothing listens there
    const next = random(42);
    const imageOf = () => {
      const r = next();
      if (r < 0.8) return `${registry.host}/team/app:s${Math.floor(next() * TAGS)}`;
      if (r < 0.9) return `${registry.host}/team/app:missing${Math.floor(next() * 1e6)}`;
      if (r < 0.95) return `${down}/team/app:${Math.floor(next() * 100)}`;
      return `${registry.host}/team/app@${samples.index.digest}`;
    };
    let serial = 0;
    const objectOf = (): Record<string, unknown> => {
      const id = `${++serial}-${Math.floor(next() * 1e9).toString(36)}`;
      const containers = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => ({
        name: `c${i}`,
        image: imageOf(),
        env: Array.from({ length: 40 }, (_, e) => ({
          name: `SERVICE_${e}_URL`,
          value: `https://service-${e}.team.svc.cluster.local:8080/${id}`,
        })),
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
      }));
      const labels = { app: `app-${id}`, tier: 'backend', release: 'soak' };
      const spec = { containers };
      const object: Record<string, unknown> =
        next() < 0.5
          ? { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${id}`, labels }, spec }
          : {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: `d-${id}`, labels },
              spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec } },
            };
      // What `kubectl apply` records: the object once more, as a string.
      (object.metadata as Record<string, unknown>).annotations = {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(object),
      };
      return object;
    };

    const failures: string[] = [];
    const verdicts = new Map<string, number>();
    let inFlight = 0;
    let skipped = 0;
    let sent = 0;
    let bytes = 0;
    const send = async () => {
      const review = admissionReview(objectOf(), { namespace: 'team' });
      const uid = (review.request as { uid: string }).uid;
      const path = sent++ % 2 === 0 ? '/validate' : '/mutate';
      const body = JSON.stringify(review);
      bytes += body.length;
      try {
        const res = await request(`${url}${path}`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body,
        });
        const json = (await res.body.json()) as {
          response?: { uid?: string; allowed?: boolean; patch?: string; warnings?: string[] };
        };
        if (res.statusCode !== 200 || json.response?.uid !== uid || json.response.allowed !== true) {
          failures.push(`${path} ${res.statusCode} ${JSON.stringify(json).slice(0, 200)}`);
        }
        const verdict = `${path} ${json.response?.patch ? 'patched' : json.response?.warnings ? 'warned' : 'allowed'}`;
        verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      } catch (e) {
        failures.push(`${path} ${(e as Error).message}`);
      }
    };

    const rss: Array<{ at: number; bytes: number }> = [];
    const start = Date.now();
    await new Promise<void>((resolve) => {
      const load = setInterval(() => {
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped++;
          return;
        }
        inFlight++;
        void send().finally(() => inFlight--);
      }, 1000 / RATE);
      const sampler = setInterval(() => {
        void rssOf(pid).then((b) => rss.push({ at: Date.now() - start, bytes: b }));
        if (Date.now() - start >= RUN_MS) {
          clearInterval(load);
          clearInterval(sampler);
          resolve();
        }
      }, 1000);
    });
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 50));
    const metrics = await request(`${url}/metrics`, { dispatcher: agent }).then((r) => r.body.text());
    await agent.close();

    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);

    // Where RSS stood after the warm-up (the highest of the first three samples, so a heap still
    // settling does not count as growth), against the highest of the last five.
    const after = rss.filter((s) => s.at >= WARM_UP_MS);
    const first = Math.max(...after.slice(0, 3).map((s) => s.bytes));
    const last = Math.max(...after.slice(-5).map((s) => s.bytes));
    const report = JSON.stringify({
      sent,
      skipped,
      averageReviewBytes: Math.round(bytes / sent),
      verdicts: Object.fromEntries(verdicts),
      rssMiB: rss.map((s) => Math.round(s.bytes / 1048576)),
      warmUpSamples: rss.length - after.length,
      growthMiB: Math.round(((last - first) / 1048576) * 10) / 10,
    });
    if (process.env.IMGDIGEST_SOAK_REPORT === '1') console.error(report);
    expect(failures, report).toEqual([]);
    // Every kind of answer was given: pinned, left unpinned (missing tags, the registry that is
    // down), violations warned about; answers came from the cache and from the registry, and the
    // down registry's circuit refused resolutions without asking.
    for (const kind of ['/validate warned', '/mutate patched', '/mutate warned']) {
      expect(verdicts.get(kind) ?? 0, report).toBeGreaterThan(0);
    }
    expect(metric(metrics, 'imgdigest_webhook_resolver_cache_total{result="hit"}'), report).toBeGreaterThan(
      0,
    );
    expect(metric(metrics, 'imgdigest_webhook_resolver_cache_total{result="miss"}'), report).toBeGreaterThan(
      0,
    );
    expect(metric(metrics, 'imgdigest_webhook_registry_circuit_rejections_total'), report).toBeGreaterThan(0);
    expect(after.length, report).toBeGreaterThanOrEqual(8);
    expect(last - first, report).toBeLessThanOrEqual(GROWTH_BOUND_BYTES);
  });
});
