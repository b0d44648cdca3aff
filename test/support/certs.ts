/**
 * @module test/support/certs
 * TLS material for tests that serve https on 127.0.0.1, made by the product's own certificate code
 * (src/webhook/certs.ts: a P-256 CA and a serving certificate signed by it), so no test shells out
 * to openssl to make a certificate.
 */
import { join } from 'node:path';
import { generateCertificates, writeCertificates } from '../../src/webhook/certs.js';

export interface LoopbackTls {
  /** The serving certificate and key (PEM), valid for 127.0.0.1 and localhost. */
  cert: string;
  key: string;
  /** The CA that signed `cert` (PEM): what a client must trust. */
  ca: string;
  /** The CA's private key (PEM): a self-signed P-256 pair, usable as a JWT signing key. */
  caKey: string;
  /** The same, written into the folder given: `tls.crt`, `tls.key`, `ca.crt`, `ca.key`. */
  files: { cert: string; key: string; ca: string; caKey: string };
}

/** A CA and a serving certificate for 127.0.0.1 and localhost, written into `dir`. */
export async function loopbackTls(dir: string): Promise<LoopbackTls> {
  const made = await generateCertificates({
    service: 'imgdigest-test',
    namespace: 'loopback',
    days: 2,
    caDays: 2,
    extraNames: ['127.0.0.1', 'localhost'],
  });
  await writeCertificates(dir, made);
  return {
    cert: made.tlsCert,
    key: made.tlsKey,
    ca: made.caCert,
    caKey: made.caKey,
    files: {
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
      ca: join(dir, 'ca.crt'),
      caKey: join(dir, 'ca.key'),
    },
  };
}
