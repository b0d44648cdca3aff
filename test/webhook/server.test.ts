/**
 * The webhook over real HTTPS (undici trusting the generated CA), with objects written by the real
 * kubectl, and the faults a webhook meets: malformed bodies, the wrong AdmissionReview version,
 * wrong content types, oversized bodies, slow clients, and a thousand admissions at once.
 */
import { connect as netConnect } from 'node:net';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/webhook/logging.js';
import { recordingBase } from '../support/fake-resolver.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { type KubeDiscovery, kubectl, startKubeDiscovery } from './kube-discovery.js';
import { admissionReview, applyPatch, decodePatch, startTestWebhook, type TestWebhook } from './support.js';

const DIGEST = `sha256:${'5e'.repeat(32)}` as const;

describe.skipIf(!haveTools('kubectl'))('webhook server', () => {
  let discovery: KubeDiscovery;
  let t: TestWebhook;
  const resolved: string[] = [];
  const objects: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    discovery = await startKubeDiscovery();
    const json = async (args: string[]) =>
      JSON.parse(await kubectl(discovery.url, [...args, '--dry-run=client', '-o', 'json']));
    [objects.deployment, objects.job, objects.cronjob, objects.pod] = await Promise.all([
      json(['create', 'deployment', 'web', '--image=nginx:1.27', '--image=busybox:1.36', '-n', 'shop']),
      json(['create', 'job', 'migrate', '--image=registry.example.com/tools/migrate:2.1', '-n', 'shop']),
      json(['create', 'cronjob', 'report', '--image=busybox:1.36', '--schedule=*/5 * * * *', '-n', 'shop']),
      json(['run', 'debug', '--image=busybox:1.36', '-n', 'shop']),
    ]);
    const base = recordingBase(DIGEST, resolved);
    t = await startTestWebhook({
      resolveBase: base,
      limits: {
        headersTimeoutMs: 800,
        requestTimeoutMs: 1500,
        handshakeTimeoutMs: 800,
        connectionsCheckingIntervalMs: 100,
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await discovery?.stop();
    await cleanupTempDirs();
  });

  it('validate: answers 200 with the same apiVersion and uid, denying each kubectl-made workload with tags', async () => {
    const expected: Record<string, string[]> = {
      deployment: [
        'container <nginx> uses an image without a digest <nginx:1.27>',
        'container <busybox> uses an image without a digest <busybox:1.36>',
      ],
      job: ['container <migrate> uses an image without a digest <registry.example.com/tools/migrate:2.1>'],
      cronjob: ['container <report> uses an image without a digest <busybox:1.36>'],
      pod: ['container <debug> uses an image without a digest <busybox:1.36>'],
    };
    for (const [name, object] of Object.entries(objects)) {
      const body = admissionReview(object, { namespace: 'shop' });
      const uid = (body.request as { uid: string }).uid;
      const answer = await t.post('/validate', body);
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid, allowed: false },
      });
      expect(answer.json.response.status.code).toBe(403);
      expect(answer.json.response.status.message.split('\n')).toEqual(
        expected[name]!.map((m) => `[image-digest-required] ${m}`),
      );
    }
  });

  it('mutate: its patch applies to the kubectl objects, pins every tag, and the result then validates', async () => {
    for (const object of Object.values(objects)) {
      const answer = await t.post('/mutate', admissionReview(object, { namespace: 'shop' }));
      expect(answer.status).toBe(200);
      expect(answer.json.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
      const patched = applyPatch(object, decodePatch(answer.json.response.patch));
      const images = JSON.stringify(patched).match(/"image":"[^"]+"/g)!;
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(image).toMatch(new RegExp(`:[\\w.]+@${DIGEST}"$`));
      const check = await t.post('/validate', admissionReview(patched, { namespace: 'shop' }));
      expect(check.json.response.allowed).toBe(true);
    }
    expect(new Set(resolved)).toEqual(
      new Set([
        'docker.io/library/nginx:1.27',
        'docker.io/library/busybox:1.36',
        'registry.example.com/tools/migrate:2.1',
      ]),
    );
  });

  it('logs one JSON line per admission with its identity and verdict, never the object', async () => {
    const body = admissionReview(objects.deployment!, { namespace: 'shop' });
    const uid = (body.request as { uid: string }).uid;
    await t.post('/validate', body);
    const line = t.logs.find((l) => l.uid === uid);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'admission',
      endpoint: 'validate',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'imgdigest-webhook',
      objectName: 'web',
      operation: 'CREATE',
      verdict: 'denied',
      violations: 2,
    });
    expect(typeof line?.durationMs).toBe('number');
    expect(JSON.stringify(line)).not.toContain('nginx');
  });

  it('answers 400 for malformed bodies and the wrong AdmissionReview version, 415 for other types', async () => {
    const bad = await t.post('/validate', '{"apiVersion": "admission.k8s.io/v1", ');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(bad.json.message).toMatch(/^the body is not valid JSON/);

    const v1beta1 = { ...admissionReview(objects.pod!), apiVersion: 'admission.k8s.io/v1beta1' };
    const old = await t.post('/mutate', v1beta1);
    expect(old.status).toBe(400);
    expect(old.json.message).toBe(
      'apiVersion "admission.k8s.io/v1beta1" is not supported: only admission.k8s.io/v1 is accepted (set admissionReviewVersions: [v1] in the WebhookConfiguration)',
    );
    expect(
      (await t.post('/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })).json
        .message,
    ).toBe('AdmissionReview has no request');
    const text = await t.post('/validate', JSON.stringify(admissionReview(objects.pod!)), {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    expect((await t.get('/validate')).status).toBe(405);
    expect((await t.get('/nope')).status).toBe(404);
    expect(await t.get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    expect(await t.get('/readyz')).toEqual({ status: 200, text: 'ok\n' });
  });

  it('refuses bodies over the limit with 413, declared or chunked, and keeps serving', async () => {
    const huge = JSON.stringify({ ...admissionReview(objects.pod!), padding: 'x'.repeat(5 * 1024 * 1024) });
    const declared = await t.post('/validate', huge);
    expect(declared.status).toBe(413);
    expect(declared.json.message).toBe('request body is larger than 4194304 bytes');
    async function* chunks() {
      for (let i = 0; i < 6; i++) yield Buffer.alloc(1024 * 1024, 0x20);
    }
    const chunked = await t.post('/validate', chunks());
    expect(chunked.status).toBe(413);
    expect((await t.post('/validate', admissionReview(objects.pod!))).status).toBe(200);
  });

  // Each of these would hang until the test's own timeout if the server never cut the client off.
  it('cuts off a client that sends its headers too slowly (408), or never finishes the TLS handshake', async () => {
    const port = t.wh.port;
    const slowHeaders = new Promise<string>((resolve) => {
      let answer = '';
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: t.ca.cert, servername: 'localhost' }, () => {
        socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\n');
        const drip = setInterval(() => socket.writable && socket.write('X'), 100);
        socket.on('close', () => clearInterval(drip));
      });
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(answer));
    });
    const noHandshake = new Promise<string>((resolve) => {
      let received = '';
      const socket = netConnect(port, '127.0.0.1');
      socket.on('data', (d) => {
        received += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(received));
    });
    const [slow, silent] = await Promise.all([slowHeaders, noHandshake]);
    expect(slow).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
    expect(silent).toBe(''); // closed by the server: this client never sent a byte
    expect((await t.post('/validate', admissionReview(objects.pod!))).status).toBe(200);
  });

  it('keeps an idle keep-alive connection open past the header timeout (the API server reuses them)', async () => {
    const body = JSON.stringify(admissionReview(objects.pod!));
    const raw = `POST /validate HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = tlsConnect({ host: '127.0.0.1', port: t.wh.port, ca: t.ca.cert, servername: 'localhost' });
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (d) => {
      received += d.toString();
    });
    const answers = () => (received.match(/HTTP\/1.1 200 /g) ?? []).length;
    const until = async (n: number) => {
      for (let i = 0; i < 100 && answers() < n; i++) await new Promise((r) => setTimeout(r, 20));
      return answers();
    };
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(raw);
    expect(await until(1)).toBe(1);
    await new Promise((r) => setTimeout(r, 1500)); // idle for longer than headersTimeout (800 ms)
    socket.write(raw);
    expect(await until(2)).toBe(2);
    socket.destroy();
  });

  it('cuts off a client that stalls in the middle of its body (408)', async () => {
    const answer = await new Promise<string>((resolve) => {
      let received = '';
      const socket = tlsConnect(
        { host: '127.0.0.1', port: t.wh.port, ca: t.ca.cert, servername: 'localhost' },
        () => {
          socket.write(
            'POST /validate HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"api',
          );
        },
      );
      socket.on('error', () => {});
      socket.on('data', (d) => {
        received += d.toString();
      });
      socket.on('close', () => resolve(received));
    });
    expect(answer).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
    expect((await t.post('/validate', admissionReview(objects.pod!))).status).toBe(200);
  });

  it('answers 1,000 concurrent validations and warm-cache mutations without errors or unbounded memory', async () => {
    // A real collection between rounds, so retained memory (a leak) is measured, not garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const review = admissionReview(objects.deployment!, { namespace: 'shop' });
    const round = async () => {
      for (const endpoint of ['/validate', '/mutate']) {
        const answers = await Promise.all(Array.from({ length: 1000 }, () => t.post(endpoint, review)));
        expect(answers.filter((a) => a.status !== 200)).toEqual([]);
        expect(new Set(answers.map((a) => a.json.response.allowed))).toEqual(
          new Set([endpoint === '/mutate']),
        );
        if (endpoint === '/mutate') expect(new Set(answers.map((a) => a.json.response.patch)).size).toBe(1);
      }
      t.logs.length = 0; // the test's own copy of the log lines is not the server's memory
    };
    await round(); // warms the cache, the connection pool and the JIT
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 2; i++) await round();
    gc();
    const retainedMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    // 4,000 more admissions: keeping ~1.3 KB per request (a body, a parsed object) would show.
    expect(retainedMb).toBeLessThan(5);
  });

  it('exposes counters that move: admissions by endpoint and verdict, cache hits and misses, refusals', async () => {
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const before = (await t.get('/metrics')).text;
    await t.post('/validate', admissionReview(objects.job!, { namespace: 'shop' }));
    await t.post('/mutate', admissionReview(objects.job!, { namespace: 'shop' }));
    await t.post('/validate', 'not json');
    const after = (await t.get('/metrics')).text;
    const series = [
      'imgdigest_webhook_admissions_total{endpoint="validate",verdict="denied"}',
      'imgdigest_webhook_admissions_total{endpoint="mutate",verdict="patched"}',
      'imgdigest_webhook_resolver_cache_total{result="hit"}',
      'imgdigest_webhook_rejected_requests_total{reason="bad_request"}',
      'imgdigest_webhook_admission_duration_seconds_count{endpoint="validate"}',
    ];
    for (const s of series) expect(value(after, s), s).toBe(value(before, s) + 1);
    expect(value(after, 'imgdigest_webhook_resolver_cache_total{result="miss"}')).toBeGreaterThan(0);
    expect(value(after, 'imgdigest_webhook_tls_certificate_expiry_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000,
    );
  });
});

describe('webhook server with a metrics port', () => {
  afterAll(cleanupTempDirs);

  it('serves /metrics on the metrics port only, so the webhook port exposes admissions alone', async () => {
    const t = await startTestWebhook({ metricsAddr: '127.0.0.1:0' });
    try {
      const onTls = await t.get('/metrics');
      expect(onTls.status).toBe(404);
      expect(onTls.text).toContain('metrics are served on --metrics-addr');
      expect((await t.get('/healthz')).status).toBe(200);
      const res = await fetch(`${t.wh.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('imgdigest_webhook_tls_certificate_expiry_timestamp_seconds');
    } finally {
      await t.close();
    }
  });
});

describe('webhook server, an unexpected exception', () => {
  afterAll(cleanupTempDirs);

  it('is logged as a failed request, never an unhandled rejection, and the server keeps answering', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    });
    // A logger of the caller's own whose admission line throws: the exception comes after the answer.
    const logger = createLogger({ stream: sink }).child({});
    const info = logger.info.bind(logger);
    logger.info = ((obj: unknown, msg?: string) => {
      if (msg === 'admission') throw new Error('the log sink is broken\nsecond line');
      return info(obj as object, msg);
    }) as typeof logger.info;
    const t = await startTestWebhook({ logger });
    try {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' } };
      const first = await t.post('/validate', admissionReview({ ...pod, spec: { containers: [] } }));
      expect(first.status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
      const failed = lines.find((l) => l.msg === 'request failed');
      expect(failed).toMatchObject({
        path: '/validate',
        err: { message: expect.stringContaining('log sink') },
      });
      expect((await t.get('/healthz')).status).toBe(200);
      expect((await t.post('/validate', admissionReview({ ...pod, spec: { containers: [] } }))).status).toBe(
        200,
      );
      expect((await t.get('/metrics')).text).toContain(
        'imgdigest_webhook_rejected_requests_total{reason="internal_error"} 2',
      );
    } finally {
      await t.close();
    }
  });
});
