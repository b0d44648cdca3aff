/**
 * `files` and `walkLayer` against layers that attack the reader: bytes that do not match the
 * digest, a registry that hangs up mid-layer, a truncated gzip, a corrupt tar header, a zstd frame
 * declaring a 1 GiB window, names holding terminal escapes. Each failure is one line and exit 3
 * (one rejected promise for the library), never an unhandled 'error' event; entries printed
 * before a failed verification are said to be unverified.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blobOf, buildTar } from '../../src/builder/index.js';
import { isImgdigestError } from '../../src/core/errors.js';
import { MediaType } from '../../src/core/media-types.js';
import { parseReference } from '../../src/core/reference.js';
import { walkLayer } from '../../src/sources/layers/layer-files.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { type LayerMisbehaviour, startLayerRegistry } from '../support/awkward-servers.js';
import { runCli } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const FILES = 3000;
const specs = (fill: string) =>
  Array.from({ length: FILES }, (_, i) => ({ path: `data/file-${i}.txt`, content: fill.repeat(600) }));

let good: ReturnType<typeof blobOf>;
let other: Uint8Array;
let truncated: ReturnType<typeof blobOf>;
let badHeader: ReturnType<typeof blobOf>;
let tmp: string;
const servers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  // gzip level 0 stores the tar: two layers of equal-length files are equally long, so the wrong
  // bytes pass the Content-Length check and only the digest can tell them apart.
  good = blobOf(gzipSync(await buildTar(specs('a')), { level: 0 }), MediaType.OCI_LAYER_GZIP);
  other = gzipSync(await buildTar(specs('b')), { level: 0 });
  expect(other.length).toBe(good.bytes.length);
  const compressed = gzipSync(await buildTar(specs('c')));
  truncated = blobOf(compressed.subarray(0, Math.floor(compressed.length / 2)), MediaType.OCI_LAYER_GZIP);
  const tar = Buffer.from(await buildTar(specs('d')));
  // Each entry is a 512-byte header and 600 bytes of data padded to 1024: break entry 1000's checksum.
  tar.write('xxxxxxx', 1000 * 1536 + 148, 'latin1');
  badHeader = blobOf(gzipSync(tar), MediaType.OCI_LAYER_GZIP);
  tmp = await tempDir('files-hostile');
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(cleanupTempDirs);

async function serve(layer: { bytes: Uint8Array; mediaType: string }, misbehaviour: LayerMisbehaviour) {
  const server = await startLayerRegistry(layer, misbehaviour);
  servers.push(server);
  return server;
}

/** Run the CLI with os.tmpdir() pointing at a directory of this suite, to see what is left there. */
async function files(args: string[]) {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return await runCli(['files', ...args]);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('imgdigest files against a hostile layer', () => {
  it('wrong bytes: entries as they stream, then one line saying they did not verify, exit 3', async () => {
    const reg = await serve(good, { replaceWith: other });
    const r = await files([`${reg.host}/app:latest`]);
    expect(r.code).toBe(3);
    expect(r.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(1000);
    const line = oneLine(r.stderr);
    expect(line).toMatch(/digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}/);
    expect(line).toMatch(/the \d+ entries listed above from this layer did not verify \(--verify-first/);
  });

  it('wrong bytes with --verify-first: nothing listed, one line, exit 3, no temporary file left', async () => {
    const reg = await serve(good, { replaceWith: other });
    const r = await files(['--verify-first', `${reg.host}/app:latest`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toContain(`expected ${good.digest}`);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--verify-first lists a good layer completely and cleans up', async () => {
    const reg = await serve(good, 'honest');
    const r = await files(['--verify-first', `${reg.host}/app:latest`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(FILES);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a registry that hangs up mid-layer: one line naming the download, exit 3', async () => {
    const reg = await serve(good, { hangUpAfter: Math.floor(good.bytes.length / 2) });
    const r = await files([`${reg.host}/app:latest`]);
    expect(r.code).toBe(3);
    const line = oneLine(r.stderr);
    expect(line).toMatch(/network error: GET http:\/\/\S+\/blobs\/sha256:[0-9a-f]{64}/);
    if (r.stdout) expect(line).toMatch(/entr(y|ies) listed above from this layer did not verify/);
  });

  it('the same hang-up through REPOSITORY@LAYERDIGEST', async () => {
    const reg = await serve(good, { hangUpAfter: Math.floor(good.bytes.length / 3) });
    const r = await files([`${reg.host}/app@${reg.layerDigest}`]);
    expect(r.code).toBe(3);
    expect(oneLine(r.stderr)).toMatch(/network error|size mismatch/);
  });

  it('a truncated gzip (that matches its digest): one line, exit 3', async () => {
    const reg = await serve(truncated, 'honest');
    const r = await files([`${reg.host}/app:latest`]);
    expect(r.code).toBe(3);
    expect(oneLine(r.stderr)).toBe(
      `imgdigest: layer ${truncated.digest} could not be read: the gzip stream is truncated (unexpected end of file)`,
    );
  });

  it('a corrupt tar header: the entries before it, then one line, exit 3', async () => {
    const reg = await serve(badHeader, 'honest');
    const r = await files([`${reg.host}/app:latest`]);
    expect(r.code).toBe(3);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1000);
    expect(oneLine(r.stderr)).toMatch(
      new RegExp(
        `^imgdigest: layer ${badHeader.digest} could not be read: not a valid tar archive .*did not verify`,
      ),
    );
  });

  it.skipIf(!haveTools('zstd'))(
    'a zstd layer declaring a 1 GiB window: refused at once, naming layer and window',
    async () => {
      const tar = await buildTar([{ path: 'a', content: 'x' }]);
      const bomb = execFileSync('zstd', ['-q', '--long=30', '-c'], {
        input: Buffer.concat([tar, Buffer.alloc(8 * 1024 * 1024)]),
      });
      const layer = blobOf(bomb, MediaType.OCI_LAYER_ZSTD);
      const reg = await serve(layer, 'honest');
      const r = await files([`${reg.host}/app:latest`]);
      expect(r.code).toBe(3);
      expect(oneLine(r.stderr)).toMatch(
        new RegExp(
          `^imgdigest: layer ${layer.digest} declares a zstd window (of 1 GiB, more than|larger than) the 128 MiB limit.*--zstd-window-limit raises the limit$`,
        ),
      );
      // A user who trusts the layer raises the limit; memory follows the output, not the window.
      const raised = await files(['--zstd-window-limit', '1024', `${reg.host}/app:latest`]);
      expect(raised.code, raised.stderr).toBe(0);
      expect(raised.stdout).toBe('a\n');
    },
  );

  it('names that carry terminal escapes are printed quoted, as tar --list prints them', async () => {
    const evil = ['ok.txt', 'clear\u001b[2J\u001b[H.txt', 'two\nlines', 'title\u001b]0;owned\u0007'];
    const layer = blobOf(
      gzipSync(await buildTar(evil.map((path) => ({ path, content: 'x' })))),
      MediaType.OCI_LAYER_GZIP,
    );
    const reg = await serve(layer, 'honest');
    const r = await files([`${reg.host}/app:latest`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ok.txt\nclear\\033[2J\\033[H.txt\ntwo\\nlines\ntitle\\033]0;owned\\a\n');
    const json = await files(['--json', `${reg.host}/app:latest`]);
    expect(json.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).name),
    ).toEqual(evil);
  });
});

describe('walkLayer rejects once for every failure of the pipeline', () => {
  const client = new RegistryClient({ anonymous: true, retry: { maxRetries: 0 } });
  afterAll(() => client.close());

  async function walk(
    layer: { bytes: Uint8Array; mediaType: string; digest: string },
    misbehaviour: LayerMisbehaviour,
  ) {
    const reg = await serve(layer, misbehaviour);
    const repo = parseReference(`${reg.host}/app`);
    const reader = await client.getBlob(repo, { digest: reg.layerDigest, size: layer.bytes.length });
    let entries = 0;
    const error = await walkLayer(reader.stream, layer.mediaType, () => entries++, {
      what: 'the layer',
    }).then(
      () => null,
      (e: unknown) => e,
    );
    return { error, entries };
  }

  it.each([
    ['wrong bytes', () => [good, { replaceWith: other }] as const, 'DIGEST_MISMATCH'],
    ['a hang-up mid-body', () => [good, { hangUpAfter: 100_000 }] as const, 'NETWORK_ERROR'],
    ['a truncated gzip', () => [truncated, 'honest'] as const, 'SOURCE_ERROR'],
    ['a corrupt tar header', () => [badHeader, 'honest'] as const, 'SOURCE_ERROR'],
  ])('%s', async (_name, args, code) => {
    const [layer, misbehaviour] = args();
    const { error } = await walk(layer, misbehaviour as LayerMisbehaviour);
    expect(isImgdigestError(error) && error.code).toBe(code);
  });

  it('an onEntry that throws ends the walk with its error', async () => {
    const reg = await serve(good, 'honest');
    const reader = await client.getBlob(parseReference(`${reg.host}/app`), { digest: good.digest });
    const boom = new Error('stop here');
    await expect(
      walkLayer(reader.stream, good.mediaType, () => {
        throw boom;
      }),
    ).rejects.toMatchObject({ code: 'SOURCE_ERROR', cause: boom });
  });

  it('verifyFirst delivers no entry from bytes that do not verify', async () => {
    const reg = await serve(good, { replaceWith: other });
    const reader = await client.getBlob(parseReference(`${reg.host}/app`), { digest: good.digest });
    let entries = 0;
    await expect(
      walkLayer(reader.stream, good.mediaType, () => entries++, { verifyFirst: true, tempDir: tmp }),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(entries).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
