/**
 * @module registry/session
 * The auth handshake with one registry, as go-containerregistry's transport does it:
 *
 * 1. Ping `GET /v2/` without credentials (once per registry, shared by concurrent callers).
 * 2. 200: no auth. 401: the `WWW-Authenticate` challenge decides, Basic or Bearer.
 * 3. Basic: the keychain's username and password on every request.
 * 4. Bearer: a token for (registry, service, scopes) from the realm, cached until it expires and
 *    fetched once even when a hundred requests need it at once. A `registrytoken` is sent as is;
 *    an `identitytoken` is exchanged with an OAuth2 refresh-token POST (GET on a 404).
 * 5. A later 401 whose challenge names a new scope widens the scope set and retries once; a 401
 *    for a cached token drops it and retries once. Anything else is `AUTH_FAILED`, naming the
 *    registry and where the credentials came from, never the credentials.
 */
import { abortable } from '../../core/async.js';
import { ImgdigestError } from '../../core/errors.js';
import {
  basicAuthorization,
  type Challenge,
  challengeScopes,
  parseChallenges,
  parseTokenResponse,
  pickChallenge,
  type Token,
  tokenRequestUrl,
  validateRealm,
} from './auth.js';
import type { Credential, Keychain } from './credentials/keychain.js';
import { parseErrorBody, type RequestSubjectKind, redactUrl, registryError } from './errors.js';
import type { Scheme } from './scheme.js';
import { type TokenCache, tokenCacheKey } from './token-cache.js';
import { type HttpRequest, type HttpResponse, RequestTarget, type Transport } from './transport.js';

export interface SessionOptions {
  /** The host to connect to (`registry-1.docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** The registry's name for people and for the keychain (`docker.io`, `127.0.0.1:5000`). */
  name: string;
  scheme: Scheme;
  transport: Transport;
  keychain: Keychain;
  tokens: TokenCache;
  insecure?: boolean;
}

/** A request to the registry, before auth. */
export interface SessionRequest extends Omit<HttpRequest, 'url' | 'authorization'> {
  /** A path (`/v2/...`) on the registry, or an absolute URL (upload locations). */
  url: string | URL;
  /** Token scopes this request needs (`repository:app:pull`). */
  scopes: readonly string[];
}

/** What failed authentication is about, for messages. */
interface AuthContext {
  method: string;
  url: URL;
  status: number;
  body: Uint8Array | null;
}

/** The `Authorization` of a request; `cached` and `key` for a token from the cache (dropped on a 401). */
interface Authorization {
  readonly header: string;
  readonly cached: boolean;
  readonly key?: string;
}

const OAUTH_CLIENT_ID = 'imgdigest';
const MAX_AUTH_BODY = 64 * 1024;

export class RegistrySession {
  readonly host: string;
  readonly name: string;
  readonly base: URL;
  /** The registry's root as a request target: paths on it are sent without a URL each. */
  readonly #root: RequestTarget;
  readonly #options: SessionOptions;
  #challenge: Promise<Challenge | null> | undefined;
  #credential: Promise<Credential | null> | undefined;
  /** The ping's answer once it came (undefined before): read without a promise. */
  #pinged: Challenge | null | undefined;
  /** The keychain's answer once it came (undefined before). */
  #credentialValue: Credential | null | undefined;
  /** The Basic authorization of the credential, made once. */
  #basicAuth: Authorization | undefined;
  /** The authorization of the credential's registry token, made once. */
  #registryTokenAuth: Authorization | undefined;
  /** The authorization of each cached bearer token, made once per token, not per request. */
  readonly #bearer = new WeakMap<Token, Authorization>();
  /** A refresh token handed back by the token server replaces the configured identity token. */
  #refreshToken: string | undefined;
  readonly #learnedScopes = new Map<string, string[]>();

  constructor(options: SessionOptions) {
    this.#options = options;
    this.host = options.host;
    this.name = options.name;
    this.base = new URL(`${options.scheme}://${options.host}`);
    this.#root = RequestTarget.of(this.base);
  }

