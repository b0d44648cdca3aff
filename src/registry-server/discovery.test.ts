import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactFixture,
  call,
  imageFixture,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
} from '../../test/registry-server/client.js';
import { sha256 } from '../../test/support/sha256.js';
import { removeTempDir, tempDir } from '../../test/support/tmp.js';
import { type RunningRegistry, startRegistry } from './index.js';

let reg: RunningRegistry;
let base: string;
let root: string;

beforeAll(async () => {
  root = await tempDir('discovery');
  reg = await startRegistry({ addr: '127.0.0.1:0', root });
  base = reg.url;
});
afterAll(async () => {
  await reg?.close();
  await removeTempDir(root);
});

async function tagAll(repo: string, tags: string[]): Promise<void> {
  const image = imageFixture(`tags of ${repo}`);
  expect((await pushImage(base, repo, image, tags[0]!)).status).toBe(201);
  for (const tag of tags.slice(1)) {
    const res = await call(base, 'PUT', `/v2/${repo}/manifests/${tag}`, {
      body: image.manifest,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(201);
  }
}

describe('tags list', () => {
  beforeAll(() => tagAll('tags/repo', ['b', 'a', 'D', 'c', '1.0']));

  it('lists every tag sorted by code unit', async () => {
    const res = await call(base, 'GET', '/v2/tags/repo/tags/list');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ name: 'tags/repo', tags: ['1.0', 'D', 'a', 'b', 'c'] });
  });

  it('pages with n and last, with a Link to the next page', async () => {
    const first = await call(base, 'GET', '/v2/tags/repo/tags/list?n=2');
    expect(first.json()).toEqual({ name: 'tags/repo', tags: ['1.0', 'D'] });
    expect(first.headers.link).toBe('</v2/tags/repo/tags/list?n=2&last=D>; rel="next"');
    const second = await call(base, 'GET', '/v2/tags/repo/tags/list?n=2&last=D');
    expect(second.json<{ tags: string[] }>().tags).toEqual(['a', 'b']);
    const third = await call(base, 'GET', '/v2/tags/repo/tags/list?n=2&last=b');
    expect(third.json<{ tags: string[] }>().tags).toEqual(['c']);
    expect(third.headers.link).toBeUndefined();
  });

  it('treats last as exclusive even when it is not a tag', async () => {
    const res = await call(base, 'GET', '/v2/tags/repo/tags/list?last=a0');
    expect(res.json<{ tags: string[] }>().tags).toEqual(['b', 'c']);
  });

  it('answers n=0 with an empty list and no Link', async () => {
    const res = await call(base, 'GET', '/v2/tags/repo/tags/list?n=0');
    expect(res.status).toBe(200);
    expect(res.json<{ tags: string[] }>().tags).toEqual([]);
    expect(res.headers.link).toBeUndefined();
  });

  it('refuses a non-numeric n', async () => {
    const res = await call(base, 'GET', '/v2/tags/repo/tags/list?n=ten');
    expect(res.status).toBe(400);
    expect(res.codes()).toEqual(['PAGINATION_NUMBER_INVALID']);
  });

  it('answers an unknown repository with NAME_UNKNOWN', async () => {
    const res = await call(base, 'GET', '/v2/tags/nothing/tags/list');
    expect(res.status).toBe(404);
    expect(res.codes()).toEqual(['NAME_UNKNOWN']);
  });
});

describe('catalog', () => {
  beforeAll(async () => {
    for (const repo of ['cat/c', 'cat/a', 'cat/b']) await pushBlob(base, repo, `catalog ${repo}`);
  });

  it('lists repositories sorted and pages with n/last/Link', async () => {
    const all = (await call(base, 'GET', '/v2/_catalog')).json<{ repositories: string[] }>().repositories;
    const cats = all.filter((r) => r.startsWith('cat/'));
    expect(cats).toEqual(['cat/a', 'cat/b', 'cat/c']);
    expect(all).toEqual([...all].sort());
    const page = await call(base, 'GET', '/v2/_catalog?n=1&last=cat/a');
    expect(page.json()).toEqual({ repositories: ['cat/b'] });
    expect(page.headers.link).toBe(`</v2/_catalog?n=1&last=${encodeURIComponent('cat/b')}>; rel="next"`);
    const none = await call(base, 'GET', '/v2/_catalog?n=0');
    expect(none.json()).toEqual({ repositories: [] });
    expect(none.headers.link).toBeUndefined();
  });
});

