/**
 * @module webhook/tls
 * The serving certificate: read the PEM pair, check that the key belongs to the certificate, and
 * hand it to the HTTPS server. A rotated pair is installed with `server.setSecureContext()`:
 * connections already open keep their session, new handshakes get the new certificate, and no
 * request is dropped.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ImgdigestError } from '../core/errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A checked certificate and key. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  serialNumber: string;
  notAfter: Date;
  subjectAltName: string | undefined;
}

/**
 * Check a PEM pair. Throws `CONFIG_INVALID` when either does not parse or they do not belong
 * together (which is also what a half-finished rotation looks like).
 */
export function checkTlsPair(cert: Buffer, key: Buffer, where = 'TLS files'): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `${where}: the certificate is not PEM X.509: ${(e as Error).message}`,
    );
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `${where}: the key is not a PEM private key: ${(e as Error).message}`,
    );
  }
  if (!matches)
    throw new ImgdigestError('CONFIG_INVALID', `${where}: the key does not belong to the certificate`);
  return {
    cert,
    key,
    serialNumber: x509.serialNumber,
    notAfter: new Date(x509.validTo),
    subjectAltName: x509.subjectAltName,
  };
}

/** Read and check the pair named by `files`. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  } catch (e) {
    throw new ImgdigestError('CONFIG_INVALID', `cannot read the TLS files: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return checkTlsPair(cert, key, `${files.certFile} + ${files.keyFile}`);
}
