/**
 * Differential tests: the same request sequences go to the real CNCF registry (Debian's
 * distribution 2.8) and to the embedded registry, and both must answer alike: status codes, the
 * headers the distribution-spec requires, and the error codes of the bodies.
 *
 * Where distribution 2.8 deviates from the OCI distribution-spec, the embedded registry follows
 * the spec; each such step is listed in DEVIATIONS with the spec's answer (asserted for ours) and
 * what distribution 2.8 was seen to answer (for the record, not asserted).
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { sha256 } from '../support/sha256.js';
import { removeTempDir, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import {
  type Answer,
  type CallOptions,
  call,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  imageFixture,
  indexFixture,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  withDigest,
} from './client.js';

/** What is compared of one answer. */
interface Observation {
  step: string;
  status: number;
  codes: string[];
  headers: Record<string, string>;
  /** The parsed body of a successful JSON answer (its length differs: Go adds a newline). */
  json?: unknown;
}

const COMPARED_HEADERS = [
  'docker-content-digest',
  'content-range',
  'range',
  'www-authenticate',
  'docker-distribution-api-version',
] as const;

/** Normalise what registries may legitimately spell differently (absolute vs relative URLs, ids, parameters). */
function observe(step: string, res: Answer, base: string): Observation {
  const headers: Record<string, string> = {};
  for (const name of COMPARED_HEADERS)
    if (res.headers[name] !== undefined) headers[name] = res.headers[name]!;
  if (res.headers.location !== undefined) {
    headers.location = new URL(res.headers.location, base).pathname.replace(
      /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
      '<uuid>',
    );
  }
  // Lengths only matter on successful reads (error bodies differ in their messages).
  const type = res.headers['content-type']?.split(';')[0]?.trim();
  const isJson = type === 'application/json';
  if (res.status < 300 && res.headers['content-length'] !== undefined && !isJson) {
    headers['content-length'] = res.headers['content-length'];
  }
  if (res.status < 300 && type !== undefined) headers['content-type'] = type;
  if (res.headers.link !== undefined) {
    const target = /<([^>]+)>/.exec(res.headers.link)?.[1] ?? '';
    const url = new URL(target, base);
    url.searchParams.sort();
    headers.link = `${url.pathname}?${url.searchParams}`;
  }
  const observation: Observation = { step, status: res.status, codes: res.codes(), headers };
  if (res.status < 300 && isJson && res.body.length > 0) observation.json = res.json();
  return observation;
}

type Scenario = (r: Recorder) => Promise<void>;

/** Runs a scenario's requests against one registry and records what came back. */
class Recorder {
  readonly seen: Observation[] = [];
  constructor(readonly base: string) {}

  async send(step: string, method: string, path: string, options?: CallOptions): Promise<Answer> {
    const res = await call(this.base, method, path, options);
    this.seen.push(observe(step, res, this.base));
    return res;
  }
}

const manifestHeaders = { 'content-type': OCI_MANIFEST };
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const ND_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
const ND_GZIP = `${ND_TAR}+gzip`;
const ND_ZSTD = `${ND_TAR}+zstd`;

