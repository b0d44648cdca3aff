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
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { benchResolution, minimalHandler, minimalRecorder } from './minimal.js';

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
    resolveBase: benchResolution,
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

/** The minimal webhook (bench/servers/minimal.js) as an https server, logging into /dev/null. */
async function startMinimalChild(certFile, keyFile) {
  const [cert, key] = await Promise.all([certFile, keyFile].map((f) => readFile(f)));
  const record = minimalRecorder(openSync('/dev/null', 'a'));
  const server = createServer({ cert, key }, minimalHandler(record));
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
