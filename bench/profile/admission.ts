/**
 * Profiling harness (not part of `npm run bench`): the webhook's work per admission in one
 * process, without the network, against the minimal webhook's (bench/servers/child.js `minimal`)
 * and `JSON.parse` alone, in tight loops, variants alternated round by round; the minimum of the
 * rounds per variant is printed (a loop's minimum moves far less than a server's rate on this
 * machine). What the server adds around it (TLS, HTTP, the body reader) is not here.
 *
 *   node --import tsx bench/profile/admission.ts [--rounds 12] [--iterations 20000]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openResolver } from '../../src/resolver/open.js';
import { type AdmissionDeps, mutate, validate } from '../../src/webhook/admission.js';
import { defaultWebhookConfig } from '../../src/webhook/config.js';
import { admissionLine } from '../../src/webhook/logging.js';
import { WebhookMetrics } from '../../src/webhook/metrics.js';
import { parseAdmissionReview, reviewResponseBody } from '../../src/webhook/review.js';
import { reviewBody } from '../cases/webhook.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    iterations: { type: 'string', default: '20000' },
  },
});
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);
const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const body = Buffer.from(reviewBody());

const config = defaultWebhookConfig();
const resolver = await openResolver({
  base: async (reference) => ({
    reference,
    digest: DIGEST,
    kind: 'index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1024,
  }),
});
const deps: AdmissionDeps = { rules: config.rules, settings: config.webhook, resolver };
const metrics = new WebhookMetrics({ processMetrics: false });
let sink = 0;

/** The webhook's steps after the body is read, as server.ts takes them (the log line made, not written). */
async function webhook(endpoint: 'validate' | 'mutate'): Promise<void> {
  const start = performance.now();
  const request = parseAdmissionReview(JSON.parse(body.toString('utf8')));
  const decision = endpoint === 'validate' ? validate(request, deps) : await mutate(request, deps);
  const text = reviewResponseBody(decision.response);
  const ms = performance.now() - start;
  metrics.admission(endpoint, decision.verdict, ms / 1000);
  sink += text.length + admissionLine(endpoint, request, decision, ms).length;
}

// The minimal webhook's steps (bench/servers/child.js), the same way.
const counts = new Map<string, number>();
const bounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const buckets = new Array<number>(bounds.length + 1).fill(0);
function minimal(url: '/validate' | '/mutate'): void {
  const start = performance.now();
  const review = JSON.parse(body.toString('utf8'));
  const request = review?.request;
  if (review?.kind !== 'AdmissionReview' || typeof request?.uid !== 'string') throw new Error('bad');
  const containers = request.object?.spec?.containers ?? [];
  const response: Record<string, unknown> = { uid: request.uid, allowed: true };
  let verdict = 'allowed';
  if (url === '/mutate') {
    const ops = [];
    for (let i = 0; i < containers.length; i++) {
      const image = containers[i].image;
      if (!image.includes('@'))
        ops.push({ op: 'replace', path: `/spec/containers/${i}/image`, value: `${image}@${DIGEST}` });
    }
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
      verdict = 'patched';
    }
  } else {
    const found = [];
    for (const c of containers) {
      if (!c.image.includes('@'))
        found.push(
          `[image-digest-required] container <${c.name}> uses an image without a digest <${c.image}>`,
        );
    }
    if (found.length > 0) {
      response.allowed = false;
      response.status = { code: 403, reason: 'Forbidden', message: found.join('\n') };
      verdict = 'denied';
    }
  }
  const text = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
  const key = `${url} ${verdict}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const ms = performance.now() - start;
  let b = 0;
  while (b < bounds.length && ms / 1000 > bounds[b]!) b++;
  buckets[b]!++;
  const line = JSON.stringify({
    level: 'info',
    time: Date.now(),
    endpoint: url.slice(1),
    uid: request.uid,
    kind: request.kind?.kind,
    namespace: request.namespace,
    objectName: request.name,
    operation: request.operation,
    verdict,
    durationMs: ms,
    msg: 'admission',
  });
  sink += text.length + line.length;
}

const variants: Record<string, () => unknown> = {
  parse: () => {
    sink += JSON.parse(body.toString('utf8')).kind.length;
  },
  'minimal validate': () => minimal('/validate'),
  'webhook validate': () => webhook('validate'),
  'minimal mutate': () => minimal('/mutate'),
  'webhook mutate': () => webhook('mutate'),
};
await webhook('mutate'); // the resolver's cache warm, as in the bench
const best: Record<string, number> = {};
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(variants);
  for (const name of r % 2 ? names.reverse() : names) {
    const run = variants[name]!;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      const p = run();
      if (p instanceof Promise) await p;
    }
    const us = ((performance.now() - t0) * 1000) / iterations;
    best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, us);
  }
}
console.log(
  Object.entries(best)
    .map(([n, us]) => `${n} ${us.toFixed(2)} µs`)
    .join('  '),
);
await resolver.close();
if (sink === 0) console.log('');
