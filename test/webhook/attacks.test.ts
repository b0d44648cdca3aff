/**
 * The webhook under attack, on loopback: a review naming 2,000 tags on a registry that never
 * answers, objects naming more images than any workload does, and a review with 20,000
 * containers. What must hold: other registries and later reviews are served within the budget,
 * a registry that keeps timing out is not asked again for a while, and every answer and log line
 * stays small.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, type SampleImages } from '../../src/builder/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { parseWebhookConfig } from '../../src/webhook/config.js';
import { type AwkwardServer, startSilentRegistry } from '../support/awkward-servers.js';
import { freePort } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { admissionReview, decodePatch, startTestWebhook, type TestWebhook } from './support.js';

const BUDGET_MS = 1500;
const CONCURRENCY = 16;

function config(settings: Record<string, string | number>) {
  const lines = Object.entries({ resolutionBudgetMs: BUDGET_MS, ...settings }).map(
    ([k, v]) => `  ${k}: ${v}`,
  );
  return parseWebhookConfig(`webhook:\n${lines.join('\n')}\n`, 'test');
}

function podOf(images: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'many', namespace: 'team' },
    spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  };
}

/** The value of one series in a /metrics text (0 when absent). */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Wait for `check` to hold, polling; fail with `what` after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let registry: RunningRegistry;
let samples: SampleImages;
const started: Array<TestWebhook | AwkwardServer> = [];
async function webhook(settings: Record<string, string | number>): Promise<TestWebhook> {
  const t = await startTestWebhook({ config: config(settings), registry: { anonymous: true } });
  started.push(t);
  return t;
}
async function silent(): Promise<AwkwardServer> {
  const s = await startSilentRegistry();
  started.push(s);
  return s;
}

beforeAll(async () => {
  registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  samples = await buildSampleImages('app');
  await pushWithClient(registry.host, 'team/app', samples);
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
  await registry?.close();
  await cleanupTempDirs();
});

