/**
 * Profiling harness (not part of `npm run bench`): the webhook's request handler, frame included
 * (routing, header checks, the body reader, the admission, the answer, the metric, the log line),
 * called in one process with stand-in request and response objects, against the minimal webhook's
 * handler called the same way: what each costs in JavaScript, without TLS, sockets or the HTTP
 * parser (which both servers share). Variants alternated round by round; minima printed.
 *
 *   node --import tsx bench/profile/frame.ts [--rounds 12] [--iterations 20000]
 */
import { EventEmitter } from 'node:events';
import { openSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
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

type Handler = (req: FakeRequest, res: FakeResponse) => void;
let captured: Handler | undefined;
const createServer = https.createServer;
(https as { createServer: unknown }).createServer = (options: object, handler: Handler) => {
  captured = handler;
  return createServer(options, handler as never);
};
syncBuiltinESMExports();
const { startWebhookServer } = await import('../../src/webhook/server.js');
const { generateCertificates, writeCertificates } = await import('../../src/webhook/certs.js');
const tmp = await mkdtemp(join(tmpdir(), 'frame-'));
await writeCertificates(tmp, await generateCertificates({ service: 'w', namespace: 'b' }));
const webhook = await startWebhookServer({
  addr: '127.0.0.1:0',
  tls: { certFile: join(tmp, 'tls.crt'), keyFile: join(tmp, 'tls.key') },
  log: { destination: '/dev/null' },
  resolveBase: async (reference) => ({
    reference,
    digest: DIGEST,
    kind: 'index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1024,
  }),
});
const webhookHandler = captured!;

/** Stand-ins for IncomingMessage and ServerResponse: what the handlers touch, nothing more. */
class FakeRequest extends EventEmitter {
  headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  method = 'POST';
  complete = false;
  constructor(readonly url: string) {
    super();
  }
  resume(): this {
    return this;
  }
}
class FakeResponse {
  headersSent = false;
  destroyed = false;
  status = 0;
  constructor(readonly done: () => void) {}
  writeHead(status: number, _headers: object): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  end(_body: string | Buffer): void {
    this.done();
  }
}

// The minimal webhook's handler (bench/servers/child.js), logging to /dev/null the same way.
const log = openSync('/dev/null', 'a');
let lines = '';
const writeLines = () => {
  const text = lines;
  lines = '';
  writeSync(log, text);
};
const counts = new Map<string, number>();
const bounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const buckets = new Array<number>(bounds.length + 1).fill(0);
const minimalHandler: Handler = (req, res) => {
  const start = performance.now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const request = review?.request;
    if (review?.kind !== 'AdmissionReview' || typeof request?.uid !== 'string') {
      res.writeHead(400, {});
      res.end('');
      return;
    }
    const containers = request.object?.spec?.containers ?? [];
    const response: Record<string, unknown> = { uid: request.uid, allowed: true };
    let verdict = 'allowed';
    if (req.url === '/mutate') {
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
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    const key = `${req.url} ${verdict}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const ms = performance.now() - start;
    let b = 0;
    while (b < bounds.length && ms / 1000 > bounds[b]!) b++;
    buckets[b]!++;
    if (lines === '') setImmediate(writeLines);
    lines += `${JSON.stringify({ level: 'info', time: Date.now(), endpoint: req.url.slice(1), uid: request.uid, kind: request.kind?.kind, namespace: request.namespace, objectName: request.name, operation: request.operation, verdict, durationMs: ms, msg: 'admission' })}\n`;
  });
};

/** One request through `handler`: resolves when the answer is sent. */
function one(handler: Handler, url: string): Promise<void> {
  return new Promise((resolve) => {
    const req = new FakeRequest(url);
    const res = new FakeResponse(resolve);
    handler(req, res);
    req.emit('data', body);
    req.complete = true;
    req.emit('end');
    req.emit('close');
  });
}

const variants: Record<string, () => Promise<void>> = {
  'minimal validate': () => one(minimalHandler, '/validate'),
  'webhook validate': () => one(webhookHandler, '/validate'),
  'minimal mutate': () => one(minimalHandler, '/mutate'),
  'webhook mutate': () => one(webhookHandler, '/mutate'),
};
await variants['webhook mutate']!(); // the resolver's cache warm, as in the bench
const best: Record<string, number> = {};
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(variants);
  for (const name of r % 2 ? names.reverse() : names) {
    const run = variants[name]!;
    const t0 = performance.now();
    // Eight in flight, as the bench's eight connections keep the server.
    for (let i = 0; i < iterations; i += 8)
      await Promise.all([run(), run(), run(), run(), run(), run(), run(), run()]);
    const us = ((performance.now() - t0) * 1000) / iterations;
    best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, us);
  }
}
console.log(
  Object.entries(best)
    .map(([n, us]) => `${n} ${us.toFixed(2)} µs`)
    .join('  '),
);
await webhook.close();
