/**
 * @module bench/cases/resolve
 * Resolve every tag of repos × tags tiny images on the CNCF registry, anonymous and with token
 * auth, and compare with: the registry's raw manifest-HEAD throughput at the same concurrency (the
 * ceiling: a bare undici loop; with token auth it first fetches one token per repository, timed
 * as imgdigest's are), `@snyk/docker-registry-v2-client`
 * getManifest per tag, and `skopeo inspect --format {{.Digest}}` per image on a sample. One extra
 * untimed run through the counting proxy counts the requests each tag costs, and what one platform
 * digest of a multi-platform index costs (crane's and regctl's counts for the same question are
 * read from their source: neither is installed here).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getManifest } from '@snyk/docker-registry-v2-client';
import autocannon from 'autocannon';
import { buildSampleImages } from '../../src/builder/index.js';
import { MANIFEST_ACCEPT } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { openResolver } from '../../src/resolver/open.js';
import { type Distribution, startDistribution } from '../../test/support/distribution.js';
import { pushWithClient } from '../../test/support/images.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { type HeadTarget, headLoop } from '../lib/head-loop.js';
import { mapLimit, run } from '../lib/proc.js';
import type { Recorder } from '../lib/results.js';
import { type SeededTag, seedTinyImages, shuffled, stopDistribution } from '../lib/seed.js';

type Mode = 'anonymous' | 'token';

export const resolveBenchmark: Benchmark = {
  id: 'resolve',
  title: 'Resolve many tags on the CNCF registry',
  async run(ctx, rec) {
    const { resolveRepos, tagsPerRepo, concurrency, rounds, skopeoSample } = ctx.scale;
    rec.param('repositories', resolveRepos);
    rec.param('tags', resolveRepos * tagsPerRepo);
    rec.param('concurrency', concurrency);
    rec.param('rounds', rounds);
    rec.param('skopeo sample (images per round)', skopeoSample);
    for (const mode of ['anonymous', 'token'] as const) {
      const dist = await startDistribution({ auth: mode });
      try {
        await runMode(ctx, rec, dist, mode);
      } finally {
        await stopDistribution(dist);
      }
    }
  },
};

async function runMode(ctx: BenchContext, rec: Recorder, dist: Distribution, mode: Mode): Promise<void> {
  const { resolveRepos, tagsPerRepo, concurrency, rounds, skopeoSample } = ctx.scale;
  const auth = mode === 'token' ? dist.credentials : undefined;
  ctx.log(`resolve/${mode}: seeding ${resolveRepos} × ${tagsPerRepo} images`);
  const seeded = await seedTinyImages(dist.registryUrl, {
    repos: resolveRepos,
    tagsPerRepo,
    ...(auth ? { auth } : {}),
  });
  const order = shuffled(seeded);
  const direct = new URL(dist.registryUrl).host;
  if (mode === 'anonymous') {
    await probeAutocannonHead(rec, dist.registryUrl, order[0]!);
    await countPlatformDigest(ctx, rec, dist);
  }

  const samples: Record<string, number[]> = {
    ceiling: [],
    coldCeiling: [],
    imgdigest: [],
    batch: [],
    snyk: [],
    skopeo: [],
  };
  const listFile = join(ctx.tmp, `resolve-${mode}.txt`);
  await writeFile(listFile, order.map((t) => `${direct}/${t.repo}:${t.tag}\n`).join(''));
  const skopeoImages = order.slice(0, skopeoSample);
  let skopeoPerImage: number[] = [];
  // The untimed counting runs come first: they also warm the registry (page cache) for every tool.
  const counts = await countRequests(ctx, dist, order, mode);
  const steps: Record<string, () => Promise<void>> = {
    ceiling: async () => {
      const { targets, ms } = await ceilingTargets(dist, order, mode);
      const ceiling = await headLoop(dist.registryUrl, targets, concurrency);
      if (ceiling.failed > 0) throw new Error(`ceiling loop: ${ceiling.failed} HEADs failed`);
      samples.ceiling!.push(rate(order.length, ms + ceiling.ms));
    },
    coldCeiling: async () => {
      const { targets, ms } = await ceilingTargets(dist, order, mode);
      const file = join(ctx.tmp, `resolve-${mode}-targets.txt`);
      await writeFile(file, targets.map((t) => `${t.path}\t${t.authorization ?? ''}\n`).join(''));
      const script = join(ctx.root, 'bench', 'servers', 'head-loop-process.js');
      const args = [script, dist.registryUrl, String(concurrency), file, MANIFEST_ACCEPT.join(', ')];
      const res = await run(process.execPath, args);
      if (res.stdout.trim() !== `${order.length} 0`) throw new Error(`cold ceiling: ${res.stdout.trim()}`);
      samples.coldCeiling!.push(rate(order.length, ms + res.ms));
    },
    imgdigest: async () => {
      samples.imgdigest!.push(
        rate(order.length, await resolveWithImgdigest(direct, order, mode, dist, concurrency)),
      );
    },
    batch: async () => {
      if (!ctx.cli) return;
      samples.batch!.push(rate(order.length, await resolveWithBatch(ctx.cli, listFile, order, direct, auth)));
    },
    snyk: async () => {
      samples.snyk!.push(rate(order.length, await resolveWithSnyk(direct, order, auth, concurrency)));
    },
    skopeo: async () => {
      const sk = await resolveWithSkopeo(direct, skopeoImages, auth, concurrency);
      samples.skopeo!.push(rate(skopeoImages.length, sk.ms));
      skopeoPerImage = skopeoPerImage.concat(sk.perImage);
    },
  };
  const names = Object.keys(steps);
  for (let round = 1; round <= rounds; round++) {
    ctx.log(`resolve/${mode}: round ${round}/${rounds}`);
    // A different tool goes first each round, so none always meets the registry right after another.
    for (let k = 0; k < names.length; k++) await steps[names[(k + round - 1) % names.length]!]!();
  }
  const label = mode === 'token' ? 'token auth' : 'anonymous';
  rec.measure(
    `${mode}.ceiling`,
    mode === 'token'
      ? `${label}: ceiling, raw loop: a token per repository, then the HEADs (undici, keep-alive)`
      : `${label}: ceiling, raw HEAD loop (undici Pool, keep-alive)`,
    'tags/s',
    'higher',
    samples.ceiling!,
  );
  rec.measure(
    `${mode}.coldCeiling`,
    `${label}: the same raw HEAD loop as a fresh node process (start-up included)`,
    'tags/s',
    'higher',
    samples.coldCeiling!,
  );
  rec.measure(
    `${mode}.imgdigest`,
    `${label}: imgdigest createResolver (RegistryClient)`,
    'tags/s',
    'higher',
    samples.imgdigest!,
  );
  if (samples.batch!.length > 0) {
    rec.measure(
      `${mode}.batch`,
      `${label}: imgdigest digest --from-file (one CLI process, start-up included)`,
      'tags/s',
      'higher',
      samples.batch!,
    );
  }
  rec.measure(
    `${mode}.snyk`,
    `${label}: @snyk/docker-registry-v2-client getManifest`,
    'tags/s',
    'higher',
    samples.snyk!,
  );
  rec.measure(
    `${mode}.skopeo`,
    `${label}: skopeo inspect --format {{.Digest}}, ${skopeoSample} images per round, ${concurrency} processes at once`,
    'tags/s',
    'higher',
    samples.skopeo!,
  );
  rec.measure(
    `${mode}.skopeo.per-image`,
    `${label}: skopeo inspect, wall time of one process`,
    'ms',
    'lower',
    skopeoPerImage,
  );
  rec.ratio(`${mode}.imgdigest`, `${mode}.ceiling`, `${label}: imgdigest / ceiling (tags/s)`, {
    atLeast: 0.95,
    text: '≥ 0.95×',
  });
  rec.ratio(`${mode}.batch`, `${mode}.ceiling`, `${label}: imgdigest digest --from-file / ceiling (tags/s)`, {
    atLeast: 0.9,
    text: '≥ 0.90×',
  });
  // Both fresh processes: what a user's one command costs beside a bare loop that also starts cold.
  rec.ratio(
    `${mode}.batch`,
    `${mode}.coldCeiling`,
    `${label}: imgdigest digest --from-file / the raw loop as a fresh process (tags/s)`,
  );
  rec.ratio(
    `${mode}.batch`,
    `${mode}.skopeo`,
    `${label}: imgdigest digest --from-file / skopeo inspect per reference (tags/s)`,
    { atLeast: 10, text: '≥ 10×' },
  );
  recordCounts(rec, mode, order, counts);
  rec.ratio(`${mode}.imgdigest`, `${mode}.snyk`, `${label}: imgdigest / snyk client (tags/s)`);
  rec.ratio(
    `${mode}.imgdigest`,
    `${mode}.skopeo`,
    `${label}: imgdigest / skopeo (tags/s, skopeo extrapolated)`,
  );
  const skopeoRate = rec.get(`${mode}.skopeo`)!.summary.median;
  rec.note(
    `${label}: skopeo inspected ${skopeoSample} images per round; at its median rate the ${order.length} tags would take ` +
      `${(order.length / skopeoRate).toFixed(1)} s (imgdigest: ${(order.length / rec.get(`${mode}.imgdigest`)!.summary.median).toFixed(2)} s).`,
  );
}

function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

/**
 * The HEAD targets of the ceiling loop, and how long making them took: with token auth, one token
 * per repository, fetched 8 at a time before the HEADs. That time counts in the ceiling's rate, as
 * imgdigest's token requests count in its own (the same 200 tokens; leaving them out made the
 * token ceiling one that no client could reach).
 */
