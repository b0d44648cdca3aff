/**
 * @module bench/servers/minimal
 * The least a webhook can do that parses each review, decides on its images, answers, counts the
 * admission and logs one line for it, written plainly for the benchmark's one review: a
 * Deployment-made Pod whose containers name tags. `/validate` refuses each image without a digest,
 * `/mutate` pins each to BENCH_DIGEST; the answers are the webhook's own, byte for byte (the
 * benchmark checks). None of the webhook's rules, settings, limits, review checks, reference parsing,
 * init or ephemeral containers, owner or namespace rules: a floor, not a webhook.
 *
 * Shared by the `minimal` server of bench/servers/child.js and the in-process harnesses of
 * bench/profile (admission.ts, frame.ts), so that all three measure the same work.
 */
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The digest every reference resolves to: the webhook benchmark measures the webhook, not a registry. */
export const BENCH_DIGEST = `sha256:${'ab'.repeat(32)}`;

/** The webhook's registry in the benchmark (`resolveBase`): every reference names BENCH_DIGEST, at once. */
export async function benchResolution(reference) {
  return {
    reference,
    digest: BENCH_DIGEST,
    kind: 'index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1024,
  };
}

/**
 * The admission of one review body: the answer's text, or null when the body is not an
 * AdmissionReview (answered 400). `record` counts and logs it (see {@link minimalRecorder}).
 */
export function minimalAdmission(url, body, start, record) {
  const review = JSON.parse(body.toString('utf8'));
  const request = review?.request;
  if (review?.kind !== 'AdmissionReview' || typeof request?.uid !== 'string') return null;
  const containers = request.object?.spec?.containers ?? [];
  const response = { uid: request.uid, allowed: true };
  let verdict = 'allowed';
  if (url === '/mutate') {
    const ops = [];
    for (let i = 0; i < containers.length; i++) {
      const image = containers[i].image;
      if (!image.includes('@'))
        ops.push({ op: 'replace', path: `/spec/containers/${i}/image`, value: `${image}@${BENCH_DIGEST}` });
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
  return { text, after: () => record(url, verdict, request, performance.now() - start) };
}

/**
 * What happens after an answer: a counter per endpoint and verdict, a latency histogram, as plain
 * numbers, and one JSON log line, the lines gathered for up to 10 ms (or 64 KiB) and written in one
 * synchronous write to `fd`, as the webhook's logger does (src/webhook/logging.ts).
 */
export function minimalRecorder(fd) {
  let lines = '';
  let timer;
  const writeLines = () => {
    clearTimeout(timer);
    timer = undefined;
    const text = lines;
    lines = '';
    writeSync(fd, text);
  };
  const counts = new Map();
  const bounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
  const buckets = new Array(bounds.length + 1).fill(0);
  return (url, verdict, request, ms) => {
    const key = `${url} ${verdict}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    let b = 0;
    while (b < bounds.length && ms / 1000 > bounds[b]) b++;
    buckets[b]++;
    lines += `${JSON.stringify({ level: 'info', time: Date.now(), endpoint: url.slice(1), uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, objectName: request.name, operation: request.operation, verdict, durationMs: ms, msg: 'admission' })}\n`;
    if (lines.length >= 64 * 1024) writeLines();
    else if (timer === undefined) timer = setTimeout(writeLines, 10).unref();
  };
}

/** The minimal webhook's request handler (for `https.createServer`), counting and logging with `record`. */
export function minimalHandler(record) {
  return (req, res) => {
    const start = performance.now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const answer = minimalAdmission(req.url, Buffer.concat(chunks), start, record);
      if (!answer) {
        res.writeHead(400, {});
        res.end('');
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer.text),
      });
      res.end(answer.text);
      answer.after();
    });
  };
}