const SCENARIOS: Record<string, Scenario> = {
  async ping(r) {
    await r.send('GET /v2/', 'GET', '/v2/');
  },
  async 'blob push and pull with ranges'(r) {
    const bytes = Buffer.from('0123456789abcdef');
    const start = await r.send('POST', 'POST', '/v2/diff/blob/blobs/uploads/');
    await r.send('PUT', 'PUT', withDigest(start.headers.location!, sha256(bytes), r.base), { body: bytes });
    await r.send('GET', 'GET', `/v2/diff/blob/blobs/${sha256(bytes)}`);
    await r.send('HEAD', 'HEAD', `/v2/diff/blob/blobs/${sha256(bytes)}`);
    for (const range of ['bytes=2-4', 'bytes=-3', 'bytes=10-']) {
      await r.send(`GET ${range}`, 'GET', `/v2/diff/blob/blobs/${sha256(bytes)}`, { headers: { range } });
    }
    await r.send('GET unknown blob', 'GET', `/v2/diff/blob/blobs/${sha256('unknown')}`);
    await r.send('GET other repository', 'GET', `/v2/diff/other/blobs/${sha256(bytes)}`);
  },
  async 'wrong digest on upload'(r) {
    const start = await r.send('POST', 'POST', '/v2/diff/wrong/blobs/uploads/');
    await r.send('PUT wrong digest', 'PUT', withDigest(start.headers.location!, sha256('claimed'), r.base), {
      body: 'actual',
    });
    await r.send('HEAD claimed', 'HEAD', `/v2/diff/wrong/blobs/${sha256('claimed')}`);
    await r.send('HEAD actual', 'HEAD', `/v2/diff/wrong/blobs/${sha256('actual')}`);
  },
  async 'chunked upload'(r) {
    const start = await r.send('POST', 'POST', '/v2/diff/chunked/blobs/uploads/');
    const first = await r.send('PATCH 0-2', 'PATCH', start.headers.location!, {
      body: 'abc',
      headers: { 'content-range': '0-2', 'content-type': 'application/octet-stream' },
    });
    const status = await r.send('GET status', 'GET', first.headers.location!);
    const second = await r.send('PATCH 3-5', 'PATCH', status.headers.location ?? first.headers.location!, {
      body: 'def',
      headers: { 'content-range': '3-5', 'content-type': 'application/octet-stream' },
    });
    await r.send('PUT', 'PUT', withDigest(second.headers.location!, sha256('abcdef'), r.base));
    await r.send('GET', 'GET', `/v2/diff/chunked/blobs/${sha256('abcdef')}`);
  },
  async 'chunk out of order'(r) {
    const start = await r.send('POST', 'POST', '/v2/diff/order/blobs/uploads/');
    await r.send('PATCH 5-7 first', 'PATCH', start.headers.location!, {
      body: 'xyz',
      headers: { 'content-range': '5-7', 'content-type': 'application/octet-stream' },
    });
  },
  async 'streamed upload and cancel'(r) {
    const start = await r.send('POST', 'POST', '/v2/diff/stream/blobs/uploads/');
    const patched = await r.send('PATCH streamed', 'PATCH', start.headers.location!, { body: 'streamed' });
    await r.send('DELETE upload', 'DELETE', patched.headers.location!);
    await r.send('GET cancelled upload', 'GET', patched.headers.location!);
  },
  async 'cross-repository mount'(r) {
    const digest = await pushBlob(r.base, 'diff/mount-from', 'mount me');
    await r.send(
      'mount existing',
      'POST',
      `/v2/diff/mount-to/blobs/uploads/?mount=${digest}&from=diff/mount-from`,
    );
    await r.send('GET mounted', 'GET', `/v2/diff/mount-to/blobs/${digest}`);
    await r.send(
      'mount missing',
      'POST',
      `/v2/diff/mount-to/blobs/uploads/?mount=${sha256('nowhere')}&from=diff/mount-from`,
    );
  },
  async 'manifests and deletes'(r) {
    const image = imageFixture('differential');
    for (const blob of [image.config, ...image.layers]) await pushBlob(r.base, 'diff/man', blob);
    await r.send('PUT by tag', 'PUT', '/v2/diff/man/manifests/v1', {
      body: image.manifest,
      headers: manifestHeaders,
    });
    await r.send('GET by tag', 'GET', '/v2/diff/man/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    await r.send('HEAD by digest', 'HEAD', `/v2/diff/man/manifests/${image.digest}`, {
      headers: { accept: OCI_MANIFEST },
    });
    await r.send('tags', 'GET', '/v2/diff/man/tags/list');
    await r.send('PUT by wrong digest', 'PUT', `/v2/diff/man/manifests/${sha256('x')}`, {
      body: image.manifest,
      headers: manifestHeaders,
    });
    await r.send('DELETE by digest', 'DELETE', `/v2/diff/man/manifests/${image.digest}`);
    await r.send('GET deleted by digest', 'GET', `/v2/diff/man/manifests/${image.digest}`);
    await r.send('GET deleted by tag', 'GET', '/v2/diff/man/manifests/v1');
    await r.send('DELETE blob', 'DELETE', `/v2/diff/man/blobs/${sha256(image.layers[0]!)}`);
    await r.send('GET deleted blob', 'GET', `/v2/diff/man/blobs/${sha256(image.layers[0]!)}`);
    await r.send('DELETE deleted blob', 'DELETE', `/v2/diff/man/blobs/${sha256(image.layers[0]!)}`);
  },
  async 'manifests that reference missing content'(r) {
    const image = imageFixture('missing blobs');
    await pushBlob(r.base, 'diff/missing', image.config);
    await r.send('PUT with missing layers', 'PUT', '/v2/diff/missing/manifests/x', {
      body: image.manifest,
      headers: manifestHeaders,
    });
    const index = indexFixture([imageFixture('absent child')]);
    await r.send('PUT index with missing child', 'PUT', '/v2/diff/missing/manifests/idx', {
      body: index.bytes,
      headers: { 'content-type': OCI_INDEX },
    });
    await r.send('PUT invalid JSON', 'PUT', '/v2/diff/missing/manifests/bad', {
      body: '{nope',
      headers: manifestHeaders,
    });
    await r.send('PUT oversized', 'PUT', '/v2/diff/missing/manifests/big', {
      body: Buffer.alloc(4 * 1024 * 1024 + 16, 0x20),
      headers: manifestHeaders,
    });
  },
  async 'layers with urls'(r) {
    // One manifest per layer shape; the layer's blob is never pushed, only the config.
    let n = 0;
    const put = async (step: string, mediaType: string, urls: string[] | undefined, docker = false) => {
      n++;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', step }));
      await pushBlob(r.base, 'diff/urls', config);
      const layer = Buffer.from(`absent layer ${step}`);
      const manifestType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: {
          mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG,
          digest: sha256(config),
          size: config.byteLength,
        },
        layers: [{ mediaType, digest: sha256(layer), size: layer.byteLength, ...(urls ? { urls } : {}) }],
      });
      await r.send(step, 'PUT', `/v2/diff/urls/manifests/m${n}`, {
        body,
        headers: { 'content-type': manifestType },
      });
    };
    const url = ['https://example.com/layer'];
    await put('non-distributable tar+gzip with a URL', ND_GZIP, url);
    await put('non-distributable tar with an http URL', ND_TAR, ['http://example.com/layer']);
    await put('non-distributable tar+zstd with a URL', ND_ZSTD, url);
    await put('non-distributable without urls', ND_GZIP, undefined);
    await put('Docker foreign layer with a URL', DOCKER_FOREIGN, url, true);
    await put('non-distributable with a non-URL', ND_GZIP, ['not a url']);
    await put('non-distributable with an ftp URL', ND_GZIP, ['ftp://example.com/layer']);
    await put('non-distributable with a fragment', ND_GZIP, ['https://example.com/layer#part']);
    await put('Docker foreign layer without urls', DOCKER_FOREIGN, undefined, true);
    await put('tar+gzip layer with a URL', `${OCI_LAYER}+gzip`, url);
    await put('tar+zstd layer with a URL', `${OCI_LAYER}+zstd`, url);
    await put('artifact blob with a URL', 'application/octet-stream', url);
    await put('Docker layer with a URL', 'application/vnd.docker.image.rootfs.diff.tar.gzip', url, true);
  },
  async 'manifest media types'(r) {
    // A manifest is stored and served under the type it is pushed with: only manifest types are
    // accepted, and the document must agree with the declared type (no text/html from the
    // registry's origin, no image manifest served as an index).
    const image = imageFixture('media types');
    for (const blob of [image.config, ...image.layers]) await pushBlob(r.base, 'diff/types', blob);
    const body = JSON.parse(image.manifest.toString('utf8')) as Record<string, unknown>;
    const { mediaType: _own, ...bare } = body;
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    const index = indexFixture([image]);
    const indexBody = JSON.parse(index.bytes.toString('utf8')) as Record<string, unknown>;
    const { mediaType: _indexOwn, ...bareIndex } = indexBody;
    const cases: Array<[step: string, bytes: Buffer, contentType: string | undefined]> = [
      ['text/html', image.manifest, 'text/html'],
      ['no Content-Type', image.manifest, undefined],
      ['application/json', image.manifest, 'application/json'],
      ['OCI artifact manifest type', image.manifest, 'application/vnd.oci.artifact.manifest.v1+json'],
      ['image manifest declared as an index', image.manifest, OCI_INDEX],
      ['image manifest declared as a Docker list', image.manifest, DOCKER_LIST],
      ['OCI body declared as Docker', image.manifest, DOCKER_MANIFEST],
      ['Docker body declared as OCI', json({ ...body, mediaType: DOCKER_MANIFEST }), OCI_MANIFEST],
      ['Docker body declared as Docker', json({ ...body, mediaType: DOCKER_MANIFEST }), DOCKER_MANIFEST],
      ['no mediaType, declared OCI', json(bare), OCI_MANIFEST],
      ['no mediaType, declared Docker', json(bare), DOCKER_MANIFEST],
      ['no mediaType, declared index', json(bare), OCI_INDEX],
      ['manifest with manifests too', json({ ...bare, manifests: [] }), OCI_MANIFEST],
      ['type in capitals', image.manifest, OCI_MANIFEST.toUpperCase()],
      ['type with a parameter', image.manifest, `${OCI_MANIFEST}; charset=utf-8`],
      ['index declared as an index', index.bytes, OCI_INDEX],
      ['index declared as a manifest', index.bytes, OCI_MANIFEST],
      ['OCI index declared as a Docker list', index.bytes, DOCKER_LIST],
      ['index without mediaType declared as a manifest', json(bareIndex), OCI_MANIFEST],
      ['index with a config too', json({ ...indexBody, config: body.config }), OCI_INDEX],
    ];
    let n = 0;
    for (const [step, bytes, contentType] of cases) {
      const tag = `t${n++}`;
      const put = await r.send(`PUT ${step}`, 'PUT', `/v2/diff/types/manifests/${tag}`, {
        body: bytes,
        headers: contentType === undefined ? {} : { 'content-type': contentType },
      });
      if (put.status !== 201) continue;
      await r.send(`GET ${step}`, 'GET', `/v2/diff/types/manifests/${tag}`, {
        headers: { accept: [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(', ') },
      });
    }
  },
  async 'monolithic upload and tag delete'(r) {
    const bytes = Buffer.from('monolithic');
    await r.send('POST ?digest= with body', 'POST', `/v2/diff/mono/blobs/uploads/?digest=${sha256(bytes)}`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const image = imageFixture('tag delete');
    expect((await pushImage(r.base, 'diff/mono', image, 'gone')).status).toBe(201);
    await r.send('DELETE by tag', 'DELETE', '/v2/diff/mono/manifests/gone');
  },
  async 'names and unknown things'(r) {
    await r.send('tags of unknown repository', 'GET', '/v2/diff/nothing/tags/list');
    await r.send('manifest of unknown repository', 'GET', '/v2/diff/nothing/manifests/latest');
    await r.send('bad name', 'GET', '/v2/Diff/Upper/tags/list');
  },
  async 'tag pagination'(r) {
    const image = imageFixture('pagination');
    expect((await pushImage(r.base, 'diff/pages', image, 'c')).status).toBe(201);
    for (const tag of ['a', 'd', 'b']) {
      await call(r.base, 'PUT', `/v2/diff/pages/manifests/${tag}`, {
        body: image.manifest,
        headers: manifestHeaders,
      });
    }
    await r.send('tags n=2', 'GET', '/v2/diff/pages/tags/list?n=2');
    await r.send('tags n=2 last=b', 'GET', '/v2/diff/pages/tags/list?n=2&last=b');
    await r.send('tags n=0', 'GET', '/v2/diff/pages/tags/list?n=0');
  },
  async 'catalog pagination'(r) {
    for (const repo of ['diffcat/a', 'diffcat/b', 'diffcat/c'])
      await pushBlob(r.base, repo, `catalog ${repo}`);
    await r.send('catalog n=1 last=diffcat/a', 'GET', '/v2/_catalog?n=1&last=diffcat/a');
    await r.send('catalog last=diffcat/b', 'GET', '/v2/_catalog?last=diffcat/b');
  },
};

interface Deviation {
  /** What the OCI distribution-spec asks, asserted for the embedded registry. */
  spec: Partial<Observation>;
  /** What distribution 2.8.2 answered when these tests were written (not asserted). */
  distribution: string;
}

const DEVIATIONS: Record<string, Record<string, Deviation>> = {
  'chunk out of order': {
    'PATCH 5-7 first': {
      spec: { status: 416, codes: ['RANGE_INVALID'] },
      distribution: '202: 2.8 ignores the start of Content-Range (spec: out-of-order chunks get 416)',
    },
  },
  'streamed upload and cancel': {
    'GET cancelled upload': {
      spec: { status: 404, codes: ['BLOB_UPLOAD_UNKNOWN'] },
      distribution: '404 with BLOB_UPLOAD_INVALID (spec code for an unknown session: BLOB_UPLOAD_UNKNOWN)',
    },
  },
  'manifests that reference missing content': {
    'PUT oversized': {
      spec: { status: 413, codes: ['MANIFEST_INVALID'] },
      distribution: '400 MANIFEST_INVALID "http: request body too large" (spec end-7: 413); same code kept',
    },
  },
  'layers with urls': {
    ...Object.fromEntries(
      [
        'non-distributable with a non-URL',
        'non-distributable with an ftp URL',
        'non-distributable with a fragment',
        'Docker foreign layer without urls',
      ].map((step) => [
        step,
        {
          spec: { status: 400, codes: ['MANIFEST_BLOB_UNKNOWN'] },
          distribution:
            '500 UNKNOWN, UNKNOWN, MANIFEST_BLOB_UNKNOWN: its URL error has no code; the blob is missing either way',
        },
      ]),
    ),
    ...Object.fromEntries(
      [
        'tar+gzip layer with a URL',
        'tar+zstd layer with a URL',
        'artifact blob with a URL',
        'Docker layer with a URL',
      ].map((step) => [
        step,
        {
          spec: { status: 400, codes: ['MANIFEST_BLOB_UNKNOWN'] },
          distribution:
            '201: 2.8 skips the blob check for any layer with urls; distribution 3 checks every layer that is not a foreign type (ocimanifesthandler.go), as we do',
        },
      ]),
    ),
  },
  'monolithic upload and tag delete': {
    'POST ?digest= with body': {
      spec: { status: 201, headers: { 'docker-content-digest': sha256('monolithic') } },
      distribution: '202 and a session: 2.8 does not do single-POST uploads (the spec allows both)',
    },
    'DELETE by tag': {
      spec: { status: 202, codes: [] },
      distribution: '400 DIGEST_INVALID: 2.8 cannot delete tags (spec end-9 deletes by tag)',
    },
  },
  'names and unknown things': {
    'bad name': {
      spec: { status: 400, codes: ['NAME_INVALID'] },
      distribution: '404 with a text/plain "404 page not found" (its router does not match the name)',
    },
    'manifest of unknown repository': {
      spec: { status: 404, codes: ['MANIFEST_UNKNOWN'] },
      distribution: '404 NAME_UNKNOWN; both are 404 and clients treat them alike',
    },
  },
  'tag pagination': {
    'tags n=2': {
      spec: {
        status: 200,
        headers: { link: '/v2/diff/pages/tags/list?last=b&n=2', 'content-type': 'application/json' },
      },
      distribution: '200 with all four tags and no Link: 2.8 ignores n and last on tags/list',
    },
    'tags n=2 last=b': {
      spec: { status: 200, headers: { 'content-type': 'application/json' } },
      distribution: '200 with all four tags',
    },
    'tags n=0': {
      spec: { status: 200, headers: { 'content-type': 'application/json' } },
      distribution: '200 with all four tags (spec: n=0 MUST give an empty list)',
    },
  },
};

describe.skipIf(!haveTools('docker-registry'))('the embedded registry answers like the CNCF registry', () => {
  let distribution: Distribution;
  let ours: RunningRegistry;

  beforeAll(async () => {
    // Without an allow list, distribution 2.8 refuses every layer URL; ours takes http(s) URLs.
    distribution = await startDistribution({
      auth: 'anonymous',
      proxy: false,
      manifestUrlsAllow: ['^https?://'],
    });
    ours = await startRegistry({ addr: '127.0.0.1:0', memory: true });
  });
  afterAll(async () => {
    await ours?.close();
    await distribution?.stop();
  });

  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, async () => {
      const theirs = new Recorder(distribution.url);
      const mine = new Recorder(ours.url);
      await scenario(theirs);
      await scenario(mine);
      const deviations = DEVIATIONS[name] ?? {};
      expect(mine.seen.map((o) => o.step)).toEqual(theirs.seen.map((o) => o.step));
      mine.seen.forEach((observation, i) => {
        const deviation = deviations[observation.step];
        if (deviation) {
          expect(observation, `${name} / ${observation.step} (spec)`).toMatchObject(deviation.spec);
          return;
        }
        expect(observation, `${name} / ${observation.step}`).toEqual(theirs.seen[i]);
      });
    });
  }

  it('the spec answers of the deviations hold for the embedded registry only', () => {
    expect(Object.keys(DEVIATIONS).every((name) => name in SCENARIOS)).toBe(true);
  });

  it('both answer the body of the tag pagination the spec way where distribution supports it', async () => {
    const res = await call(ours.url, 'GET', '/v2/diff/pages/tags/list?n=2&last=b');
    expect(res.json()).toEqual({ name: 'diff/pages', tags: ['c', 'd'] });
  });
});