async function ceilingTargets(
  dist: Distribution,
  order: readonly SeededTag[],
  mode: Mode,
): Promise<{ targets: HeadTarget[]; ms: number }> {
  const tokens = new Map<string, string>();
  const start = performance.now();
  if (mode === 'token') {
    const issuer = dist.tokenIssuer!;
    const basic = `Basic ${Buffer.from(`${dist.credentials.username}:${dist.credentials.password}`).toString('base64')}`;
    const repos = [...new Set(order.map((t) => t.repo))];
    await mapLimit(repos, 8, async (repo) => {
      const url = new URL(issuer.realm);
      url.searchParams.set('service', issuer.service);
      url.searchParams.set('scope', `repository:${repo}:pull`);
      const res = await fetch(url, { headers: { authorization: basic } });
      const body = (await res.json()) as { token?: string; access_token?: string };
      tokens.set(repo, `Bearer ${body.token ?? body.access_token}`);
    });
  }
  const ms = performance.now() - start;
  const targets = order.map((t) => {
    const path = `/v2/${t.repo}/manifests/${t.tag}`;
    const authorization = tokens.get(t.repo);
    return authorization ? { path, authorization } : { path };
  });
  return { targets, ms };
}

/** A fresh resolver (cold: ping, tokens and connections included) resolving every tag; returns ms. */
async function resolveWithImgdigest(
  host: string,
  order: readonly SeededTag[],
  mode: Mode,
  dist: Distribution,
  concurrency: number,
): Promise<number> {
  const start = performance.now();
  const resolver = await openResolver({
    concurrency,
    cache: { maxEntries: order.length * 2 },
    registry: {
      concurrency,
      ...(mode === 'token' ? { credentials: dist.credentials } : { anonymous: true }),
    },
  });
  try {
    await mapLimit(order, concurrency, async (t) => {
      const answer = await resolver.resolve(parseReference(`${host}/${t.repo}:${t.tag}`));
      if (answer.digest !== t.digest)
        throw new Error(`imgdigest: ${t.repo}:${t.tag} resolved to ${answer.digest}, expected ${t.digest}`);
    });
    return performance.now() - start;
  } finally {
    await resolver.close();
  }
}