describe('deletes', () => {
  it('deletes a tag without deleting the manifest', async () => {
    await tagAll('del/tag', ['keep', 'drop']);
    const digest = (await call(base, 'HEAD', '/v2/del/tag/manifests/keep')).headers['docker-content-digest']!;
    expect((await call(base, 'DELETE', '/v2/del/tag/manifests/drop')).status).toBe(202);
    expect((await call(base, 'GET', '/v2/del/tag/manifests/drop')).status).toBe(404);
    expect((await call(base, 'GET', `/v2/del/tag/manifests/${digest}`)).status).toBe(200);
    expect((await call(base, 'GET', '/v2/del/tag/tags/list')).json<{ tags: string[] }>().tags).toEqual([
      'keep',
    ]);
  });

  it('deletes a manifest by digest with every tag that pointed to it', async () => {
    await tagAll('del/digest', ['x', 'y']);
    const digest = (await call(base, 'HEAD', '/v2/del/digest/manifests/x')).headers['docker-content-digest']!;
    expect((await call(base, 'DELETE', `/v2/del/digest/manifests/${digest}`)).status).toBe(202);
    const gone = await call(base, 'GET', `/v2/del/digest/manifests/${digest}`);
    expect(gone.status).toBe(404);
    expect(gone.codes()).toEqual(['MANIFEST_UNKNOWN']);
    expect((await call(base, 'GET', '/v2/del/digest/manifests/x')).status).toBe(404);
    expect((await call(base, 'GET', '/v2/del/digest/tags/list')).json<{ tags: string[] }>().tags).toEqual([]);
    const again = await call(base, 'DELETE', `/v2/del/digest/manifests/${digest}`);
    expect(again.status).toBe(404);
    expect(again.codes()).toEqual(['MANIFEST_UNKNOWN']);
  });

  it('deletes a blob (202), then answers BLOB_UNKNOWN', async () => {
    const digest = await pushBlob(base, 'del/blob', 'delete me');
    expect((await call(base, 'DELETE', `/v2/del/blob/blobs/${digest}`)).status).toBe(202);
    const res = await call(base, 'GET', `/v2/del/blob/blobs/${digest}`);
    expect(res.status).toBe(404);
    expect(res.codes()).toEqual(['BLOB_UNKNOWN']);
    expect((await call(base, 'DELETE', `/v2/del/blob/blobs/${digest}`)).status).toBe(404);
  });
});

