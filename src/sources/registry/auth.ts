/**
 * @module registry/auth
 * The pieces of the registry auth handshake that need no network: `WWW-Authenticate` challenges,
 * token scopes, token requests and responses, the realm check, the Basic header.
 *
 * The flow itself (ping `/v2/`, fetch a token, retry a 401 with a wider scope) lives in
 * `session.ts`. Rules here follow distribution's token and scope specs and its challenge parser.
 * @see https://distribution.github.io/distribution/spec/auth/token/
 * @see https://distribution.github.io/distribution/spec/auth/scope/
 * @see https://github.com/distribution/distribution/blob/main/internal/client/auth/challenge/authchallenge.go
 */
import { ImgdigestError } from '../../core/errors.js';
import { isLoopbackHost, splitHostPort } from '../../core/net.js';

/** One challenge of a `WWW-Authenticate` header: the scheme (lower case) and its parameters. */
export interface Challenge {
  scheme: string;
  /** Parameter names are lower-cased; values are unquoted and unescaped. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parse `WWW-Authenticate` values (one header or several) into challenges. A single value may hold
 * several challenges (`Basic realm="a", Bearer realm="b"`): a token followed by a space and not by
 * `=` starts a new one.
 *
 * @example parseChallenges('Basic realm="Registry Realm"') // [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseOneHeader);
}

function parseOneHeader(text: string): Challenge[] {
  const out: Challenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp) => {
    while (pos < text.length && chars.test(text[pos]!)) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < text.length && TOKEN_CHAR.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  while (pos < text.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = pos;
      const key = token();
      skip(/\s/);
      if (!key || text[pos] !== '=') {
        pos = save;
        break;
      }
      pos++;
      skip(/\s/);
      challenge.params[key.toLowerCase()] = text[pos] === '"' ? quoted() : bare();
    }
    if (pos < text.length && !TOKEN_CHAR.test(text[pos]!)) pos++; // junk: move on
  }
  return out;

  function quoted(): string {
    pos++; // opening quote
    let value = '';
    while (pos < text.length && text[pos] !== '"') {
      // RFC 7230 quoted-pair: a backslash escapes any character.
      if (text[pos] === '\\' && pos + 1 < text.length) pos++;
      value += text[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  }
  function bare(): string {
    const start = pos;
    while (pos < text.length && text[pos] !== ',' && !/\s/.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  }
}

/** The challenge a client acts on: the first Bearer or Basic one (as go-containerregistry's ping does). */
export function pickChallenge(challenges: Challenge[]): Challenge | null {
  return challenges.find((c) => c.scheme === 'bearer' || c.scheme === 'basic') ?? null;
}

/** A parsed token scope `type:name:actions`. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parse a resource scope. The name may contain a `:` (a registry port), so the type ends at the
 * first colon and the actions start after the last one (distribution's scope spec).
 * @example parseScope('repository:localhost:5000/foo/bar:pull').name // 'localhost:5000/foo/bar'
 */
export function parseScope(scope: string): Scope {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) {
    throw new ImgdigestError('INPUT_INVALID', `invalid token scope "${scope}": expected type:name:actions`, {
      details: { scope },
    });
  }
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

/** The pull scope of a repository; push adds `push`, delete adds `delete` (distribution checks each). */
export function repositoryScope(path: string, actions: readonly string[] = ['pull']): string {
  return `repository:${path}:${actions.join(',')}`;
}

/** The scope `GET /v2/_catalog` needs. */
export const CATALOG_SCOPE = 'registry:catalog:*';

/** Split a challenge's `scope` parameter (space-separated) into scopes. */
export function challengeScopes(challenge: Challenge | null): string[] {
  return (challenge?.params.scope ?? '').split(' ').filter(Boolean);
}

/**
 * The token request URL: the realm with `service` and one `scope` parameter per scope. `:`, `,`
 * and `/` are left readable as the token spec's examples write them; servers decode either form.
 */
export function tokenRequestUrl(
  realm: URL | string,
  service: string | undefined,
  scopes: readonly string[],
): URL {
  const url = new URL(String(realm));
  const parts: string[] = [];
  if (url.search.length > 1) parts.push(url.search.slice(1));
  if (service) parts.push(`service=${encodeScopeValue(service)}`);
  for (const scope of scopes) parts.push(`scope=${encodeScopeValue(scope)}`);
  url.search = parts.length > 0 ? `?${parts.join('&')}` : '';
  return url;
}

function encodeScopeValue(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%2F/gi, '/');
}

