/**
 * @module bench/servers/child
 * Servers the benchmarks load from another process, so that the load generator (autocannon,
 * skopeo, the HEAD loop) and the server never share one event loop. Plain JavaScript over the
 * compiled dist/, run by plain `node` (no tsx loader in the server process), as users run it:
 *
 *   node bench/servers/child.js registry ROOT
 *   node bench/servers/child.js webhook CERT KEY
 *   node bench/servers/child.js bare CERT KEY VALIDATE_BODY MUTATE_BODY
 *   node bench/servers/child.js parsing CERT KEY VALIDATE_BODY MUTATE_BODY
 *   node bench/servers/child.js minimal CERT KEY
 *
 * The first stdout line is JSON with the server's `url` and `host`; SIGTERM closes it.
 */
import { openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';

/** The digest every reference resolves to: the webhook benchmark measures the webhook, not a registry. */
const BENCH_DIGEST = `sha256:${'ab'.repeat(32)}`;

async function startRegistryChild(root) {
  const { startRegistry } = await import('../../dist/registry-server/index.js');
  const reg = await startRegistry({ addr: '127.0.0.1:0', root });
  return { url: reg.url, close: () => reg.close() };
}

async function startWebhookChild(certFile, keyFile) {
  const { startWebhookServer } = await import('../../dist/webhook/server.js');
  return startWebhookServer({
    addr: '127.0.0.1:0',
    tls: { certFile, keyFile },
    // The production logging path (one JSON line per admission, buffered), into /dev/null.
    log: { destination: '/dev/null' },
    resolveBase: async (reference) => ({
      reference,
      digest: BENCH_DIGEST,
      kind: 'index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: 1024,
    }),
  });
}

/** Listen on a free loopback port; the server's `url`, and `close` that drops kept connections too. */
async function listening(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A bare Node https server that reads the request body and answers a fixed body per path. With
 * `parse`, it also JSON.parses the body (and refuses one that is not an AdmissionReview) before
 * answering: the least any admission webhook must do with a review.
 */
async function startBareChild(certFile, keyFile, validateFile, mutateFile, parse = false) {
  const [cert, key, validate, mutate] = await Promise.all(
    [certFile, keyFile, validateFile, mutateFile].map((f) => readFile(f)),
  );
  const server = createServer({ cert, key }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (parse) {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (review?.kind !== 'AdmissionReview') throw new Error('not an AdmissionReview');
      }
      const body = req.url === '/mutate' ? mutate : validate;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  return listening(server);
}

/**
 * The least a webhook can do that parses each review, decides on its images, answers, counts the
 * admission and logs one line for it, written plainly for the benchmark's one review: a
 * Deployment-made Pod whose containers name tags. `/validate` refuses each image without a digest,
 * `/mutate` pins each to BENCH_DIGEST; the answers are the webhook's own, byte for byte (the
 * benchmark checks). None of the webhook's rules, settings, limits, review checks, reference parsing,
 * init or ephemeral containers, owner or namespace rules: a floor, not a webhook.
 */
async function startMinimalChild(certFile, keyFile) {
  const [cert, key] = await Promise.all([certFile, keyFile].map((f) => readFile(f)));
  // One JSON line per admission, gathered over a turn of the event loop and written at its end in
  // one synchronous write, as the webhook's logger does; into /dev/null.
  const log = openSync('/dev/null', 'a');
  let lines = '';
  const writeLines = () => {
    const text = lines;
    lines = '';
    writeSync(log, text);
  };
  // A counter per endpoint and verdict, and a latency histogram, as plain numbers.
  const counts = new Map();
  const bounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
  const buckets = new Array(bounds.length + 1).fill(0);
  const server = createServer({ cert, key }, (req, res) => {
    const start = performance.now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const request = review?.request;
      if (review?.kind !== 'AdmissionReview' || typeof request?.uid !== 'string') {
        res.writeHead(400);
        res.end();
        return;
      }
      const containers = request.object?.spec?.containers ?? [];
      const response = { uid: request.uid, allowed: true };
      let verdict = 'allowed';
      if (req.url === '/mutate') {
        const ops = [];
        for (let i = 0; i < containers.length; i++) {
          const image = containers[i].image;
          if (!image.includes('@'))
            ops.push({
              op: 'replace',
              path: `/spec/containers/${i}/image`,
              value: `${image}@${BENCH_DIGEST}`,
            });
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
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      const key = `${req.url} ${verdict}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const ms = performance.now() - start;
      let b = 0;
      while (b < bounds.length && ms / 1000 > bounds[b]) b++;
      buckets[b]++;
      if (lines === '') setImmediate(writeLines);
      lines += `${JSON.stringify({ level: 'info', time: Date.now(), endpoint: req.url.slice(1), uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, objectName: request.name, operation: request.operation, verdict, durationMs: ms, msg: 'admission' })}\n`;
    });
  });
  return listening(server);
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  const arg = (i) => {
    if (args[i] === undefined) throw new Error(`${mode}: missing argument ${i + 1}`);
    return args[i];
  };
  const server =
    mode === 'registry'
      ? await startRegistryChild(arg(0))
      : mode === 'webhook'
        ? await startWebhookChild(arg(0), arg(1))
        : mode === 'bare' || mode === 'parsing'
          ? await startBareChild(arg(0), arg(1), arg(2), arg(3), mode === 'parsing')
          : mode === 'minimal'
            ? await startMinimalChild(arg(0), arg(1))
            : null;
  if (!server) throw new Error(`unknown mode ${mode}: registry, webhook, bare, parsing or minimal`);
  process.stdout.write(`${JSON.stringify({ url: server.url, host: new URL(server.url).host })}\n`);
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
