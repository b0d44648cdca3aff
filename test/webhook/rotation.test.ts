/**
 * Certificate rotation under load: while a loop of admissions runs (some on kept-alive
 * connections, some on new ones), the serving certificate is replaced by a new one from the same
 * CA, first the way the kubelet updates a Secret volume (a new timestamped folder and an atomic
 * swap of the `..data` symlink), then by overwriting the files in place (certificate first, key
 * second, so the pair is briefly mismatched). No request may fail, and new handshakes must get
 * the new certificate without a restart.
 */

import { X509Certificate } from 'node:crypto';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebhookCertificates } from '../../src/webhook/certs.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { admissionReview, startTestWebhook, type TestWebhook, testCertificates } from './support.js';

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: `nginx@sha256:${'0'.repeat(64)}` }] },
};

function servedSerial(t: TestWebhook): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: t.wh.port, ca: t.ca.cert, servername: 'localhost' },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.end();
        resolve(serial);
      },
    );
    socket.on('error', reject);
  });
}

async function waitForSerial(t: TestWebhook, serial: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await servedSerial(t);
    if (seen === serial) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

/** Admissions in a loop until stopped: half on kept-alive connections, half each on a new one. */
function load(t: TestWebhook) {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (fresh: boolean) => {
    while (running) {
      try {
        const a = await t.post('/validate', admissionReview(POD), fresh ? { connection: 'close' } : {});
        if (a.status === 200 && a.json.response.allowed === true) ok++;
        else failures.push(`status ${a.status}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const workers = [true, false, true, false].map(worker);
  return {
    ok: () => ok,
    async stop() {
      running = false;
      await Promise.all(workers);
      return { ok, failures };
    },
  };
}

const serialOf = (c: WebhookCertificates) => new X509Certificate(c.tlsCert).serialNumber;

describe.each([
  ['fs.watch events alone', { pollMs: 0 }],
  ['polling alone', { pollMs: 150, fsWatch: false }],
])('webhook certificate rotation noticed by %s', (_how, watch) => {
  let t: TestWebhook | undefined;
  afterAll(async () => {
    await t?.close();
    await cleanupTempDirs();
  });

  it('reloads a Secret-volume style symlink swap, then an in-place rewrite, with zero failed requests', async () => {
    const dir = await tempDir('webhook-secret');
    const first = await testCertificates();
    const ca = { cert: first.caCert, key: first.caKey };
    // The kubelet's layout: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/
    const version = async (name: string, certs: WebhookCertificates) => {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'tls.crt'), certs.tlsCert);
      await writeFile(join(dir, name, 'tls.key'), certs.tlsKey);
    };
    await version('..2026_01_01_00_00_00.000000001', first);
    await symlink('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    await symlink('..data/tls.crt', join(dir, 'tls.crt'));
    await symlink('..data/tls.key', join(dir, 'tls.key'));
    t = await startTestWebhook(
      { tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, watch },
      first,
    );
    expect(await servedSerial(t)).toBe(serialOf(first));

    const traffic = load(t);
    let afterSwap = 0;
    let thirdSerial = '';
    try {
      await new Promise((r) => setTimeout(r, 200));
      // 1. Secret update: new folder, new symlink, atomic rename over ..data.
      const second = await testCertificates(ca);
      await version('..2026_01_01_00_10_00.000000002', second);
      await symlink('..2026_01_01_00_10_00.000000002', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      expect(await waitForSerial(t, serialOf(second))).toBe(serialOf(second));
      afterSwap = traffic.ok();

      // 2. In-place rewrite through the symlinks: certificate first, key later (briefly a mismatched pair).
      const third = await testCertificates(ca);
      thirdSerial = serialOf(third);
      await writeFile(join(dir, 'tls.crt'), third.tlsCert);
      await new Promise((r) => setTimeout(r, 300));
      expect(await servedSerial(t)).toBe(serialOf(second)); // a certificate without its key is not installed
      await writeFile(join(dir, 'tls.key'), third.tlsKey);
      expect(await waitForSerial(t, serialOf(third))).toBe(serialOf(third));
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await traffic.stop();
    }
    const { ok, failures } = await traffic.stop(); // stopped already: the totals
    expect(failures).toEqual([]);
    expect(afterSwap).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(afterSwap);
    const metrics = (await t.get('/metrics')).text;
    expect(metrics).toContain('imgdigest_webhook_tls_reloads_total{result="ok"} 2');
    expect(t.wh.certificate().serialNumber).toBe(thirdSerial);
  });
});
