/**
 * @module registry/connection-settings
 * What both HTTP clients of the transport (undici's pools in `dispatcher.ts`, node:http in
 * `node-http.ts`) read the same way: TLS settings and the proxy variables. Loads neither client.
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

/** The proxy variables as `dispatcher.ts` reads them (lower case first, then upper case). */
export function proxyVariables(env: NodeJS.ProcessEnv): {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
} {
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  };
}