  /** Send a request with whatever auth the registry asks for. Non-2xx answers are returned, except auth failures. */
  async request(req: SessionRequest): Promise<HttpResponse> {
    // A path on the registry is sent as one: no URL parsed per request (see RequestTarget).
    const target = typeof req.url === 'string' ? this.#root.resolve(req.url) : RequestTarget.of(req.url);
    // Once the ping has answered, its answer is read without a promise (most requests).
    let challenge = this.#pinged !== undefined ? this.#pinged : await abortable(this.#ping(), req.signal);
    const asked = req.scopes.length === 1 ? req.scopes[0]! : [...req.scopes].sort().join(' ');
    // Scopes a registry asked for on top of these before (go-containerregistry keeps them too):
    // starting with them saves a 401 and a token fetch on every later request. (Never changed in
    // place: widening makes a new array.)
    let scopes: readonly string[] = this.#learnedScopes.get(asked) ?? req.scopes;
    let retried = false;
    // What the transport is sent: the caller's request with the target and the authorization (one
    // copy; its `scopes` ride along unread, cheaper than copying the object without them).
    const sent: HttpRequest & { scopes: readonly string[] } = {
      ...req,
      url: target,
      authorization: undefined,
    };
    for (;;) {
      // A known answer (no auth, Basic, a cached token) comes without a promise.
      // (null is an answer: no auth; undefined means the keychain or token server must be asked.)
      let auth = this.#authorizationNow(challenge, scopes);
      if (auth === undefined) auth = await this.#authorization(challenge, scopes, req.signal);
      // Upload locations may point elsewhere; credentials are only for the registry itself.
      sent.authorization = auth && target.origin === this.#root.origin ? auth.header : undefined;
      const response = await this.#options.transport.send(sent);
      if (response.status !== 401) return response;
      const next = pickChallenge(parseChallenges(response.headers['www-authenticate']));
      if (!retried && next) {
        const widened = [...new Set([...scopes, ...challengeScopes(next)])];
        const changed = next.scheme !== challenge?.scheme;
        if (changed || widened.length > scopes.length || auth?.cached) {
          retried = true;
          if (auth?.key) this.#options.tokens.delete(auth.key);
          if (changed) {
            // The ping said one thing and the resource another (ping open, repository protected).
            this.#challenge = Promise.resolve(next);
            this.#pinged = next;
            challenge = next;
          }
          if (widened.length > scopes.length) this.#learnedScopes.set(asked, widened);
          scopes = widened;
          await response.dump();
          continue;
        }
      }
      const body = await response.bytes(MAX_AUTH_BODY).catch(() => null);
      throw await this.#authFailed(
        { method: response.method, url: response.url, status: 401, body },
        req.signal,
      );
    }
  }

  /** The auth scheme the registry's `/v2/` asks for (`basic`, `bearer`), or null for none. */
  async authScheme(signal?: AbortSignal): Promise<string | null> {
    return (await abortable(this.#ping(), signal))?.scheme ?? null;
  }

  /** Step 1: ping once; concurrent callers share the answer; a failed ping is tried again next time. */
  #ping(): Promise<Challenge | null> {
    this.#challenge ??= this.#doPing().then(
      (challenge) => {
        this.#pinged ??= challenge;
        return challenge;
      },
      (error: unknown) => {
        this.#challenge = undefined;
        throw error;
      },
    );
    return this.#challenge;
  }

  async #doPing(): Promise<Challenge | null> {
    const url = new URL('/v2/', this.base);
    const response = await this.#options.transport.send({ method: 'GET', url });
    if (response.status === 401) {
      await response.dump();
      return pickChallenge(parseChallenges(response.headers['www-authenticate']));
    }
    if (response.status < 300 || response.status === 404) {
      // 404: some registries do not serve /v2/ itself; requests will show what they need.
      await response.dump();
      return null;
    }
    throw this.#error(response, await response.bytes(MAX_AUTH_BODY).catch(() => null), this.name, 'ping');
  }

  /** The keychain is asked once per session. */
  #credentials(signal?: AbortSignal): Promise<Credential | null> {
    this.#credential ??= this.#options.keychain.resolve(this.name).then(
      (credential) => {
        this.#credentialValue = credential;
        return credential;
      },
      (error: unknown) => {
        this.#credential = undefined;
        throw error;
      },
    );
    return abortable(this.#credential, signal);
  }

  /**
   * The authorization when it is known without waiting: no challenge, Basic with the keychain's
   * answer in hand, a registry token, or a cached bearer token. Undefined when only
   * {@link #authorization} can say (the keychain or the token server has to be asked).
   */
  #authorizationNow(
    challenge: Challenge | null,
    scopes: readonly string[],
  ): Authorization | null | undefined {
    if (!challenge) return null;
    const credential = this.#credentialValue;
    if (credential === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      if (credential?.username !== undefined && credential.password !== undefined) {
        this.#basicAuth ??= {
          header: basicAuthorization(credential.username, credential.password),
          cached: false,
        };
        return this.#basicAuth;
      }
      return null;
    }
    if (credential?.registryToken) {
      this.#registryTokenAuth ??= { header: `Bearer ${credential.registryToken}`, cached: false };
      return this.#registryTokenAuth;
    }
    const key = tokenCacheKey(this.host, challenge.params.service, scopes);
    const token = this.#options.tokens.get(key);
    if (!token) return undefined;
    // The header string of a token (often kilobytes) is made once, not joined again per request.
    let auth = this.#bearer.get(token);
    if (auth?.key !== key) {
      auth = { header: `Bearer ${token.token}`, cached: true, key };
      this.#bearer.set(token, auth);
    }
    return auth;
  }

  async #authorization(
    challenge: Challenge | null,
    scopes: readonly string[],
    signal?: AbortSignal,
  ): Promise<Authorization | null> {
    if (!challenge) return null;
    const credential = await this.#credentials(signal);
    if (challenge.scheme === 'basic') {
      if (credential?.username !== undefined && credential.password !== undefined) {
        return { header: basicAuthorization(credential.username, credential.password), cached: false };
      }
      return null;
    }
    if (credential?.registryToken) return { header: `Bearer ${credential.registryToken}`, cached: false };
    const key = tokenCacheKey(this.host, challenge.params.service, scopes);
    const { token, cached } = await abortable(
      this.#options.tokens.getOrFetch(key, () => this.#fetchToken(challenge, scopes, credential)),
      signal,
    );
    return { header: `Bearer ${token.token}`, cached, key };
  }

  /** Step 4: a token from the realm (no caller signal: the fetch is shared by every waiting caller). */
  async #fetchToken(
    challenge: Challenge,
    scopes: readonly string[],
    credential: Credential | null,
  ): Promise<Token> {
    const realm = validateRealm(challenge.params.realm, this.name, {
      insecure: this.#options.insecure === true,
    });
    const service = challenge.params.service;
    const refreshToken = this.#refreshToken ?? credential?.identityToken;
    if (refreshToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: OAUTH_CLIENT_ID,
      });
      if (service) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      const response = await this.#options.transport.send({
        method: 'POST',
        url: realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      // oauth.md: a token server without the OAuth2 endpoint answers 404; use the GET form then.
      if (response.status !== 404) return this.#readToken(response, credential);
      await response.dump();
    }
    const url = tokenRequestUrl(realm, service, scopes);
    const hasBasic = credential?.username !== undefined && credential.password !== undefined;
    const response = await this.#options.transport.send({
      method: 'GET',
      url,
      ...(hasBasic ? { authorization: basicAuthorization(credential.username!, credential.password!) } : {}),
    });
    return this.#readToken(response, credential);
  }

  async #readToken(response: HttpResponse, credential: Credential | null): Promise<Token> {
    const body = await response.bytes(MAX_AUTH_BODY);
    if (response.status === 401 || response.status === 403) {
      throw await this.#authFailed(
        { method: response.method, url: response.url, status: response.status, body },
        undefined,
        credential,
      );
    }
    if (response.status !== 200) throw this.#error(response, body, `token for ${this.name}`, 'token');
    const token = parseTokenResponse(body, Date.now(), `token server ${redactUrl(response.url)}`);
    if (token.refreshToken) this.#refreshToken = token.refreshToken;
    return token;
  }

  async #authFailed(
    ctx: AuthContext,
    signal?: AbortSignal,
    known?: Credential | null,
  ): Promise<ImgdigestError> {
    const credential = known !== undefined ? known : await this.#credentials(signal).catch(() => null);
    const entries = parseErrorBody(ctx.body);
    const codes = entries.length > 0 ? `${entries.map((e) => e.code).join(', ')}, ` : '';
    const where = `${codes}${ctx.method} ${redactUrl(ctx.url)} ${ctx.status}`;
    const message = credential
      ? `unauthorized: authentication to ${this.name} failed with credentials from ${credential.source} (${where})`
      : `unauthorized: ${this.name} requires authentication and no credentials were found (looked in ${this.#options.keychain.describe()}) (${where})`;
    return new ImgdigestError('AUTH_FAILED', message, {
      details: {
        status: ctx.status,
        registryCode: entries[0]?.code ?? null,
        method: ctx.method,
        url: redactUrl(ctx.url),
        registry: this.name,
        credentialSource: credential?.source ?? null,
      },
    });
  }

  #error(
    response: HttpResponse,
    body: Uint8Array | null,
    subject: string,
    kind: RequestSubjectKind,
  ): ImgdigestError {
    return registryError({
      method: response.method,
      url: response.url,
      status: response.status,
      body,
      subject,
      kind,
    });
  }
}