/** `imgdigest digest --from-file` over every tag in one process; checks every line; returns ms. */
async function resolveWithBatch(
  cli: string[],
  listFile: string,
  order: readonly SeededTag[],
  host: string,
  auth: { username: string; password: string } | undefined,
): Promise<number> {
  const [node, bin] = cli as [string, string];
  const args = [bin, 'digest', '--from-file', listFile];
  if (auth) args.push('-u', auth.username, '--password-stdin');
  const res = await run(node, args, auth ? { input: auth.password } : {});
  const lines = res.stdout.trimEnd().split('\n');
  if (lines.length !== order.length) throw new Error(`batch: ${lines.length} lines for ${order.length} tags`);
  order.forEach((t, i) => {
    if (lines[i] !== `${host}/${t.repo}:${t.tag} ${t.digest}`)
      throw new Error(`batch: line ${i + 1} is ${lines[i]}`);
  });
  return res.ms;
}

async function resolveWithSnyk(
  host: string,
  order: readonly SeededTag[],
  auth: { username: string; password: string } | undefined,
  concurrency: number,
): Promise<number> {
  const options = { protocol: 'http:', acceptManifest: MANIFEST_ACCEPT.join(', ') };
  const start = performance.now();
  let wrong = 0;
  await mapLimit(order, concurrency, async (t) => {
    const m = await getManifest(host, t.repo, t.tag, auth?.username, auth?.password, options);
    if (m.manifestDigest !== t.digest) wrong++;
  });
  const ms = performance.now() - start;
  if (wrong > 0)
    throw new Error(`snyk client: ${wrong} of ${order.length} digests differ from the pushed manifests`);
  return ms;
}

