/**
 * @module test/support/token-issuer
 * A small Docker registry token server (distribution's token, OAuth2 and JWT specs:
 * https://distribution.github.io/distribution/spec/auth/) for the CNCF registry started in token
 * mode. It checks Basic credentials, grants the requested actions (all of them to a known user,
 * `pull` to anonymous callers when allowed), and signs a JWT (ES256 or RS256, node:crypto) carrying the `access` claim. Tests can count requests,
 * change the response shape (`token` vs `access_token`, `expires_in`) and make it fail on demand.
 */
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenIssuerBehaviour {
  /** username -> password. */
  users: Record<string, string>;
  /** Anonymous callers get a token with `pull` only; when false they get 401. */
  anonymousPull: boolean;
  /** Lifetime of the JWT in seconds. */
  tokenTtl: number;
  /** The `expires_in` field sent; null leaves it out (clients then assume 60 s). Default tokenTtl. */
  expiresIn: number | null | undefined;
  /** Which field carries the token: `token`, `access_token` or both (as Docker Hub does). */
  field: 'token' | 'access_token' | 'both';
  /** How the JWT names its key: `x5c` (the certificate chain) or libtrust's `kid`. */
  keyHeader: 'x5c' | 'kid';
}

export interface TokenIssuerOptions extends Partial<TokenIssuerBehaviour> {
  /** PEM private key (EC P-256 or RSA) whose certificate the registry trusts. */
  keyPem: string;
  /** PEM certificate for `keyPem` (the registry's `rootcertbundle`). */
  certPem: string;
  service?: string;
  issuer?: string;
}

/** One request the issuer answered. */
export interface TokenRequest {
  method: string;
  /** Requested scopes, one per `scope` parameter (GET) or space-separated (POST). */
  scopes: string[];
  service: string | null;
  /** The authenticated user, or null for anonymous. */
  account: string | null;
  status: number;
  grantType?: string;
}

export interface TokenIssuer {
  /** The token realm, `http://127.0.0.1:PORT/token`. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly requests: TokenRequest[];
  /** Number of token requests answered (failed ones included). */
  count(): number;
  /** Answer the next `times` requests with `status` (default 500). */
  failNext(times?: number, status?: number): void;
  /** Change behaviour for later requests. */
  configure(change: Partial<TokenIssuerBehaviour>): void;
  stop(): Promise<void>;
}

const ALL_ACTIONS = ['pull', 'push', 'delete', '*'];

/** Start the issuer on 127.0.0.1 with a port the OS picks. */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const key = createPrivateKey(options.keyPem);
  const cert = new X509Certificate(options.certPem);
  const alg = key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  const service = options.service ?? 'imgdigest-test-registry';
  const issuer = options.issuer ?? 'imgdigest-test-issuer';
  const behaviour: TokenIssuerBehaviour = {
    users: { user: 'pass' },
    anonymousPull: false,
    tokenTtl: 300,
    expiresIn: undefined,
    field: 'both',
    keyHeader: 'x5c',
    ...stripUndefined({
      users: options.users,
      anonymousPull: options.anonymousPull,
      tokenTtl: options.tokenTtl,
      expiresIn: options.expiresIn,
      field: options.field,
      keyHeader: options.keyHeader,
    }),
  };
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map<string, string>();
  let failures = { times: 0, status: 500 };

  const jwtHeader = (): Record<string, unknown> =>
    behaviour.keyHeader === 'x5c'
      ? { typ: 'JWT', alg, x5c: [cert.raw.toString('base64')] }
      : { typ: 'JWT', alg, kid: libtrustKeyId(options.certPem) };

  const issue = (account: string | null, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: account ?? '',
      aud: service,
      exp: now + behaviour.tokenTtl,
      // A little slack for clock rounding between this process and the registry.
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: scopes.flatMap((s) => grant(s, account !== null)),
    };
    const input = `${b64url(JSON.stringify(jwtHeader()))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 signatures are r||s (RFC 7518 §3.4), not DER, hence ieee-p1363.
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record: TokenRequest = {
      method: req.method ?? 'GET',
      scopes: [],
      service: null,
      account: null,
      status: 0,
    };
    requests.push(record);
    const reply = (status: number, body: Record<string, unknown>): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') return reply(404, { error: 'not_found' });
    let account: string | null = null;
    let offline = url.searchParams.get('offline_token') === 'true';
    if (req.method === 'POST') {
      // The OAuth2 form (distribution's spec/auth/oauth): credentials and scopes in a urlencoded body.
      const form = new URLSearchParams(await readBody(req));
      record.grantType = form.get('grant_type') ?? undefined;
      record.service = form.get('service');
      record.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      offline = form.get('access_type') === 'offline';
      if (record.grantType === 'password') {
        const user = form.get('username') ?? '';
        if (behaviour.users[user] === undefined || behaviour.users[user] !== form.get('password')) {
          return reply(401, { error: 'invalid_grant' });
        }
        account = user;
      } else if (record.grantType === 'refresh_token') {
        account = refreshTokens.get(form.get('refresh_token') ?? '') ?? null;
        if (account === null) return reply(401, { error: 'invalid_grant' });
      } else {
        return reply(400, { error: 'unsupported_grant_type' });
      }
    } else {
      record.service = url.searchParams.get('service');
      record.scopes = url.searchParams.getAll('scope');
      const basic = parseBasic(req.headers.authorization);
      if (basic) {
        if (behaviour.users[basic.user] === undefined || behaviour.users[basic.user] !== basic.password) {
          return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] });
        }
        account = basic.user;
      } else if (!behaviour.anonymousPull) {
        return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      }
    }
    record.account = account;
    if (failures.times > 0) {
      failures.times--;
      return reply(failures.status, { errors: [{ code: 'UNAVAILABLE', message: 'failing on purpose' }] });
    }
    const token = issue(account, record.scopes);
    const body: Record<string, unknown> = {};
    if (behaviour.field !== 'access_token') body.token = token;
    if (behaviour.field !== 'token') body.access_token = token;
    const expiresIn = behaviour.expiresIn === undefined ? behaviour.tokenTtl : behaviour.expiresIn;
    if (expiresIn !== null) body.expires_in = expiresIn;
    body.issued_at = new Date().toISOString();
    if (offline && account !== null) {
      const refresh = randomUUID();
      refreshTokens.set(refresh, account);
      body.refresh_token = refresh;
    }
    if (req.method === 'POST') body.scope = record.scopes.join(' ');
    reply(200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    requests,
    count: () => requests.length,
    failNext(times = 1, status = 500) {
      failures = { times, status };
    },
    configure(change) {
      Object.assign(behaviour, stripUndefined(change));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The actions granted for one scope: split the type at the first `:` and actions at the last (spec/auth/scope). */
function grant(
  scope: string,
  authenticated: boolean,
): Array<{ type: string; name: string; actions: string[] }> {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return [];
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const name = scope.slice(first + 1, last);
  const wanted = scope
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  const allowed = authenticated ? ALL_ACTIONS : type === 'repository' ? ['pull'] : [];
  return [{ type, name, actions: wanted.filter((a) => allowed.includes(a)) }];
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header?.toLowerCase().startsWith('basic ')) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * libtrust's key ID, which distribution 2.x uses to look up a `kid` among the keys of its root
 * certificates: base32 of the first 30 bytes of sha256(DER SubjectPublicKeyInfo), in groups of 4
 * joined by `:` (libtrust `keyIDFromCryptoKey`).
 */
export function libtrustKeyId(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const hash = createHash('sha256').update(spki).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
