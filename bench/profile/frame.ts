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
import { openSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reviewBody } from '../cases/webhook.js';
import { benchResolution, minimalHandler, minimalRecorder } from '../servers/minimal.js';
import { fastestRounds, formatMicros, loopOptions } from './loops.js';

const { rounds, iterations } = loopOptions();
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
  resolveBase: benchResolution,
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
const record = minimalRecorder(openSync('/dev/null', 'a'));
const minimal: Handler = minimalHandler(record);

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
  'minimal validate': () => one(minimal, '/validate'),
  'webhook validate': () => one(webhookHandler, '/validate'),
  'minimal mutate': () => one(minimal, '/mutate'),
  'webhook mutate': () => one(webhookHandler, '/mutate'),
};
await variants['webhook mutate']!(); // the resolver's cache warm, as in the bench
const best = await fastestRounds(Object.keys(variants), rounds, iterations, async (name) => {
  const run = variants[name]!;
  // Eight in flight, as the bench's eight connections keep the server.
  for (let i = 0; i < iterations; i += 8)
    await Promise.all([run(), run(), run(), run(), run(), run(), run(), run()]);
});
console.log(formatMicros(best));
await webhook.close();