describe('referrers', () => {
  const subject = imageFixture('subject');
  const sbom = artifactFixture(
    'sbom',
    { digest: subject.digest, size: subject.manifest.length },
    'application/spdx+json',
  );
  const sig = artifactFixture(
    'sig',
    { digest: subject.digest, size: subject.manifest.length },
    'application/vnd.example.sig',
  );
  const orphan = artifactFixture(
    'orphan',
    { digest: sha256('never pushed'), size: 10 },
    'application/spdx+json',
  );

  beforeAll(async () => {
    expect((await pushImage(base, 'ref/app', subject, 'v1')).status).toBe(201);
  });

  it('answers OCI-Subject on a PUT with a subject, even when the subject is missing', async () => {
    for (const artifact of [sbom, sig, orphan]) {
      const res = await pushImage(base, 'ref/app', artifact, artifact.digest);
      expect(res.status).toBe(201);
      expect(res.headers['oci-subject']).toBe(JSON.parse(artifact.manifest.toString()).subject.digest);
    }
  });

  it('lists the referrers of a subject as an index with artifactType and annotations', async () => {
    const res = await call(base, 'GET', `/v2/ref/app/referrers/${subject.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.oci.image.index.v1+json');
    expect(res.headers['oci-filters-applied']).toBeUndefined();
    const index = res.json<{ schemaVersion: number; manifests: Array<Record<string, unknown>> }>();
    expect(index.schemaVersion).toBe(2);
    const byDigest = Object.fromEntries(index.manifests.map((m) => [m.digest, m]));
    expect(Object.keys(byDigest).sort()).toEqual([sbom.digest, sig.digest].sort());
    expect(byDigest[sbom.digest]).toEqual({
      mediaType: OCI_MANIFEST,
      digest: sbom.digest,
      size: sbom.manifest.length,
      artifactType: 'application/spdx+json',
      annotations: { 'org.example.seed': 'sbom' },
    });
  });

  it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const res = await call(
      base,
      'GET',
      `/v2/ref/app/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`,
    );
    expect(res.headers['oci-filters-applied']).toBe('artifactType');
    expect(res.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest)).toEqual([
      sbom.digest,
    ]);
  });

  it('lists the referrer of a subject that was never pushed', async () => {
    const missing = sha256('never pushed');
    const res = await call(base, 'GET', `/v2/ref/app/referrers/${missing}`);
    expect(res.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest)).toEqual([
      orphan.digest,
    ]);
  });

  it('answers an unknown digest with an empty index and a bad digest with 400', async () => {
    const empty = await call(base, 'GET', `/v2/ref/app/referrers/${sha256('nobody')}`);
    expect(empty.status).toBe(200);
    expect(empty.json<{ manifests: unknown[] }>().manifests).toEqual([]);
    const bad = await call(base, 'GET', '/v2/ref/app/referrers/sha256:nothex');
    expect(bad.status).toBe(400);
    expect(bad.codes()).toEqual(['DIGEST_INVALID']);
  });

  it('forgets a deleted referrer', async () => {
    expect((await call(base, 'DELETE', `/v2/ref/app/manifests/${sig.digest}`)).status).toBe(202);
    const res = await call(base, 'GET', `/v2/ref/app/referrers/${subject.digest}`);
    expect(res.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest)).toEqual([
      sbom.digest,
    ]);
  });
});

describe('persistence', () => {
  it('serves the same content after a restart on the same root', async () => {
    const image = imageFixture('persisted');
    expect((await pushImage(base, 'persist/app', image, 'v1')).status).toBe(201);
    const referrer = artifactFixture(
      'persisted-ref',
      { digest: image.digest, size: image.manifest.length },
      'text/x',
    );
    expect((await pushImage(base, 'persist/app', referrer, referrer.digest)).status).toBe(201);
    const other = await startRegistry({ addr: '127.0.0.1:0', root });
    try {
      const got = await call(other.url, 'GET', '/v2/persist/app/manifests/v1');
      expect(got.status).toBe(200);
      expect(got.body.equals(image.manifest)).toBe(true);
      expect(got.headers['content-type']).toBe(OCI_MANIFEST);
      const layer = await call(other.url, 'GET', `/v2/persist/app/blobs/${sha256(image.layers[0]!)}`);
      expect(layer.body.equals(image.layers[0]!)).toBe(true);
      const refs = await call(other.url, 'GET', `/v2/persist/app/referrers/${image.digest}`);
      expect(refs.json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest)).toEqual([
        referrer.digest,
      ]);
      const catalog = (await call(other.url, 'GET', '/v2/_catalog')).json<{ repositories: string[] }>();
      expect(catalog.repositories).toContain('persist/app');
    } finally {
      await other.close();
    }
  });
});

describe('concurrent pushes', () => {
  it('keeps one consistent answer when many clients push the same blob and the same tag', async () => {
    const images = Array.from({ length: 8 }, (_, i) => imageFixture(`race ${i}`, {}));
    const shared = Buffer.from('shared layer pushed by everyone');
    await Promise.all(Array.from({ length: 8 }, () => pushBlob(base, 'race/app', shared)));
    expect((await call(base, 'GET', `/v2/race/app/blobs/${sha256(shared)}`)).body.equals(shared)).toBe(true);
    const puts = await Promise.all(images.map((img) => pushImage(base, 'race/app', img, 'latest')));
    expect(puts.map((p) => p.status)).toEqual(images.map(() => 201));
    const served = await call(base, 'GET', '/v2/race/app/manifests/latest');
    const winner = images.find((img) => img.digest === served.headers['docker-content-digest']);
    expect(winner?.manifest.equals(served.body)).toBe(true);
    // What is on disk agrees with what memory serves.
    const other = await startRegistry({ addr: '127.0.0.1:0', root });
    try {
      const again = await call(other.url, 'HEAD', '/v2/race/app/manifests/latest');
      expect(again.headers['docker-content-digest']).toBe(winner?.digest);
    } finally {
      await other.close();
    }
  });
});
