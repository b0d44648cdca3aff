/**
 * Profiling harness (not part of `npm run bench`): the webhook's work per admission in one
 * process, without the network, against the minimal webhook's (bench/servers/child.js `minimal`)
 * and `JSON.parse` alone, in tight loops, variants alternated round by round; the minimum of the
 * rounds per variant is printed (a loop's minimum moves far less than a server's rate on this
 * machine). What the server adds around it (TLS, HTTP, the body reader) is not here.
 *
 *   node --import tsx bench/profile/admission.ts [--rounds 12] [--iterations 20000]
 */
import { openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openResolver } from '../../src/resolver/open.js';
import { type AdmissionDeps, type Decision, mutation, validate } from '../../src/webhook/admission.js';
import { defaultWebhookConfig } from '../../src/webhook/config.js';
import { admissionLog, createLogger } from '../../src/webhook/logging.js';
import { WebhookMetrics } from '../../src/webhook/metrics.js';
import { type AdmissionRequest, parseAdmissionReview, reviewResponseBody } from '../../src/webhook/review.js';
import { reviewBody } from '../cases/webhook.js';
import { benchResolution, minimalAdmission, minimalRecorder } from '../servers/minimal.js';
import { fastestRounds, formatMicros, loopOptions } from './loops.js';

const { rounds, iterations } = loopOptions();
const body = Buffer.from(reviewBody());

const config = defaultWebhookConfig();
const metrics = new WebhookMetrics({ processMetrics: false });
const resolver = await openResolver({
  base: benchResolution,
  onResult: metrics.resolverResult,
});
const deps: AdmissionDeps = { rules: config.rules, settings: config.webhook, resolver };
const logAdmission = admissionLog(createLogger({ destination: '/dev/null' }));
let sink = 0;

/**
 * The webhook's steps after the body is read, as server.ts takes them: a warm /mutate is decided
 * at once, like /validate; the answer is made, counted and its log line written (to /dev/null).
 */
function webhook(endpoint: 'validate' | 'mutate'): undefined | Promise<void> {
  const start = performance.now();
  const request = parseAdmissionReview(JSON.parse(body.toString('utf8')));
  const decided = endpoint === 'validate' ? validate(request, deps) : mutation(request, deps);
  if (decided instanceof Promise) return decided.then((d) => answer(endpoint, request, d, start));
  answer(endpoint, request, decided, start);
}

function answer(
  endpoint: 'validate' | 'mutate',
  request: AdmissionRequest,
  decision: Decision,
  start: number,
): void {
  const text = reviewResponseBody(decision.response);
  const ms = performance.now() - start;
  metrics.admission(endpoint, decision.verdict, ms / 1000);
  sink += text.length;
  logAdmission(endpoint, request, decision, ms);
}

// The minimal webhook's steps (bench/servers/minimal.js), its log lines written to /dev/null.
const record = minimalRecorder(openSync('/dev/null', 'a'));
function minimal(url: '/validate' | '/mutate'): void {
  const reply = minimalAdmission(url, body, performance.now(), record);
  if (!reply) throw new Error('not an AdmissionReview');
  sink += reply.text.length;
  reply.after();
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
const best = await fastestRounds(Object.keys(variants), rounds, iterations, async (name) => {
  const run = variants[name]!;
  for (let i = 0; i < iterations; i++) {
    const p = run();
    if (p instanceof Promise) await p;
  }
});
console.log(formatMicros(best));
await resolver.close();
if (sink === 0) console.log('');