describe('webhook resolver starvation', () => {
  it('2,000 tags on a hanging registry hold no other registry and no later review; the hanging one then fails fast', async () => {
    const hanging = await silent();
    const t = await webhook({
      failureMode: 'allow',
      resolveConcurrency: CONCURRENCY,
      maxReferencesPerReview: 5000, // the attack itself, past the cap that would refuse it
      breakerFailures: 5,
      breakerCoolDownSeconds: 600,
    });
    const tags = Array.from({ length: 2000 }, (_, i) => `${hanging.host}/app:t${i}`);
    const flooding = t.post('/mutate', admissionReview(podOf(tags), { namespace: 'team' }));
    await until('the flood to reach the hanging registry', async () => hanging.requests.length > 0);

    // While the flood's resolutions hold the hanging registry's slots and 1,984 more wait for one,
    // a review naming another registry is pinned: within the budget, or it would be left unpinned.
    const healthy = `${registry.host}/team/app:1.0`;
    const pinned = [
      { op: 'replace', path: '/spec/containers/0/image', value: `${healthy}@${samples.tags['1.0']}` },
    ];
    const during = await t.post('/mutate', admissionReview(podOf([healthy]), { namespace: 'team' }));
    expect(decodePatch(during.json.response.patch)).toEqual(pinned);

    const flood = await flooding;
    expect(flood.json.response).toMatchObject({ allowed: true });
    expect(flood.json.response.warnings[0]).toContain('TIMEOUT');

    // The flood has been answered; its work on the hanging registry must not stand in the way
    // (another tag: not answered from the cache).
    const single = `${registry.host}/team/app:single`;
    const next = await t.post('/mutate', admissionReview(podOf([single]), { namespace: 'team' }));
    expect(decodePatch(next.json.response.patch)[0]?.value).toBe(`${single}@${samples.tags.single}`);
    // The admission's deadline reached the resolver: everything still queued was dropped unasked,
    // and the hanging registry saw one ping, shared by the resolutions that started.
    let text = (await t.get('/metrics')).text;
    expect(metric(text, 'imgdigest_webhook_resolutions_dropped_total')).toBe(2000 - CONCURRENCY);
    expect(hanging.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/']);

    // The registry client gives up on the ping (budget + 2 s); those failures open the circuit.
    const state = `imgdigest_webhook_registry_circuit_state{registry="${hanging.host}"}`;
    await until('the circuit to open', async () => metric((await t.get('/metrics')).text, state) === 1);
    expect(t.logs.find((l) => l.msg?.toString().startsWith('registry circuit open'))).toMatchObject({
      level: 'warn',
      registry: hanging.host,
      failures: 5,
    });

    // A later review on the hanging registry is answered at once, and the registry is not asked.
    const seen = hanging.requests.length;
    const later = await t.post(
      '/mutate',
      admissionReview(podOf([`${hanging.host}/app:later`]), { namespace: 'team' }),
    );
    expect(later.json.response.allowed).toBe(true);
    expect(later.json.response.warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^image left unpinned: container c0 ${hanging.host}/app:later: TIMEOUT: circuit open: `),
      ),
    ]);
    expect(hanging.requests.length).toBe(seen);
    text = (await t.get('/metrics')).text;
    expect(metric(text, 'imgdigest_webhook_registry_circuit_rejections_total')).toBe(1);
    // ... while the healthy registry is still served.
    const other = `${registry.host}/team/app:latest`;
    const again = await t.post('/mutate', admissionReview(podOf([other]), { namespace: 'team' }));
    expect(decodePatch(again.json.response.patch)[0]?.value).toBe(`${other}@${samples.tags.latest}`);
  });

  it('drops what an answered review queued: the hanging registry is asked nothing more once its slots free up', async () => {
    const hanging = await silent();
    const t = await webhook({
      failureMode: 'allow',
      resolveConcurrency: CONCURRENCY,
      maxReferencesPerReview: 5000,
      breakerFailures: 0, // no circuit breaker: what keeps the registry unasked is the drop alone
    });
    const tags = Array.from({ length: 2000 }, (_, i) => `${hanging.host}/app:t${i}`);
    const flood = await t.post('/mutate', admissionReview(podOf(tags), { namespace: 'team' }));
    expect(flood.json.response.allowed).toBe(true);
    // The resolutions that had started fail when the registry client gives up (budget + 2 s) and
    // free the registry's slots. Had the rest stayed queued, they would take those slots at once.
    const errors = async () =>
      metric((await t.get('/metrics')).text, 'imgdigest_webhook_registry_errors_total');
    await until('the started resolutions to fail', async () => (await errors()) >= CONCURRENCY);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await errors()).toBe(CONCURRENCY);
    expect(hanging.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/']);
    const text = (await t.get('/metrics')).text;
    expect(metric(text, 'imgdigest_webhook_resolutions_dropped_total')).toBe(2000 - CONCURRENCY);
    expect(metric(text, 'imgdigest_webhook_registry_circuit_rejections_total')).toBe(0);
  });

  it('sends nothing to a registry outside allowedRegistries: its images fail at once (failureMode), the others are pinned', async () => {
    const elsewhere = await silent();
    const allowed = `${registry.host}/team/app:1.0`;
    const outside = `${elsewhere.host}/app:1.0`;
    const body = admissionReview(podOf([allowed, outside]), { namespace: 'team' });
    const open = await webhook({ failureMode: 'allow', allowedRegistries: `['${registry.host}']` });
    const answer = await open.post('/mutate', body);
    expect(answer.json.response.allowed).toBe(true);
    // The allowed image is pinned; the other is left as it is, with a warning naming it.
    expect(decodePatch(answer.json.response.patch)).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: `${allowed}@${samples.tags['1.0']}` },
    ]);
    expect(answer.json.response.warnings.join('\n')).toContain(outside);
    const closed = await webhook({ failureMode: 'deny', allowedRegistries: `['${registry.host}']` });
    const denied = await closed.post('/mutate', body);
    expect(denied.json.response.allowed).toBe(false);
    expect(denied.json.response.status.message).toContain(outside);
    // Only the allowed registry's images: pinned as usual.
    const fine = await closed.post('/mutate', admissionReview(podOf([allowed]), { namespace: 'team' }));
    expect(decodePatch(fine.json.response.patch)[0]?.value).toBe(`${allowed}@${samples.tags['1.0']}`);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses or warns at once for an object naming more distinct images than maxReferencesPerReview, asking no registry', async () => {
    const hanging = await silent();
    const tags = Array.from({ length: 2000 }, (_, i) => `${hanging.host}/app:t${i}`);
    const deny = await webhook({ failureMode: 'deny' });
    const allow = await webhook({ failureMode: 'allow' });
    const body = admissionReview(podOf(tags), { namespace: 'team' });
    const [closed, open] = await Promise.all([deny.post('/mutate', body), allow.post('/mutate', body)]);
    expect(closed.json.response).toMatchObject({
      allowed: false,
      status: {
        code: 403,
        message:
          'cannot pin images to digests: the object names 2,000 distinct images to resolve, more than webhook.maxReferencesPerReview (256); none was resolved',
      },
    });
    expect(open.json.response.allowed).toBe(true);
    expect(open.json.response.patch).toBeUndefined();
    expect(open.json.response.warnings).toEqual([
      'images left unpinned: 2000 distinct images, more than maxReferencesPerReview 256',
    ]);
    expect(hanging.requests).toHaveLength(0);
    // Many containers naming the same few images are not what the limit is about.
    const same = Array.from({ length: 300 }, () => `${registry.host}/team/app:1.0`);
    const pinned = await deny.post('/mutate', admissionReview(podOf(same), { namespace: 'team' }));
    expect(decodePatch(pinned.json.response.patch)).toHaveLength(300);
  });
});

describe('webhook messages are bounded', () => {
  const COUNT = 20_000;

  it('a review with 20,000 containers gets a denial of the first 20 violations and a count of the rest', async () => {
    const images = Array.from({ length: COUNT }, (_, i) => `${registry.host}/team/app:v${i}`);
    const t = await webhook({ enforcement: 'deny' });
    const answer = await t.post('/validate', admissionReview(podOf(images), { namespace: 'team' }));
    const lines: string[] = answer.json.response.status.message.split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe(
      `[image-digest-required] container <c0> uses an image without a digest <${registry.host}/team/app:v0>`,
    );
    expect(lines[20]).toBe('... and 19,980 more violations');
    expect(JSON.stringify(answer.json).length).toBeLessThan(8 * 1024);
    const logged = t.logs.find((l) => l.msg === 'admission');
    expect(logged).toMatchObject({ verdict: 'denied', violations: COUNT });
  });

  it('warnings stay within what the API server passes on whole: 120 characters each, 4096 in all', async () => {
    const long = `${registry.host}/team/${'a'.repeat(100)}`; // past 120 with its message
    const images = Array.from({ length: COUNT }, (_, i) => `${long}:v${i}`);
    const t = await webhook({ enforcement: 'warn' });
    const answer = await t.post('/validate', admissionReview(podOf(images), { namespace: 'team' }));
    const warnings: string[] = answer.json.response.warnings;
    expect(answer.json.response.allowed).toBe(true);
    for (const w of warnings) expect(w.length).toBeLessThanOrEqual(120);
    expect(warnings.reduce((n, w) => n + w.length, 0)).toBeLessThanOrEqual(4096);
    expect(warnings.at(-1)).toBe(
      `... and ${(COUNT - warnings.length + 1).toLocaleString('en-US')} more violations`,
    );
    expect(warnings[0]).toMatch(/^container <c0> uses an image without a digest <.*:v0>$/);
  });

  it('a registry failure on 20,000 containers is reported in bounded messages, warnings, annotation and log line', async () => {
    const image = `127.0.0.1:${await freePort()}/team/app:1.0`; // nothing listens there
    const images = Array.from({ length: COUNT }, () => image);
    const deny = await webhook({ failureMode: 'deny' });
    const allow = await webhook({ failureMode: 'allow' });
    const body = admissionReview(podOf(images), { namespace: 'team' });
    const [closed, open] = await Promise.all([deny.post('/mutate', body), allow.post('/mutate', body)]);
    const message: string = closed.json.response.status.message;
    expect(message).toMatch(
      /^cannot pin 20,000 images to a digest: container c0 127\.0\.0\.1:\d+\/team\/app:1\.0: /,
    );
    expect(message).toMatch(/; \.\.\. and 19,980 more images$/);
    expect(message.length).toBeLessThan(21 * 260);
    const warnings: string[] = open.json.response.warnings;
    expect(warnings.reduce((n, w) => n + w.length, 0)).toBeLessThanOrEqual(4096);
    expect(warnings.at(-1)).toMatch(/^\.\.\. and [\d,]+ more images left unpinned$/);
    expect(open.json.response.auditAnnotations['resolve-error'].length).toBeLessThanOrEqual(4000);
    for (const t of [deny, allow]) {
      const line = t.logs.find((l) => l.msg === 'admission')!;
      expect(line.errors).toHaveLength(20);
      expect(line.errorCount).toBe(COUNT);
      expect(JSON.stringify(line).length).toBeLessThan(8 * 1024);
    }
  });
});
