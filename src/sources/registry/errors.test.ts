import { describe, expect, it } from 'vitest';
import { networkError, parseErrorBody, redactUrl, registryError } from './errors.js';

const body = (errors: unknown) => new TextEncoder().encode(JSON.stringify({ errors }));

describe('registry error mapping', () => {
  it('names the repository, tag, registry code, method, URL and status in one line', () => {
    const e = registryError({
      method: 'GET',
      url: 'http://127.0.0.1:5000/v2/app/manifests/nope',
      status: 404,
      body: body([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'nope' } }]),
      subject: '127.0.0.1:5000/app:nope',
      kind: 'manifest',
    });
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(
      'manifest unknown: 127.0.0.1:5000/app:nope not found (MANIFEST_UNKNOWN, GET http://127.0.0.1:5000/v2/app/manifests/nope 404)',
    );
    expect(e.message).not.toContain('\n');
    expect(e.details).toMatchObject({
      status: 404,
      registryCode: 'MANIFEST_UNKNOWN',
      method: 'GET',
      url: 'http://127.0.0.1:5000/v2/app/manifests/nope',
    });
    expect(e.retryable).toBe(false);
  });

  it('names a 404 without a body by what was asked', () => {
    const e = registryError({
      method: 'HEAD',
      url: 'http://r/v2/a/blobs/sha256:x',
      status: 404,
      subject: 'r/a@sha256:x',
      kind: 'blob',
    });
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe('blob unknown: r/a@sha256:x not found (HEAD http://r/v2/a/blobs/sha256:x 404)');
    expect(e.details.registryCode).toBeNull();
  });

  it.each([
    [401, 'UNAUTHORIZED', 'AUTH_FAILED', false],
    [403, 'DENIED', 'AUTH_FAILED', false],
    [404, 'NAME_UNKNOWN', 'NOT_FOUND', false],
    [404, 'BLOB_UNKNOWN', 'NOT_FOUND', false],
    [429, 'TOOMANYREQUESTS', 'REGISTRY_ERROR', true],
    [503, 'UNAVAILABLE', 'REGISTRY_ERROR', true],
    [400, 'MANIFEST_INVALID', 'REGISTRY_ERROR', false],
    [400, 'DIGEST_INVALID', 'REGISTRY_ERROR', false],
  ] as const)('maps %i %s to %s (retryable %s)', (status, registryCode, code, retryable) => {
    const e = registryError({
      method: 'GET',
      url: 'https://r/v2/x',
      status,
      body: body([{ code: registryCode, message: 'm' }]),
      subject: 'r/x',
      kind: 'manifest',
    });
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(retryable);
    expect(e.details.registryCode).toBe(registryCode);
    expect(e.message).toContain(`${registryCode}, GET https://r/v2/x ${status}`);
  });

  it('keeps the registry message when it says more than the code', () => {
    const e = registryError({
      method: 'PUT',
      url: 'https://r/v2/x/manifests/t',
      status: 400,
      body: body([
        { code: 'MANIFEST_INVALID', message: 'manifest invalid' },
        { code: 'TAG_INVALID', message: 'tag\n  is bad' },
      ]),
      subject: 'r/x:t',
      kind: 'manifest',
    });
    expect(e.message).toBe(
      'manifest invalid: r/x:t (MANIFEST_INVALID, TAG_INVALID, PUT https://r/v2/x/manifests/t 400)',
    );
    expect(e.details.registryCodes).toEqual(['MANIFEST_INVALID', 'TAG_INVALID']);
    const denied = registryError({
      method: 'GET',
      url: 'https://r/v2/',
      status: 403,
      body: body([{ code: 'DENIED', message: 'requested access to the resource is denied' }]),
      subject: 'r',
      kind: 'ping',
    });
    expect(denied.message).toBe(
      'denied: r: requested access to the resource is denied (DENIED, GET https://r/v2/ 403)',
    );
  });

  it('reads only well-formed error bodies', () => {
    expect(parseErrorBody('not json')).toEqual([]);
    expect(parseErrorBody('{"errors":"x"}')).toEqual([]);
    expect(parseErrorBody('{"errors":[{"code":1},{"code":"A"}]}')).toEqual([{ code: 'A' }]);
    expect(parseErrorBody(undefined)).toEqual([]);
  });
});

describe('URLs in messages', () => {
  it('drops user info and redacts query values that may be secrets', () => {
    expect(
      redactUrl(
        'https://user:pw@s3.example/bucket/blob?X-Amz-Signature=abc&X-Amz-Credential=k&digest=sha256:1',
      ),
    ).toBe(
      'https://s3.example/bucket/blob?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&digest=sha256:1',
    );
    expect(redactUrl('http://r/v2/a/tags/list?n=2&last=b')).toBe('http://r/v2/a/tags/list?n=2&last=b');
    expect(redactUrl('https://auth/token?service=s&scope=repository:a:pull&refresh_token=zzz')).toBe(
      'https://auth/token?service=s&scope=repository:a:pull&refresh_token=REDACTED',
    );
    expect(redactUrl('::')).toBe('(invalid URL)');
  });
});

describe('network errors', () => {
  it('turns undici timeouts into TIMEOUT with the configured time', () => {
    const e = networkError(
      Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      'HEAD',
      'http://r/v2/',
      500,
    );
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toBe('timeout: HEAD http://r/v2/: no response headers within 500 ms');
    expect(e.retryable).toBe(true);
  });

  it('names the first address of an AggregateError (Node tries several)', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const agg = Object.assign(new AggregateError([inner], ''), { code: 'ECONNREFUSED' });
    const e = networkError(agg, 'GET', 'http://127.0.0.1:1/v2/');
    expect(e.code).toBe('NETWORK_ERROR');
    expect(e.message).toBe('network error: GET http://127.0.0.1:1/v2/: connection refused (ECONNREFUSED)');
    expect(e.retryable).toBe(true);
  });
});
