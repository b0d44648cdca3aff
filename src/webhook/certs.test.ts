import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { generateCertificates, readCa, writeCertificates } from './certs.js';

afterAll(cleanupTempDirs);

const NAMES = [
  'imgdigest-webhook',
  'imgdigest-webhook.imgdigest-system',
  'imgdigest-webhook.imgdigest-system.svc',
  'imgdigest-webhook.imgdigest-system.svc.cluster.local',
];

describe('webhook certificates', () => {
  it('signs a serving certificate for every Service DNS name with a new CA', async () => {
    const certs = await generateCertificates({
      service: 'imgdigest-webhook',
      namespace: 'imgdigest-system',
      days: 30,
    });
    const ca = new X509Certificate(certs.caCert);
    const leaf = new X509Certificate(certs.tlsCert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.subjectAltName?.split(', ')).toEqual(NAMES.map((n) => `DNS:${n}`));
    const days = (new Date(leaf.validTo).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(Buffer.from(certs.caBundle, 'base64').toString()).toBe(certs.caCert);
  });

  it('writes the five files atomically with the keys readable by the owner only, and reuses the CA', async () => {
    const dir = await tempDir('certs');
    const first = await generateCertificates({ service: 'svc', namespace: 'ns' });
    const written = await writeCertificates(dir, first);
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      'ca.crt',
      'ca.key',
      'caBundle',
      'tls.crt',
      'tls.key',
    ]);
    expect((await stat(`${dir}/tls.key`)).mode & 0o777).toBe(0o600);
    expect((await stat(`${dir}/ca.key`)).mode & 0o777).toBe(0o600);
    expect((await stat(`${dir}/tls.crt`)).mode & 0o777).toBe(0o644);
    expect(await readFile(`${dir}/caBundle`, 'utf8')).toBe(first.caBundle);

    const ca = await readCa(dir);
    const second = await generateCertificates({ service: 'svc', namespace: 'ns', ca: ca! });
    expect(second.caBundle).toBe(first.caBundle);
    expect(second.tlsCert).not.toBe(first.tlsCert);
    expect(new X509Certificate(second.tlsCert).verify(new X509Certificate(first.caCert).publicKey)).toBe(
      true,
    );
    expect(await readCa(await tempDir('empty'))).toBeUndefined();
  });

  it('refuses names that cannot be DNS labels', async () => {
    await expect(generateCertificates({ service: 'Web_hook', namespace: 'ns' })).rejects.toThrow(
      /--service "Web_hook" is not a valid DNS label/,
    );
  });

  it('is accepted by a real TLS client checking the Service name against the CA', async () => {
    const certs = await generateCertificates({ service: 'hook', namespace: 'ns' });
    const server = createServer({ cert: certs.tlsCert, key: certs.tlsKey }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const handshake = (servername: string) =>
      new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, servername, ca: certs.caCert }, () => {
          socket.end();
          resolve('ok');
        });
        socket.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
      });
    try {
      expect(await handshake('hook.ns.svc')).toBe('ok');
      expect(await handshake('hook.ns.svc.cluster.local')).toBe('ok');
      expect(await handshake('other.ns.svc')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      server.close();
    }
  });

  it.skipIf(!haveTools('openssl'))('passes openssl verify against its CA', async () => {
    const dir = await tempDir('certs-openssl');
    await writeCertificates(dir, await generateCertificates({ service: 'hook', namespace: 'ns' }));
    const out = execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslserver', '-CAfile', `${dir}/ca.crt`, `${dir}/tls.crt`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(`${dir}/tls.crt: OK`);
  });
});