async function resolveWithSkopeo(
  host: string,
  images: readonly SeededTag[],
  auth: { username: string; password: string } | undefined,
  concurrency: number,
): Promise<{ ms: number; perImage: number[] }> {
  const start = performance.now();
  const perImage = await mapLimit(images, concurrency, async (t) => {
    const args = ['inspect', '--tls-verify=false', '--format', '{{.Digest}}'];
    if (auth) args.push('--creds', `${auth.username}:${auth.password}`);
    const res = await run('skopeo', [...args, `docker://${host}/${t.repo}:${t.tag}`]);
    if (res.stdout.trim() !== t.digest)
      throw new Error(`skopeo: ${t.repo}:${t.tag} gave ${res.stdout.trim()}`);
    return res.ms;
  });
  return { ms: performance.now() - start, perImage };
}

interface RequestCounts {
  heads: number;
  gets: number;
  pings: number;
  unauthorized: number;
  total: number;
  tokens: number;
}

/** One untimed run of imgdigest and of the snyk client through the counting proxy. */
async function countRequests(
  ctx: BenchContext,
  dist: Distribution,
  order: readonly SeededTag[],
  mode: Mode,
): Promise<{ ours: RequestCounts; snyk: RequestCounts }> {
  const count = async (fn: () => Promise<unknown>) => {
    dist.resetCounts();
    const tokensBefore = dist.tokenIssuer?.count() ?? 0;
    await fn();
    const log = [...dist.requestLog];
    return {
      heads: log.filter((r) => r.method === 'HEAD' && r.path.includes('/manifests/')).length,
      gets: log.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length,
      pings: log.filter((r) => r.path === '/v2/' || r.path === '/v2').length,
      unauthorized: log.filter((r) => r.status === 401).length,
      total: log.length,
      tokens: (dist.tokenIssuer?.count() ?? 0) - tokensBefore,
    };
  };
  ctx.log(`resolve/${mode}: counting requests through the proxy`);
  const ours = await count(() => resolveWithImgdigest(dist.host, order, mode, dist, ctx.scale.concurrency));
  const snyk = await count(() =>
    resolveWithSnyk(dist.host, order, mode === 'token' ? dist.credentials : undefined, ctx.scale.concurrency),
  );
  return { ours, snyk };
}