/**
 * Check a Bearer realm before any credential is sent to it. It must be https; plain http only for
 * a loopback realm, or, for an `insecure` registry, on the registry's own host name.
 * @throws `AUTH_FAILED` naming the realm and the registry.
 */
export function validateRealm(
  realm: string | undefined,
  registryHost: string,
  options: { insecure?: boolean } = {},
): URL {
  let url: URL;
  try {
    if (!realm) throw new Error('missing');
    url = new URL(realm);
  } catch {
    throw new ImgdigestError(
      'AUTH_FAILED',
      `registry ${registryHost} sent a Bearer challenge without a valid realm URL ("${realm ?? ''}")`,
      {
        details: { registry: registryHost, realm: realm ?? null },
      },
    );
  }
  if (url.protocol === 'https:') return url;
  const sameHost =
    splitHostPort(url.host).hostname.toLowerCase() === splitHostPort(registryHost).hostname.toLowerCase();
  if (url.protocol === 'http:' && (isLoopbackHost(url.host) || (options.insecure === true && sameHost)))
    return url;
  throw new ImgdigestError(
    'AUTH_FAILED',
    `refusing token realm ${url.origin}${url.pathname} for registry ${registryHost}: a token realm must use https (plain http only on loopback)`,
    { details: { registry: registryHost, realm: `${url.origin}${url.pathname}` } },
  );
}

/** A token obtained from a token server, with when it stops being usable. */
export interface Token {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
  /** A new refresh token, when the server issued one (OAuth2 `refresh_token`). */
  refreshToken?: string;
}

/** Lifetime assumed when `expires_in` is missing, and the shortest one honoured (the token spec). */
export const MIN_TOKEN_LIFETIME_S = 60;

/**
 * Read a token response: `access_token` is preferred over `token` (both may be present), and the
 * lifetime is `expires_in` (default and minimum 60 s) from `issued_at` (now when absent).
 */
export function parseTokenResponse(
  body: Uint8Array | string,
  now: number = Date.now(),
  where = 'token server',
): Token {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    throw new ImgdigestError(
      'AUTH_FAILED',
      `${where} answered with something that is not a JSON token response`,
      {
        details: { where },
      },
    );
  }
  const token =
    typeof json.access_token === 'string' && json.access_token
      ? json.access_token
      : typeof json.token === 'string' && json.token
        ? json.token
        : null;
  if (!token) {
    throw new ImgdigestError(
      'AUTH_FAILED',
      `${where} answered without a token (neither access_token nor token)`,
      {
        details: { where },
      },
    );
  }
  const expiresIn =
    typeof json.expires_in === 'number' && Number.isFinite(json.expires_in)
      ? Math.max(MIN_TOKEN_LIFETIME_S, json.expires_in)
      : MIN_TOKEN_LIFETIME_S;
  const issued = typeof json.issued_at === 'string' ? Date.parse(json.issued_at) : Number.NaN;
  let expiresAt = (Number.isNaN(issued) ? now : issued) + expiresIn * 1000;
  // A token server whose clock runs behind would make every token look expired at once; then
  // count the lifetime from our own clock.
  if (expiresAt <= now) expiresAt = now + expiresIn * 1000;
  const result: Token = { token, expiresAt };
  if (typeof json.refresh_token === 'string' && json.refresh_token) result.refreshToken = json.refresh_token;
  return result;
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