describe.skipIf(!haveTools('docker-registry', 'htpasswd'))(
  'Basic authentication, compared with the CNCF registry',
  () => {
    let distribution: Distribution;
    let ours: RunningRegistry;
    let dir: string;

    beforeAll(async () => {
      distribution = await startDistribution({
        auth: 'htpasswd',
        proxy: false,
        username: 'alice',
        password: 'pw',
      });
      dir = await tempDir('diff-auth');
      await writeFile(join(dir, 'users'), execFileSync('htpasswd', ['-Bbn', 'alice', 'pw']));
      ours = await startRegistry({ addr: '127.0.0.1:0', memory: true, htpasswd: join(dir, 'users') });
    });
    afterAll(async () => {
      await ours?.close();
      await distribution?.stop();
      await removeTempDir(dir);
    });

    const basic = (user: string, password: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });

    it.each([
      ['no credentials', {}],
      ['wrong password', basic('alice', 'nope')],
      ['right password', basic('alice', 'pw')],
    ])('answers /v2/ and a tags list alike with %s', async (_label, headers: Record<string, string>) => {
      for (const path of ['/v2/', '/v2/auth/repo/tags/list']) {
        const theirs = await call(distribution.url, 'GET', path, { headers });
        const mine = await call(ours.url, 'GET', path, { headers });
        expect(mine.status, path).toBe(theirs.status);
        expect(mine.codes(), path).toEqual(theirs.codes());
        // Both challenge with Basic; only the realm's text differs.
        const challenge = (a: Answer) => a.headers['www-authenticate']?.startsWith('Basic realm=') ?? false;
        expect(challenge(mine), path).toBe(challenge(theirs));
      }
    });
  },
);
