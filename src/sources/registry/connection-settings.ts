/**
 * @module registry/connection-settings
 * The TLS settings both HTTP clients of the transport use (undici's pools in `dispatcher.ts`,
 * node:http in `node-http.ts`), in a module of their own so that node-http.ts loads no undici.
 */
import { readFileSync } from 'node:fs';
import { errorReason } from '../../core/errno.js';
import { ImgdigestError } from '../../core/errors.js';

/** The TLS settings a client is made with. */
export interface TlsSettings {
  skipTlsVerify?: boolean | undefined;
  caFile?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * TLS settings: verification on unless `skipTlsVerify`; with a `caFile`, Node's bundled roots plus
 * `NODE_EXTRA_CA_CERTS` plus the file (giving `ca` replaces Node's defaults, so they are repeated).
 */
export function tlsOptions(options: TlsSettings): {
  rejectUnauthorized: boolean;
  ca?: string[];
} {
  const tls: { rejectUnauthorized: boolean; ca?: string[] } = {
    rejectUnauthorized: options.skipTlsVerify !== true,
  };
  if (options.caFile) {
    const env = options.env ?? process.env;
    const extra = [env.NODE_EXTRA_CA_CERTS, options.caFile].filter((p): p is string => Boolean(p));
    // node:tls loads here, not at start: plain-http registries (loopback) never need it.
    const { rootCertificates } = process.getBuiltinModule('node:tls');
    tls.ca = [...rootCertificates, ...extra.map((path) => readCa(path))];
  }
  return tls;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ImgdigestError('CONFIG_INVALID', `cannot read CA file ${path}: ${errorReason(e)}`, {
      details: { path },
    });
  }
}
