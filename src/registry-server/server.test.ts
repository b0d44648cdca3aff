import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  imageFixture,
  indexFixture,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  withDigest,
} from '../../test/registry-server/client.js';
import { sha256 } from '../../test/support/sha256.js';
import { MemoryStorage, type RunningRegistry, startRegistry } from './index.js';

let reg: RunningRegistry;
let base: string;

beforeAll(async () => {
  reg = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  base = reg.url;
});
afterAll(() => reg?.close());

describe('the /v2/ endpoint', () => {
  it('answers 200 with the Docker API version header', async () => {
    const res = await call(base, 'GET', '/v2/');
    expect(res.status).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(res.json()).toEqual({});
  });
});

describe('pulling blobs', () => {
  const bytes = Buffer.from('0123456789abcdef');
  let digest: string;
  beforeAll(async () => {
    digest = await pushBlob(base, 'pull/blobs', bytes);
  });

  it('serves the bytes with digest, type and length headers', async () => {
    const res = await call(base, 'GET', `/v2/pull/blobs/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(bytes)).toBe(true);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-length']).toBe(String(bytes.length));
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await call(base, 'HEAD', `/v2/pull/blobs/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(res.body.length).toBe(0);
  });

  it.each([
    ['bytes=2-4', '234', 'bytes 2-4/16'],
    ['bytes=-3', 'def', 'bytes 13-15/16'],
    ['bytes=10-', 'abcdef', 'bytes 10-15/16'],
    ['bytes=14-100', 'ef', 'bytes 14-15/16'],
  ])('serves Range %s as 206 with Content-Range', async (range, body, contentRange) => {
    const res = await call(base, 'GET', `/v2/pull/blobs/blobs/${digest}`, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.body.toString()).toBe(body);
    expect(res.headers['content-range']).toBe(contentRange);
    expect(res.headers['content-length']).toBe(String(body.length));
  });

  it('answers an unsatisfiable range with 416 and the size', async () => {
    const res = await call(base, 'GET', `/v2/pull/blobs/blobs/${digest}`, {
      headers: { range: 'bytes=16-' },
    });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */16');
    expect(res.codes()).toEqual(['RANGE_INVALID']);
  });

  it('does not serve a blob of another repository', async () => {
    const res = await call(base, 'GET', `/v2/pull/other/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(res.codes()).toEqual(['BLOB_UNKNOWN']);
  });

  it('refuses a malformed digest with DIGEST_INVALID', async () => {
    const res = await call(base, 'GET', '/v2/pull/blobs/blobs/sha256:1234');
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['DIGEST_INVALID']);
  });
});

describe('pushing blobs', () => {
  it('accepts a monolithic POST ?digest= with 201 and Location', async () => {
    const bytes = Buffer.from('monolithic');
    const digest = sha256(bytes);
    const res = await call(base, 'POST', `/v2/push/mono/blobs/uploads/?digest=${digest}`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/push/mono/blobs/${digest}`);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect((await call(base, 'GET', res.headers.location!)).body.equals(bytes)).toBe(true);
  });

  it('refuses a monolithic upload whose bytes do not match the digest, and keeps nothing', async () => {
    const claimed = sha256('something else');
    const res = await call(base, 'POST', `/v2/push/mono/blobs/uploads/?digest=${claimed}`, {
      body: 'actual bytes',
    });
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['DIGEST_INVALID']);
    expect((await call(base, 'HEAD', `/v2/push/mono/blobs/${claimed}`)).status).toBe(404);
    expect((await call(base, 'HEAD', `/v2/push/mono/blobs/${sha256('actual bytes')}`)).status).toBe(404);
  });

  it('stores the empty blob with a monolithic POST and with POST + bodiless PUT', async () => {
    const empty = sha256('');
    const mono = await call(base, 'POST', `/v2/push/empty/blobs/uploads/?digest=${empty}`, {
      headers: { 'content-length': '0' },
    });
    expect(mono.status).toBe(201);
    const start = await call(base, 'POST', '/v2/push/empty2/blobs/uploads/');
    expect((await call(base, 'PUT', withDigest(start.headers.location!, empty, base))).status).toBe(201);
    for (const repo of ['push/empty', 'push/empty2']) {
      const res = await call(base, 'GET', `/v2/${repo}/blobs/${empty}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('0');
    }
  });

  it('runs the chunked flow: order enforced with 416, status, then PUT closes', async () => {
    const start = await call(base, 'POST', '/v2/push/chunked/blobs/uploads/', {
      headers: { 'content-length': '0' },
    });
    expect(start.status).toBe(202);
    expect(start.headers.range).toBe('0-0');
    let location = start.headers.location!;

    const early = await call(base, 'PATCH', location, {
      body: 'def',
      headers: { 'content-range': '3-5', 'content-type': 'application/octet-stream' },
    });
    expect(early.status).toBe(416);

    const first = await call(base, 'PATCH', location, {
      body: 'abc',
      headers: { 'content-range': '0-2', 'content-type': 'application/octet-stream' },
    });
    expect(first.status).toBe(202);
    expect(first.headers.range).toBe('0-2');
    location = first.headers.location!;

    const again = await call(base, 'PATCH', location, { body: 'abc', headers: { 'content-range': '0-2' } });
    expect(again.status).toBe(416);

    const status = await call(base, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-2');
    expect(status.headers.location).toBe(location);
    const headStatus = await call(base, 'HEAD', location);
    expect(headStatus.status).toBe(204);
    expect(headStatus.headers.range).toBe('0-2');

    const second = await call(base, 'PATCH', location, { body: 'def', headers: { 'content-range': '3-5' } });
    expect(second.status).toBe(202);
    expect(second.headers.range).toBe('0-5');

    const digest = sha256('abcdef');
    const done = await call(base, 'PUT', withDigest(second.headers.location!, digest, base));
    expect(done.status).toBe(201);
    expect(done.headers['docker-content-digest']).toBe(digest);
    expect((await call(base, 'GET', `/v2/push/chunked/blobs/${digest}`)).body.toString()).toBe('abcdef');
  });

  it('accepts a streamed PATCH without Content-Range and a final chunk in the PUT', async () => {
    const start = await call(base, 'POST', '/v2/push/stream/blobs/uploads/');
    const patched = await call(base, 'PATCH', start.headers.location!, { body: 'streamed ' });
    expect(patched.status).toBe(202);
    expect(patched.headers.range).toBe('0-8');
    const digest = sha256('streamed and closed');
    const done = await call(base, 'PUT', withDigest(patched.headers.location!, digest, base), {
      body: 'and closed',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(done.status).toBe(201);
    expect((await call(base, 'GET', `/v2/push/stream/blobs/${digest}`)).body.toString()).toBe(
      'streamed and closed',
    );
  });

  it('cancels an upload with DELETE (204), after which the session is unknown', async () => {
    const start = await call(base, 'POST', '/v2/push/cancel/blobs/uploads/');
    const cancelled = await call(base, 'DELETE', start.headers.location!);
    expect(cancelled.status).toBe(204);
    const status = await call(base, 'GET', start.headers.location!);
    expect(status.status).toBe(404);
    expect(status.codes()).toEqual(['BLOB_UPLOAD_UNKNOWN']);
  });

  it('answers PUT without ?digest= with DIGEST_INVALID', async () => {
    const start = await call(base, 'POST', '/v2/push/nodigest/blobs/uploads/');
    const res = await call(base, 'PUT', start.headers.location!, { body: 'x' });
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['DIGEST_INVALID']);
  });

  it('mounts a blob from another repository with 201, or opens a session when it cannot', async () => {
    const digest = await pushBlob(base, 'mount/source', 'mountable');
    const mounted = await call(
      base,
      'POST',
      `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`,
    );
    expect(mounted.status).toBe(201);
    expect(mounted.headers.location).toBe(`/v2/mount/target/blobs/${digest}`);
    expect(mounted.headers['docker-content-digest']).toBe(digest);
    expect((await call(base, 'GET', `/v2/mount/target/blobs/${digest}`)).body.toString()).toBe('mountable');

    const missing = sha256('not anywhere');
    const fallback = await call(
      base,
      'POST',
      `/v2/mount/target/blobs/uploads/?mount=${missing}&from=mount/source`,
    );
    expect(fallback.status).toBe(202);
    expect(fallback.headers.location).toMatch(/^\/v2\/mount\/target\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const noFrom = await call(base, 'POST', `/v2/mount/target2/blobs/uploads/?mount=${digest}`);
    expect(noFrom.status).toBe(202);
  });

  it('computes sha512 when the client asks for it with digest-algorithm', async () => {
    const { createHash } = await import('node:crypto');
    const digest = `sha512:${createHash('sha512').update('five twelve').digest('hex')}`;
    const start = await call(base, 'POST', '/v2/push/sha512/blobs/uploads/?digest-algorithm=sha512');
    expect(start.status).toBe(202);
    const done = await call(base, 'PUT', withDigest(start.headers.location!, digest, base), {
      body: 'five twelve',
    });
    expect(done.status).toBe(201);
    expect((await call(base, 'GET', `/v2/push/sha512/blobs/${digest}`)).body.toString()).toBe('five twelve');
  });
});

describe('manifests', () => {
  const image = imageFixture('manifests');

  it('stores a manifest under a tag and serves the exact bytes by tag and by digest', async () => {
    const put = await pushImage(base, 'man/app', image, 'v1');
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(image.digest);
    expect(put.headers.location).toBe(`/v2/man/app/manifests/${image.digest}`);
    for (const ref of ['v1', image.digest]) {
      const res = await call(base, 'GET', `/v2/man/app/manifests/${ref}`, {
        headers: { accept: OCI_MANIFEST },
      });
      expect(res.status).toBe(200);
      expect(res.body.equals(image.manifest)).toBe(true);
      expect(res.headers['content-type']).toBe(OCI_MANIFEST);
      expect(res.headers['docker-content-digest']).toBe(image.digest);
    }
    const head = await call(base, 'HEAD', '/v2/man/app/manifests/v1');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(image.manifest.length));
    expect(head.body.length).toBe(0);
  });

  it('serves the media type the manifest was pushed with', async () => {
    const dockerType = 'application/vnd.docker.distribution.manifest.v2+json';
    const docker = imageFixture('docker-type', { mediaType: dockerType });
    for (const blob of [docker.config, ...docker.layers]) await pushBlob(base, 'man/docker', blob);
    const put = await call(base, 'PUT', '/v2/man/docker/manifests/d', {
      body: docker.manifest,
      headers: { 'content-type': dockerType },
    });
    expect(put.status).toBe(201);
    expect((await call(base, 'HEAD', '/v2/man/docker/manifests/d')).headers['content-type']).toBe(dockerType);
  });

  it('refuses a manifest whose blobs are missing, naming each one', async () => {
    const lonely = imageFixture('lonely');
    const res = await call(base, 'PUT', '/v2/man/missing/manifests/x', {
      body: lonely.manifest,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    expect((await call(base, 'GET', '/v2/man/missing/manifests/x')).status).toBe(404);
  });

  it('accepts an index only when its children are manifests of the repository', async () => {
    const children = [imageFixture('child-a'), imageFixture('child-b')];
    const index = indexFixture(children);
    const early = await call(base, 'PUT', '/v2/man/index/manifests/multi', {
      body: index.bytes,
      headers: { 'content-type': OCI_INDEX },
    });
    expect(early.status).toBe(400);
    expect(early.codes()).toEqual(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    for (const child of children)
      expect((await pushImage(base, 'man/index', child, child.digest)).status).toBe(201);
    const put = await call(base, 'PUT', '/v2/man/index/manifests/multi', {
      body: index.bytes,
      headers: { 'content-type': OCI_INDEX },
    });
    expect(put.status).toBe(201);
    const got = await call(base, 'GET', '/v2/man/index/manifests/multi');
    expect(got.headers['content-type']).toBe(OCI_INDEX);
    expect(got.headers['docker-content-digest']).toBe(index.digest);
  });

  it('refuses a PUT by digest whose bytes have another digest', async () => {
    const res = await call(base, 'PUT', `/v2/man/app/manifests/${sha256('other')}`, {
      body: image.manifest,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['DIGEST_INVALID']);
  });

  it('refuses invalid JSON and schema-less documents with MANIFEST_INVALID', async () => {
    for (const body of ['{not json', '{"schemaVersion":2}', '[]']) {
      const res = await call(base, 'PUT', '/v2/man/app/manifests/bad', {
        body,
        headers: { 'content-type': OCI_MANIFEST },
      });
      expect(res.status).toBe(400);
      expect(res.codes()).toEqual(['MANIFEST_INVALID']);
    }
  });

  it('answers a manifest over 4 MiB with 413', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const res = await call(base, 'PUT', '/v2/man/app/manifests/big', {
      body: big,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(413);
    expect(res.codes()).toEqual(['MANIFEST_INVALID']);
    expect((await call(base, 'GET', '/v2/')).status).toBe(200);
  });

  it('adds the ?tag= tags of a PUT by digest and reports them in OCI-Tag', async () => {
    const tagged = imageFixture('tag-param');
    for (const blob of [tagged.config, ...tagged.layers]) await pushBlob(base, 'man/tagparam', blob);
    const res = await call(base, 'PUT', `/v2/man/tagparam/manifests/${tagged.digest}?tag=one&tag=two`, {
      body: tagged.manifest,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(201);
    expect(res.headers['oci-tag']).toBe('one, two');
    expect((await call(base, 'GET', '/v2/man/tagparam/tags/list')).json()).toEqual({
      name: 'man/tagparam',
      tags: ['one', 'two'],
    });
  });

  it('answers unknown tags and digests with MANIFEST_UNKNOWN', async () => {
    for (const ref of ['nope', sha256('nope')]) {
      const res = await call(base, 'GET', `/v2/man/app/manifests/${ref}`);
      expect(res.status).toBe(404);
      expect(res.codes()).toEqual(['MANIFEST_UNKNOWN']);
    }
  });

  it('answers a wrong method with 405 UNSUPPORTED', async () => {
    const res = await call(base, 'POST', '/v2/man/app/manifests/v1');
    expect(res.status).toBe(405);
    expect(res.codes()).toEqual(['UNSUPPORTED']);
  });
});

describe('content types a browser could misread', () => {
  it('refuses a manifest pushed as text/html, so the registry never serves it back as a page', async () => {
    const page = imageFixture('html', { annotations: { x: '<script>alert(1)</script>' } });
    for (const blob of [page.config, ...page.layers]) await pushBlob(base, 'xss/page', blob);
    const put = await call(base, 'PUT', '/v2/xss/page/manifests/html', {
      body: page.manifest,
      headers: { 'content-type': 'text/html' },
    });
    expect(put.status).toBe(400);
    expect(put.codes()).toEqual(['MANIFEST_INVALID']);
    expect(put.json<{ errors: Array<{ message: string }> }>().errors[0]!.message).toMatch(
      /Content-Type "text\/html" is not accepted/,
    );
    expect((await call(base, 'GET', '/v2/xss/page/manifests/html')).status).toBe(404);
  });

  it('sends X-Content-Type-Options: nosniff with every answer', async () => {
    const image = imageFixture('nosniff');
    expect((await pushImage(base, 'sniff/app', image, 'v1')).status).toBe(201);
    const answers = [
      await call(base, 'GET', '/v2/'),
      await call(base, 'GET', '/v2/sniff/app/manifests/v1'),
      await call(base, 'HEAD', '/v2/sniff/app/manifests/v1'),
      await call(base, 'GET', `/v2/sniff/app/blobs/${sha256(image.layers[0]!)}`),
      await call(base, 'GET', '/v2/sniff/app/tags/list'),
      await call(base, 'GET', '/v2/sniff/app/manifests/missing'),
      await call(base, 'POST', '/v2/sniff/app/blobs/uploads/'),
      await call(base, 'GET', '/nowhere'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 404, 202, 404]);
    for (const answer of answers) expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves a manifest an older version stored under a non-manifest type as application/octet-stream', async () => {
    const storage = new MemoryStorage();
    const image = imageFixture('legacy');
    const digest = image.digest;
    await storage.putBlobBytes(digest, image.manifest);
    await storage.putManifestMeta('legacy/app', {
      digest,
      mediaType: 'text/html',
      size: image.manifest.length,
    });
    await storage.putTag('legacy/app', 'old', digest);
    const legacy = await startRegistry({ addr: '127.0.0.1:0', storage });
    try {
      const res = await call(legacy.url, 'GET', '/v2/legacy/app/manifests/old');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await legacy.close();
    }
  });
});
