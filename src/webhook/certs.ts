/**
 * @module webhook/certs
 * Certificates for the webhook's Service: a small CA and a serving certificate signed by it, made
 * with @peculiar/x509 on Node's own WebCrypto (ECDSA P-256), written atomically (keys 0600).
 *
 * The API server verifies the webhook like any Go TLS client: the certificate must name the
 * Service's DNS name in its SANs (the CN is ignored), so the serving certificate carries all four
 * names a Service answers to (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`). The CA
 * goes into the WebhookConfigurations as `caBundle` (base64 of its PEM). Running the command again
 * on the same folder reuses the CA, so the serving certificate rotates without touching caBundle.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgdigestError } from '../core/errors.js';
import { writeAtomic } from '../core/write.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Backdate notBefore a little: clocks in a cluster are never exactly in step. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A CA as PEM text. */
export interface CertificateAuthority {
  cert: string;
  key: string;
}

export interface WebhookCertificates {
  caCert: string;
  caKey: string;
  tlsCert: string;
  tlsKey: string;
  /** base64 of `caCert`, as `caBundle` wants it. */
  caBundle: string;
  dnsNames: string[];
  notAfter: Date;
}

export interface CertificateOptions {
  service: string;
  namespace: string;
  /** Validity of the serving certificate in days (default 365). */
  days?: number;
  /** Validity of a new CA in days (default 3650). */
  caDays?: number;
  /** Sign with this CA instead of making a new one. */
  ca?: CertificateAuthority;
  /** Extra SANs (DNS names, or IP addresses such as 127.0.0.1). */
  extraNames?: string[];
}

type X509 = typeof import('@peculiar/x509');
let x509Module: Promise<X509> | undefined;

/**
 * @peculiar/x509 resolves its parts through tsyringe, which needs the `reflect-metadata` polyfill
 * loaded first. Both load lazily: only the certificate commands pay for them.
 */
async function loadX509(): Promise<X509> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    return await import('@peculiar/x509');
  })();
  return x509Module;
}

/** The DNS names a Service answers to inside the cluster. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive (RFC 5280 section 4.1.2.2)
  return bytes.toString('hex');
}

async function importCa(x509: X509, ca: CertificateAuthority) {
  let der: Buffer;
  let cert: InstanceType<X509['X509Certificate']>;
  try {
    der = createPrivateKey(ca.key).export({ format: 'der', type: 'pkcs8' });
    cert = new x509.X509Certificate(ca.cert);
  } catch (e) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `the CA certificate or key cannot be read: ${(e as Error).message}`,
    );
  }
  if (!new X509Certificate(ca.cert).checkPrivateKey(createPrivateKey(ca.key))) {
    throw new ImgdigestError('INPUT_INVALID', 'the CA key does not belong to the CA certificate');
  }
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return { cert, key };
}

/** Make a CA (or use the given one) and a serving certificate for `service.namespace`. */
export async function generateCertificates(options: CertificateOptions): Promise<WebhookCertificates> {
  for (const [what, value] of [
    ['service', options.service],
    ['namespace', options.namespace],
  ] as const) {
    if (!DNS_LABEL.test(value) || value.length > 63) {
      throw new ImgdigestError('USAGE', `--${what} "${value}" is not a valid DNS label (a-z, 0-9, -)`);
    }
  }
  const x509 = await loadX509();
  // Node's WebCrypto is the WebCrypto the library expects (the DOM types are not in our lib).
  const crypto = webcrypto as unknown as Parameters<X509['X509CertificateGenerator']['create']>[1] &
    typeof webcrypto;
  const now = Date.now();
  const notBefore = new Date(now - CLOCK_SKEW_MS);
  let ca: { cert: InstanceType<X509['X509Certificate']>; key: webcrypto.CryptoKey };
  let caKeyPem: string;
  if (options.ca) {
    ca = await importCa(x509, options.ca);
    caKeyPem = options.ca.key;
  } else {
    const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=imgdigest webhook CA ${options.namespace}/${options.service}`,
        notBefore,
        notAfter: new Date(now + (options.caDays ?? 3650) * DAY_MS),
        signingAlgorithm: ALGORITHM,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
            true,
          ),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    ca = { cert, key: keys.privateKey };
    caKeyPem = x509.PemConverter.encode(
      await crypto.subtle.exportKey('pkcs8', keys.privateKey),
      'PRIVATE KEY',
    );
  }

  const dnsNames = serviceDnsNames(options.service, options.namespace);
  const extra = options.extraNames ?? [];
  const isIp = (n: string) => /^[0-9.]+$|:/.test(n);
  const names = [
    ...[...dnsNames, ...extra.filter((n) => !isIp(n))].map((value) => ({ type: 'dns' as const, value })),
    ...extra.filter(isIp).map((value) => ({ type: 'ip' as const, value })),
  ];
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  let notAfter = new Date(now + (options.days ?? 365) * DAY_MS);
  if (notAfter > ca.cert.notAfter) notAfter = ca.cert.notAfter;
  const leaf = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${dnsNames[2]}`,
      issuer: ca.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: ca.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
      ],
    },
    crypto,
  );
  const caCert = ca.cert.toString('pem');
  return {
    caCert: `${caCert.trim()}\n`,
    caKey: `${caKeyPem.trim()}\n`,
    tlsCert: `${leaf.toString('pem').trim()}\n`,
    tlsKey: `${x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY').trim()}\n`,
    caBundle: Buffer.from(`${caCert.trim()}\n`).toString('base64'),
    dnsNames: [...dnsNames, ...extra],
    notAfter,
  };
}

