/**
 * Mutation against the real CNCF registry (Debian's docker-registry) through the real registry
 * client and resolver, and what happens when the registry is down, too slow for the budget, or
 * its token server fails: every admission still answers within the budget, as failureMode says.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import { parseWebhookConfig } from '../../src/webhook/config.js';
import { type Distribution, freePort, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { admissionReview, decodePatch, startTestWebhook, type TestWebhook } from './support.js';

/** Far below the slow registry's 10 s: a TIMEOUT in the answer can only come from the budget. */
const BUDGET_MS = 1000;

function config(failureMode: 'allow' | 'deny', extra = '') {
  return parseWebhookConfig(
    `${extra}\nwebhook:\n  failureMode: ${failureMode}\n  resolutionBudgetMs: ${BUDGET_MS}\n`,
    'test',
  );
}

function deploymentOf(image: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace: 'team' },
    spec: {
      selector: { matchLabels: { app: 'app' } },
      template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** A registry that accepts connections and never answers in time (each request waits `delayMs`). */
async function startSlowRegistry(
  delayMs: number,
): Promise<{ host: string; requests: () => number; stop(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    count++;
    const timer = setTimeout(() => {
      res.writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{}');
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!haveTools('docker-registry'))('webhook mutate with a real registry', () => {
  let registry: Distribution;
  let samples: SampleImages;
  const started: TestWebhook[] = [];
  const start = async (...args: Parameters<typeof startTestWebhook>) => {
    const t = await startTestWebhook(...args);
    started.push(t);
    return t;
  };

  beforeAll(async () => {
    registry = await startDistribution();
    samples = await buildSampleImages('app');
    await pushWithClient(registry.host, 'team/app', samples);
  });

  afterAll(async () => {
    await Promise.all(started.map((t) => t.close()));
    await registry?.stop();
    await cleanupTempDirs();
  });

  it('pins a tag to the index digest the registry serves, with one HEAD per tag, then from the cache', async () => {
    const t = await start({ config: config('deny') });
    const image = `${registry.host}/team/app:1.0`;
    registry.resetCounts();
    const answer = await t.post('/mutate', admissionReview(deploymentOf(image), { namespace: 'team' }));
    expect(answer.json.response.allowed).toBe(true);
    expect(decodePatch(answer.json.response.patch)).toEqual([
      {
        op: 'replace',
        path: '/spec/template/spec/containers/0/image',
        value: `${image}@${samples.tags['1.0']}`,
      },
    ]);
    expect(registry.counts()['HEAD /v2/team/app/manifests/1.0']).toBe(1);
    expect(registry.counts()['GET /v2/team/app/manifests/1.0'] ?? 0).toBe(0);
    const again = await t.post('/mutate', admissionReview(deploymentOf(image), { namespace: 'team' }));
    expect(again.json.response.patch).toBe(answer.json.response.patch);
    expect(registry.counts()['HEAD /v2/team/app/manifests/1.0']).toBe(1);
  });

  it('follows a config file: a new platform is used after the file changes, without a restart', async () => {
    const dir = await tempDir('webhook-config');
    const file = join(dir, 'rules.yaml');
    await writeFile(file, 'webhook:\n  failureMode: deny\n');
    const t = await start({ configFile: file, watch: { pollMs: 0 } });
    const image = `${registry.host}/team/app:latest`;
    const pin = async () =>
      decodePatch(
        (await t.post('/mutate', admissionReview(deploymentOf(image), { namespace: 'team' }))).json.response
          .patch,
      )[0]?.value;
    expect(await pin()).toBe(`${image}@${samples.tags.latest}`);
    await writeFile(file, 'platform: linux/arm64\nwebhook:\n  failureMode: deny\n');
    await t.wh.reload();
    expect(t.wh.config().rules.platform).toBe('linux/arm64');
    expect(await pin()).toBe(`${image}@${samples.images[1]!.manifest.digest}`);
    await writeFile(file, 'platform: [not, a, platform]\n');
    await t.wh.reload();
    expect(t.wh.config().rules.platform).toBe('linux/arm64'); // an invalid file is refused; the last good one stays
    expect(t.logs.some((l) => l.msg === 'config changed but is invalid; keeping the current one')).toBe(true);
  });

  it('registry down: allow answers unchanged with a warning and an audit annotation; deny names image and error', async () => {
    const port = await freePort(); // nothing listens here
    const image = `127.0.0.1:${port}/team/app:1.0`;
    const body = () => admissionReview(deploymentOf(image), { namespace: 'team' });
    const allow = await start({ config: config('allow') });
    const deny = await start({ config: config('deny') });
    const [open, closed] = await Promise.all([allow.post('/mutate', body()), deny.post('/mutate', body())]);
    expect(open.json.response).toMatchObject({ allowed: true });
    expect(open.json.response.patch).toBeUndefined();
    expect(open.json.response.warnings[0]).toMatch(
      new RegExp(`^image left unpinned: container app 127.0.0.1:${port}/team/app:1.0: `),
    );
    expect(open.json.response.auditAnnotations['resolve-error']).toContain(image);
    expect((await allow.get('/metrics')).text).toContain('imgdigest_webhook_registry_errors_total 1');
    expect(closed.json.response.allowed).toBe(false);
    expect(closed.json.response.status.message).toMatch(
      new RegExp(`^cannot pin an image to a digest: container app 127.0.0.1:${port}/team/app:1.0: [A-Z_]+: `),
    );
  });

  it('registry slower than the budget: the admission answers TIMEOUT at the budget, as failureMode says', async () => {
    const slow = await startSlowRegistry(10_000);
    try {
      const allow = await start({ config: config('allow') });
      const deny = await start({ config: config('deny') });
      const body = () => admissionReview(deploymentOf(`${slow.host}/team/app:1.0`), { namespace: 'team' });
      const [open, closed] = await Promise.all([allow.post('/mutate', body()), deny.post('/mutate', body())]);
      expect(slow.requests()).toBeGreaterThan(0);
      expect(open.json.response.allowed).toBe(true);
      expect(open.json.response.warnings[0]).toContain('TIMEOUT');
      expect(closed.json.response.allowed).toBe(false);
      expect(closed.json.response.status.message).toContain(
        `${slow.host}/team/app:1.0: TIMEOUT: no answer within the resolution budget`,
      );
    } finally {
      await slow.stop();
    }
  });

  it('token server failing: answers as failureMode says, then pins once it recovers', async () => {
    const tokened = await startDistribution({ auth: 'token', token: { anonymousPull: true } });
    try {
      await pushWithClient(tokened.host, 'team/app', samples, tokened.credentials);
      const image = `${tokened.host}/team/app:1.0`;
      const allow = await start({ config: config('allow') });
      const deny = await start({ config: config('deny') });
      tokened.tokenIssuer!.failNext(1000, 500);
      const body = () => admissionReview(deploymentOf(image), { namespace: 'team' });
      const [open, closed] = await Promise.all([allow.post('/mutate', body()), deny.post('/mutate', body())]);
      expect(tokened.tokenIssuer!.count()).toBeGreaterThan(0);
      expect(open.json.response).toMatchObject({ allowed: true });
      expect(open.json.response.patch).toBeUndefined();
      expect(closed.json.response.allowed).toBe(false);
      expect(closed.json.response.status.message).toContain(image);

      tokened.tokenIssuer!.failNext(0);
      const fresh = await start({ config: config('deny') });
      const ok = await fresh.post('/mutate', body());
      expect(decodePatch(ok.json.response.patch)[0]?.value).toBe(`${image}@${samples.tags['1.0']}`);
    } finally {
      await tokened.stop();
    }
  });
});
