import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../../test/support/vectors.js';
import {
  basicAuthorization,
  challengeScopes,
  parseChallenges,
  parseScope,
  parseTokenResponse,
  pickChallenge,
  repositoryScope,
  tokenRequestUrl,
  validateRealm,
} from './auth.js';

const vectors = loadVectors();

describe('WWW-Authenticate challenges (vectors auth_challenges)', () => {
  const cases = vectors.auth_challenges as Array<{
    header: string;
    scheme: string;
    params: Record<string, string>;
    tokenRequest?: string;
  }>;
  it.each(cases.map((c) => [c.header, c] as const))('parses %s', (_header, c) => {
    const [challenge, ...rest] = parseChallenges(c.header);
    expect(rest).toEqual([]);
    expect(challenge).toEqual({ scheme: c.scheme, params: c.params });
    if (c.tokenRequest) {
      expect(tokenRequestUrl(c.params.realm!, c.params.service, challengeScopes(challenge!)).href).toBe(
        c.tokenRequest,
      );
    }
  });

  it('reads several challenges from one header and from several headers', () => {
    const parsed = parseChallenges(['Basic realm="r1", Bearer realm="https://a/t",service="s"', 'Negotiate']);
    expect(parsed.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(parsed[1]!.params).toEqual({ realm: 'https://a/t', service: 's' });
    expect(pickChallenge(parseChallenges('Negotiate, Bearer realm="x"'))?.scheme).toBe('bearer');
    expect(pickChallenge(parseChallenges('Negotiate'))).toBeNull();
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('lower-cases parameter names and tolerates spaces around =', () => {
    expect(parseChallenges('BEARER Realm = "https://a/t" , Service=x')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a/t', service: 'x' } },
    ]);
  });
});

describe('token scopes (vectors auth_scopes)', () => {
  const cases = vectors.auth_scopes as Array<{
    scope: string;
    type: string;
    name: string;
    actions: string[];
  }>;
  it.each(cases.map((c) => [c.scope, c] as const))('parses %s', (_scope, c) => {
    expect(parseScope(c.scope)).toEqual({ type: c.type, name: c.name, actions: c.actions });
  });

  it('builds repository scopes and refuses malformed ones', () => {
    expect(repositoryScope('library/nginx')).toBe('repository:library/nginx:pull');
    expect(repositoryScope('a/b', ['pull', 'push'])).toBe('repository:a/b:pull,push');
    expect(() => parseScope('repository')).toThrow(/invalid token scope/);
    expect(challengeScopes(parseChallenges('Bearer realm="x",scope="a:b:pull c:d:push"')[0]!)).toEqual([
      'a:b:pull',
      'c:d:push',
    ]);
  });

  it('adds one scope parameter per scope to the realm, keeping its own query', () => {
    const url = tokenRequestUrl('https://auth.example/token?x=1', 'svc', [
      'repository:a:pull',
      'repository:b:pull',
    ]);
    expect(url.href).toBe(
      'https://auth.example/token?x=1&service=svc&scope=repository:a:pull&scope=repository:b:pull',
    );
    expect(url.searchParams.getAll('scope')).toEqual(['repository:a:pull', 'repository:b:pull']);
  });
});

describe('token responses', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');

  it('prefers access_token over token', () => {
    expect(parseTokenResponse('{"token":"t","access_token":"a"}', now).token).toBe('a');
    expect(parseTokenResponse('{"token":"t"}', now).token).toBe('t');
    expect(parseTokenResponse('{"token":"t","access_token":""}', now).token).toBe('t');
  });

  it('defaults the lifetime to 60 s and never honours less', () => {
    expect(parseTokenResponse('{"token":"t"}', now).expiresAt).toBe(now + 60_000);
    expect(parseTokenResponse('{"token":"t","expires_in":10}', now).expiresAt).toBe(now + 60_000);
    expect(parseTokenResponse('{"token":"t","expires_in":300}', now).expiresAt).toBe(now + 300_000);
  });

  it('counts the lifetime from issued_at', () => {
    const issued = '2024-05-01T11:58:00Z';
    expect(parseTokenResponse(`{"token":"t","expires_in":300,"issued_at":"${issued}"}`, now).expiresAt).toBe(
      Date.parse(issued) + 300_000,
    );
    // A token server clock far behind ours would make the token dead on arrival: use our clock.
    expect(
      parseTokenResponse('{"token":"t","expires_in":60,"issued_at":"2020-01-01T00:00:00Z"}', now).expiresAt,
    ).toBe(now + 60_000);
  });

  it('keeps a refresh token and refuses bodies without a token, never echoing the body', () => {
    expect(parseTokenResponse('{"access_token":"a","refresh_token":"r"}', now).refreshToken).toBe('r');
    expect(() => parseTokenResponse('{"nothing":"secret-value"}', now)).toThrow(/without a token/);
    expect(() => parseTokenResponse('secret-value', now)).toThrow(/not a JSON token response/);
    try {
      parseTokenResponse('secret-value', now);
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('secret-value');
    }
  });
});

describe('realm check', () => {
  it('accepts https realms anywhere', () => {
    expect(validateRealm('https://auth.example.com/token', 'registry.example.com').host).toBe(
      'auth.example.com',
    );
  });

  it('accepts plain http only on loopback', () => {
    expect(validateRealm('http://127.0.0.1:9999/token', 'registry.example.com').port).toBe('9999');
    expect(validateRealm('http://localhost/token', '127.0.0.1:5000').hostname).toBe('localhost');
    expect(() => validateRealm('http://auth.example.com/token', '127.0.0.1:5000')).toThrow(
      /refusing token realm http:\/\/auth.example.com\/token for registry 127.0.0.1:5000/,
    );
  });

  it('allows an http realm on the registry host itself for an insecure registry only', () => {
    expect(() => validateRealm('http://reg.internal:5001/token', 'reg.internal:5000')).toThrow(
      /must use https/,
    );
    expect(
      validateRealm('http://reg.internal:5001/token', 'reg.internal:5000', { insecure: true }).port,
    ).toBe('5001');
    expect(() =>
      validateRealm('http://other.internal/token', 'reg.internal:5000', { insecure: true }),
    ).toThrow();
  });

  it('refuses missing or broken realms with AUTH_FAILED', () => {
    expect(() => validateRealm(undefined, 'r')).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
    expect(() => validateRealm('not a url', 'r')).toThrow(/without a valid realm/);
  });
});

describe('Basic header', () => {
  it('encodes user:password in base64 (vectors docker_config_auth)', () => {
    for (const v of vectors.docker_config_auth as Array<{
      username?: string;
      password?: string;
      auth: string;
    }>) {
      if (v.username === undefined || v.password === undefined) continue;
      expect(basicAuthorization(v.username, v.password)).toBe(`Basic ${v.auth}`);
    }
  });
});