/** What each tag cost in requests, against the target: one HEAD per tag, one token per repository. */
function recordCounts(
  rec: Recorder,
  mode: Mode,
  order: readonly SeededTag[],
  { ours, snyk }: { ours: RequestCounts; snyk: RequestCounts },
): void {
  const label = mode === 'token' ? 'token auth' : 'anonymous';
  const repos = new Set(order.map((t) => t.repo)).size;
  const perTag = ours.heads / order.length;
  rec.check(`${label}: imgdigest manifest HEADs per tag`, perTag, `${perTag.toFixed(2)} HEAD/tag`, {
    equals: 1,
    text: '1 per tag',
  });
  if (mode === 'token') {
    rec.check(
      `${label}: imgdigest token requests (${repos} repositories)`,
      ours.tokens,
      `${ours.tokens} tokens`,
      {
        atMost: repos,
        text: `one per repository (${repos})`,
      },
    );
  }
  const describe = (c: RequestCounts) =>
    `${c.total} registry requests for ${order.length} tags (${c.heads} manifest HEAD, ${c.gets} manifest GET, ` +
    `${c.pings} GET /v2/, ${c.unauthorized} answered 401) and ${c.tokens} token requests`;
  rec.note(`${label}: imgdigest sent ${describe(ours)}.`);
  rec.note(`${label}: the snyk client sent ${describe(snyk)}.`);
}

/**
 * Manifest requests per platform digest (`digest --platform`, `pin --platform`): a fresh resolver
 * per platform of the sample index, counted through the proxy. imgdigest answers from the index's
 * entry; crane and regctl fetch or HEAD the child as well (their code, cited in the note).
 */
async function countPlatformDigest(ctx: BenchContext, rec: Recorder, dist: Distribution): Promise<void> {
  ctx.log('resolve/anonymous: counting requests per platform digest');
  const sample = await buildSampleImages('bench-platform');
  await pushWithClient(new URL(dist.registryUrl).host, 'bench/platform', sample);
  let manifestRequests = 0;
  for (const image of sample.images) {
    const resolver = await openResolver({ registry: { anonymous: true } });
    dist.resetCounts();
    try {
      const answer = await resolver.resolve(parseReference(`${dist.host}/bench/platform:latest`), {
        platform: image.platformName,
      });
      if (answer.digest !== image.manifest.digest)
        throw new Error(`platform digest: ${image.platformName} gave ${answer.digest}`);
    } finally {
      await resolver.close();
    }
    manifestRequests += dist.requestLog.filter((r) => r.path.includes('/manifests/')).length;
  }
  const perDigest = manifestRequests / sample.images.length;
  rec.check(
    'imgdigest manifest requests per platform digest (index of 3 platforms)',
    perDigest,
    `${perDigest.toFixed(2)} requests`,
    { equals: 1, text: '1 (the index GET; the child is not fetched)' },
  );
  rec.note(
    'Manifest requests per platform digest, read from source, not measured (neither tool is installed here): ' +
      'crane digest --platform: 2 (GET of the index, then GET of the chosen child: pkg/crane/digest.go resolves ' +
      'desc.Image() and hashes its manifest); regctl manifest head (alias manifest digest) --platform: 3 (HEAD of the ' +
      'index, GET of the index to read its entries, HEAD of the child: cmd/regctl/manifest.go runManifestHead). ' +
      `imgdigest, measured: ${perDigest.toFixed(2)} (one GET of the index), besides the one GET /v2/ ping per process.`,
  );
}

/** Does autocannon count HEAD responses? (It is said not to; the answer is measured and reported, not assumed.) */
async function probeAutocannonHead(rec: Recorder, base: string, t: SeededTag): Promise<void> {
  const url = `${base}/v2/${t.repo}/manifests/${t.tag}`;
  const headers = { accept: MANIFEST_ACCEPT.join(', ') };
  const head = await autocannon({ url, method: 'HEAD', connections: 2, duration: 1, timeout: 1, headers });
  const get = await autocannon({ url, method: 'GET', connections: 2, duration: 1, headers });
  const counted = head['2xx'];
  rec.note(
    counted > 0
      ? `autocannon probe: 1 s of HEAD counted ${counted} 2xx answers (GET: ${get['2xx']}); the ceiling still uses the undici loop so both modes are measured the same way.`
      : `autocannon probe: 1 s of HEAD counted 0 answers (${head.timeouts} timeouts, ${head.errors} errors) while 1 s of GET counted ${get['2xx']}: autocannon cannot measure HEAD (its http-parser-js response parser is never told the request was a HEAD, so it waits for Content-Length bytes that never come), so the ceiling is a minimal undici keep-alive HEAD loop.`,
  );
}
