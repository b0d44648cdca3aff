import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, LabelledCounts, WebhookMetrics } from './metrics.js';

/** Admissions as the server records them: endpoint, verdict, seconds (bounds, between, past the last). */
const ADMISSIONS = [
  ['validate', 'denied', 0.0012],
  ['mutate', 'patched', 0.003],
  ['validate', 'denied', 0.001],
  ['validate', 'allowed', 0.0004],
  ['mutate', 'failed-open', 2.5],
  ['validate', 'warned', 12],
  ['mutate', 'skipped', 0],
] as const;

/** The same observations through prom-client's own Counter and Histogram. */
async function promClientText(): Promise<{ text: string; json: unknown }> {
  const registry = new Registry();
  const counter = new Counter({
    name: 'imgdigest_webhook_admissions_total',
    help: 'Admission reviews answered, by endpoint and verdict.',
    labelNames: ['endpoint', 'verdict'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'imgdigest_webhook_admission_duration_seconds',
    help: 'Time from request arrival to answer, by endpoint.',
    labelNames: ['endpoint'],
    buckets: [...DURATION_BUCKETS],
    registers: [registry],
  });
  for (const [endpoint, verdict, seconds] of ADMISSIONS) {
    counter.inc({ endpoint, verdict });
    histogram.observe({ endpoint }, seconds);
  }
  return { text: await registry.metrics(), json: await registry.getMetricsAsJSON() };
}

describe('webhook metrics', () => {
  it('exports the admissions counter and latency histogram exactly as prom-client would', async () => {
    const metrics = new WebhookMetrics();
    for (const [endpoint, verdict, seconds] of ADMISSIONS) metrics.admission(endpoint, verdict, seconds);
    const expected = await promClientText();
    const { body } = await metrics.render();
    const ours = body.split('\n\n').slice(0, 2).join('\n\n');
    expect(`${ours}\n`).toBe(expected.text);
    const json = (await metrics.registry.getMetricsAsJSON()).slice(0, 2);
    expect(JSON.parse(JSON.stringify(json))).toEqual(JSON.parse(JSON.stringify(expected.json)));
    expect(body).toContain('imgdigest_webhook_admissions_total{endpoint="validate",verdict="denied"} 2');
    expect(body).toContain(
      'imgdigest_webhook_admission_duration_seconds_bucket{le="0.001",endpoint="validate"} 2',
    );
  });

  it('starts again from zero when the registry is reset', async () => {
    const metrics = new WebhookMetrics();
    metrics.admission('validate', 'denied', 0.002);
    metrics.registry.resetMetrics();
    let { body } = await metrics.render();
    expect(body).not.toContain('endpoint="validate"');
    metrics.admission('mutate', 'patched', 0.002);
    ({ body } = await metrics.render());
    expect(body).toContain('imgdigest_webhook_admissions_total{endpoint="mutate",verdict="patched"} 1');
    expect(body).toContain('imgdigest_webhook_admission_duration_seconds_count{endpoint="mutate"} 1');
  });

  it("exports the resolver's cache outcomes as prom-client's Counter would, and resets them", async () => {
    const events = ['miss', 'hit', 'hit', 'coalesced', 'hit', 'error', 'miss'] as const;
    const reference = new Registry();
    const counter = new Counter({
      name: 'imgdigest_webhook_resolver_cache_total',
      help: 'Tag resolutions by cache outcome: hit (cached), miss (registry asked), coalesced (joined one in flight).',
      labelNames: ['result'],
      registers: [reference],
    });
    const metrics = new WebhookMetrics();
    for (const event of events) {
      if (event !== 'error') counter.inc({ result: event });
      metrics.resolverResult(event);
    }
    const section = (text: string) =>
      text
        .split('\n\n')
        .find((s) => s.includes('# TYPE imgdigest_webhook_resolver_cache_total'))
        ?.trimEnd();
    const { body } = await metrics.render();
    expect(section(body)).toBe(section(await reference.metrics()));
    expect(body).toContain('imgdigest_webhook_resolver_cache_total{result="hit"} 3');
    expect(body).toContain('imgdigest_webhook_registry_errors_total 1');

    metrics.registry.resetMetrics();
    metrics.resolverResult('coalesced');
    const after = (await metrics.render()).body;
    expect(after).not.toContain('result="hit"');
    expect(after).toContain('imgdigest_webhook_resolver_cache_total{result="coalesced"} 1');
  });

  it('counts a labelled value as an addition, series in the order first counted', async () => {
    const counts = new LabelledCounts('c_total', 'help', [{ kind: 'a' }, { kind: 'b' }, { kind: 'c' }]);
    counts.inc(2);
    counts.inc(0);
    counts.inc(2);
    const { values } = await counts.metric.get();
    expect(values).toEqual([
      { labels: { kind: 'c' }, value: 2 },
      { labels: { kind: 'a' }, value: 1 },
    ]);
  });
});