/** The files {@link writeCertificates} writes, and their modes. */
export const CERT_FILES = {
  'ca.crt': 0o644,
  'ca.key': 0o600,
  'tls.crt': 0o644,
  'tls.key': 0o600,
  caBundle: 0o644,
} as const;

/**
 * Write ca.crt, ca.key, tls.crt, tls.key and caBundle into `dir` (created if missing). The key of
 * a pair is written before its certificate, so a watcher never sees a new certificate beside an
 * old key for long (and the reloader checks that they match anyway).
 */
export async function writeCertificates(dir: string, certs: WebhookCertificates): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const content: Record<keyof typeof CERT_FILES, string> = {
    'ca.key': certs.caKey,
    'ca.crt': certs.caCert,
    'tls.key': certs.tlsKey,
    'tls.crt': certs.tlsCert,
    caBundle: certs.caBundle,
  };
  const written: string[] = [];
  for (const [name, data] of Object.entries(content) as Array<[keyof typeof CERT_FILES, string]>) {
    const path = join(dir, name);
    await writeAtomic(path, data, { mode: CERT_FILES[name], forceMode: true });
    written.push(path);
  }
  return written;
}

/** The CA in `dir` (ca.crt + ca.key), or undefined when either file is missing. */
export async function readCa(dir: string): Promise<CertificateAuthority | undefined> {
  try {
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'ca.crt'), 'utf8'),
      readFile(join(dir, 'ca.key'), 'utf8'),
    ]);
    return { cert, key };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImgdigestError('INPUT_INVALID', `cannot read the CA in ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * The `caBundle` (base64 of PEM) for a WebhookConfiguration from a file that holds PEM
 * certificates or base64 of them, checked the way the API server's webhook client will use it:
 * only CERTIFICATE blocks, at least one, each a certificate that parses. `source` names the file
 * in the error (`--ca-bundle certs/ca.crt`); every problem is one INPUT_INVALID line.
 */
export function caBundleFromText(text: string, source: string): string {
  const fail = (why: string): never => {
    throw new ImgdigestError('INPUT_INVALID', `${source}: ${why}`);
  };
  const trimmed = text.trim();
  if (trimmed === '') fail('is empty: expected a PEM CA certificate or base64 of one');
  let pem = trimmed;
  if (!trimmed.includes('-----BEGIN ')) {
    const compact = trimmed.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      fail('is not a PEM certificate or base64 of one');
    }
    pem = Buffer.from(compact, 'base64').toString('latin1');
    if (!pem.includes('-----BEGIN ')) fail('is base64, but not of a PEM certificate');
  }
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  if (blocks.length === 0)
    fail('has no complete PEM block (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)');
  const other = blocks.find((b) => b[1] !== 'CERTIFICATE');
  if (other) fail(`holds a ${other[1]} block: a CA bundle holds certificates only`);
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b[0]);
    } catch (e) {
      fail(`certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
  return Buffer.from(`${blocks.map((b) => b[0]).join('\n')}\n`).toString('base64');
}
