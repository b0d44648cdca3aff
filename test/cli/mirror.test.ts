/**
 * `imgdigest mirror FILE` (skopeo sync, regsync): the tags an ImageMirror file chooses (globs, a
 * regular expression, exclusions, platforms) copied from the embedded registry with the demo images
 * and from the CNCF registry, read back by skopeo; a second run sends nothing (counted by the
 * target's access log and by the CNCF registry's counting proxy); a bad file is one exit-2 line
 * with FILE:LINE, before anything is asked of a registry.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '../../src/registry-server/index.js';
import { type CliResult, runCli } from '../support/cli.js';
import type { Distribution } from '../support/distribution.js';
import type { SeededImages } from '../support/images.js';
import {
  type CncfPair,
  type EmbeddedPair,
  skopeoSees,
  startCncfPair,
  startEmbeddedPair,
} from '../support/registry-pairs.js';
import { cleanupTempDirs } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const run = promisify(execFile);
const HEAD = 'apiVersion: imgdigest.dev/v1alpha1\nkind: ImageMirror\n';

/** The table's rows (header dropped) as [status, source, destination]. */
const rows = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/ +/));

describe.skipIf(!haveTools('skopeo'))('mirror from the embedded registry (demo images)', () => {
  let pair: EmbeddedPair;
  let src: RunningRegistry;
  let dst: RunningRegistry;
  let work: string;
  let logged: string[];
  let writes: EmbeddedPair['writes'];
  let demo: EmbeddedPair['demo'];
  let cli: (args: string[], stdin?: string) => Promise<CliResult>;
  let file: EmbeddedPair['file'];

  beforeAll(async () => {
    pair = await startEmbeddedPair('mirror');
    ({ src, dst, work, logged, writes, demo, cli, file } = pair);
  });
  afterAll(async () => {
    await pair?.close();
    await cleanupTempDirs();
  });

  it('copies the tags a glob chooses, and one tag narrowed to a platform; skopeo reads the same digests', async () => {
    const name = await file(
      'mirror.yaml',
      `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: ${dst.host}/mirror/app\n    tags: ["1.*"]\n` +
        `  - from: ${src.host}/sample/app:latest\n    to: ${dst.host}/mirror/app-arm:stable\n    platforms: [linux/arm64]\n`,
    );
    const arm = (
      await runCli(['digest', '--platform', 'linux/arm64', `${src.host}/sample/app:latest`])
    ).stdout.trim();
    const r = await cli(['mirror', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(rows(r.stdout)).toEqual([
      ['copied', `${src.host}/sample/app:1.0`, `${dst.host}/mirror/app:1.0@${demo('sample/app', '1.0')}`],
      ['copied', `${src.host}/sample/app:1.1`, `${dst.host}/mirror/app:1.1@${demo('sample/app', '1.1')}`],
      ['copied', `${src.host}/sample/app:latest`, `${dst.host}/mirror/app-arm:stable@${arm}`],
    ]);
    expect(r.stderr).toMatch(/^3 copied, 0 unchanged, 0 failed; \d+ blob\(s\) sent/);
    for (const tag of ['1.0', '1.1']) {
      const digest = demo('sample/app', tag);
      expect(await skopeoSees(`docker://${dst.host}/mirror/app:${tag}`)).toEqual({ raw: digest, digest });
    }
    expect(await skopeoSees(`docker://${dst.host}/mirror/app-arm:stable`)).toEqual({ raw: arm, digest: arm });
    expect((await runCli(['tags', `${dst.host}/mirror/app`])).stdout).toBe('1.0\n1.1\n');
  });

  it('two tags of one index, copied at once, write its platform manifests once', async () => {
    expect(demo('sample/app', '1.0')).toBe(demo('sample/app', 'latest'));
    const name = await file(
      'same.yaml',
      `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: ${dst.host}/same/app\n    tags: ["1.0", latest]\n`,
    );
    const r = await cli(['mirror', name]);
    expect(r.code, r.stderr).toBe(0);
    const index = JSON.parse((await runCli(['manifest', `${src.host}/sample/app:1.0`])).stdout) as {
      manifests: Array<{ digest: string }>;
    };
    const puts = writes()
      .filter((l) => l.startsWith('PUT /v2/same/app/manifests/'))
      .map((l) => l.split(' ')[1]!.split('/').at(-1))
      .sort();
    expect(puts).toEqual(['1.0', 'latest', ...index.manifests.map((m) => m.digest)].sort());
  });

  it('a second run sends nothing: every tag is unchanged, and the target sees no write', async () => {
    const r = await cli(['mirror', 'mirror.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(rows(r.stdout).map((row) => row[0])).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(r.stderr).toBe('0 copied, 3 unchanged, 0 failed\n');
    expect(writes()).toEqual([]);
    // Whole images: one HEAD of the tag each. The narrowed one: one HEAD of its tag.
    expect(logged.filter((l) => !l.startsWith('GET /v2/ ')).map((l) => l.replace(/ [\d.]+ms$/, ''))).toEqual(
      expect.arrayContaining([
        'HEAD /v2/mirror/app/manifests/1.0 200',
        'HEAD /v2/mirror/app/manifests/1.1 200',
        'HEAD /v2/mirror/app-arm/manifests/stable 200',
      ]),
    );
    expect(logged.filter((l) => !l.startsWith('GET /v2/ '))).toHaveLength(3);
  });

  it('tagRegex matches the whole tag, exclude takes tags out again; --dry-run writes nothing', async () => {
    const name = await file(
      'regex.yaml',
      `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: ${dst.host}/regex/app\n    tagRegex: 'l.*|s.*|1'\n    exclude: ["sing*"]\n`,
    );
    const dry = await cli(['mirror', '--dry-run', name]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(rows(dry.stdout)).toEqual([
      [
        'copy',
        `${src.host}/sample/app:latest`,
        `${dst.host}/regex/app:latest@${demo('sample/app', 'latest')}`,
      ],
    ]);
    expect(dry.stderr).toMatch(/^dry run: 1 to copy, 0 unchanged, 0 failed; \d+ blob\(s\) to send/);
    expect(writes()).toEqual([]);
  });

  it('--all copies every platform whatever platforms: says, and an OCI layout is a destination', async () => {
    const name = await file(
      'all.yaml',
      `${HEAD}defaults:\n  platforms: [linux/amd64]\nmirrors:\n  - from: ${src.host}/sample/app:1.0\n    to: oci:${join(work, 'layout')}\n`,
    );
    const r = await cli(['mirror', '--all', '--json', name]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.tags).toEqual([
      expect.objectContaining({
        status: 'copied',
        identifier: '1.0',
        destination: `oci:${join(work, 'layout')}:1.0@${demo('sample/app', '1.0')}`,
      }),
    ]);
    const digest = demo('sample/app', '1.0');
    expect(await skopeoSees(`oci:${join(work, 'layout')}:1.0`)).toEqual({ raw: digest, digest });
  });

  it('every tag of a repository into one OCI layout, written at once: index.json lists them all', async () => {
    const dir = join(work, 'all-tags');
    const name = await file(
      'layout.yaml',
      `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: oci:${dir}\n`,
    );
    const r = await cli(['mirror', name]);
    expect(r.code, r.stderr).toBe(0);
    const tags = ['1.0', '1.1', 'latest', 'single'];
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    expect(
      index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]).sort(),
    ).toEqual(tags.map((t) => [t, demo('sample/app', t)]));
    for (const tag of tags) {
      const digest = demo('sample/app', tag);
      expect(await skopeoSees(`oci:${dir}:${tag}`)).toEqual({ raw: digest, digest });
    }
    expect((await readdir(dir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('goes on past a tag that fails, lists it, and exits 3', async () => {
    const name = await file(
      'partly.yaml',
      `${HEAD}mirrors:\n  - from: ${src.host}/sample/nothing\n    to: ${dst.host}/partly/nothing\n` +
        `  - from: ${src.host}/sample/worker\n    to: ${dst.host}/partly/worker\n`,
    );
    const r = await cli(['mirror', name]);
    expect(r.code).toBe(3);
    expect(rows(r.stdout)).toEqual([
      ['failed', `${src.host}/sample/nothing`, '-'],
      ['copied', `${src.host}/sample/worker:2`, `${dst.host}/partly/worker:2@${demo('sample/worker', '2')}`],
    ]);
    expect(r.stderr).toContain(`imgdigest: ${src.host}/sample/nothing: `);
    expect(r.stderr).toMatch(/imgdigest: 1 of 2 could not be mirrored \(listed above\)\n$/);
  });

  it('a bad file is one line with FILE:LINE and exit 2, before any registry is asked', async () => {
    const entry = `mirrors:\n  - from: ${src.host}/sample/app\n    to: ${dst.host}/bad/app\n`;
    const cases: Array<[string, string]> = [
      [
        `${HEAD}${entry}    tagRegex: '1.[0-9'\n`,
        'bad.yaml:6: mirrors[0].tagRegex: Invalid regular expression: /1.[0-9/: Unterminated character class',
      ],
      [
        `${HEAD}${entry}    tags: ["1.[0-"]\n`,
        'bad.yaml:6: mirrors[0].tags[0]: "1.[0-" is not a valid glob (an unclosed [ or a trailing backslash)',
      ],
      [
        `${HEAD}${entry}    platform: [linux/amd64]\n`,
        'bad.yaml:6: mirrors[0].platform: unknown field (expected from, to, tags, tagRegex, exclude, platforms, referrers)',
      ],
      [
        `${HEAD}${entry}    platforms: [linux/]\n`,
        'bad.yaml:6: mirrors[0].platforms[0]: invalid platform "linux/": empty architecture component',
      ],
      [`${HEAD}${entry}    referrers: yes\n`, 'bad.yaml:6: mirrors[0].referrers: must be true or false'],
      [
        `${HEAD}mirrors:\n  - from: ${src.host}/sample/app:1.0\n    to: ${dst.host}/bad/app\n    tags: [latest]\n`,
        `bad.yaml:6: mirrors[0].tags: chooses among a repository's tags, but from names one image (${src.host}/sample/app:1.0)`,
      ],
      [
        `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: ${dst.host}/bad/app:v1\n`,
        `bad.yaml:5: mirrors[0].to: ${dst.host}/bad/app:v1 names a tag, but from is a repository: each tag keeps its name (drop the tag)`,
      ],
      [
        `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n    to: docker-archive:out.tar\n`,
        'bad.yaml:5: mirrors[0].to: "docker-archive:out.tar": cannot write docker-archive: destinations',
      ],
      [
        `${HEAD}mirrors:\n  - from: ${src.host}/Sample/app\n    to: ${dst.host}/bad/app\n`,
        `bad.yaml:4: mirrors[0].from: invalid reference "${src.host}/Sample/app": repository name must be lowercase`,
      ],
      [
        `${HEAD}mirrors:\n  - from: ${src.host}/sample/app\n`,
        'bad.yaml:4: mirrors[0].to: must be a non-empty string',
      ],
      [`${HEAD}mirrors: []\n`, 'bad.yaml:3: mirrors: must be a non-empty list of entries with from and to'],
      [
        `apiVersion: imgdigest.dev/v1alpha1\nkind: ImageSync\n${entry}`,
        'bad.yaml:2: kind: must be ImageMirror',
      ],
      [`${HEAD}mirrors:\n  - from: [\n`, 'bad.yaml:5: not YAML: '],
    ];
    for (const [text, message] of cases) {
      await file('bad.yaml', text);
      const r = await cli(['mirror', 'bad.yaml']);
      expect(r.code, text).toBe(2);
      expect(r.stderr.startsWith(`imgdigest: ${message}`), `${r.stderr} does not start with ${message}`).toBe(
        true,
      );
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stdout).toBe('');
      expect(logged).toEqual([]);
    }
    const stdin = await cli(['mirror', '-'], `${HEAD}mirrors: 3\n`);
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toBe(
      'imgdigest: <stdin>:3: mirrors: must be a non-empty list of entries with from and to\n',
    );
    const missing = await cli(['mirror', 'nowhere.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^imgdigest: cannot read nowhere\.yaml: ENOENT/);
  });
});

describe.skipIf(!haveTools('docker-registry', 'skopeo'))('mirror between two CNCF registries', () => {
  let pair: CncfPair;
  let a: Distribution;
  let b: Distribution;
  let seeded: SeededImages;

  beforeAll(async () => {
    pair = await startCncfPair('mirror-cncf');
    ({ a, b, seeded } = pair);
  });
  afterAll(async () => {
    await pair?.close();
    await cleanupTempDirs();
  });

  it('mirrors every tag of a repository and a schema 2 list; the second run only asks (HEAD), writes nothing', async () => {
    await pair.file(
      'mirror.yaml',
      `${HEAD}mirrors:\n  - from: ${a.host}/sample\n    to: ${b.host}/copy/sample\n  - from: ${a.host}/dockerlist\n    to: ${b.host}/copy/dockerlist\n    tags: [latest]\n`,
    );
    const cli = () => pair.cli(['mirror', 'mirror.yaml']);
    const first = await cli();
    expect(first.code, first.stderr).toBe(0);
    const tags = JSON.parse(
      (await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${a.host}/sample`])).stdout,
    ).Tags as string[];
    expect(tags).toEqual(expect.arrayContaining(['latest', 'single']));
    expect(rows(first.stdout).map((r) => r.slice(0, 2))).toEqual([
      ...tags.sort().map((t) => ['copied', `${a.host}/sample:${t}`]),
      ['copied', `${a.host}/dockerlist:latest`],
    ]);
    for (const s of [seeded.sample, seeded.single, seeded.dockerList]) {
      expect(await skopeoSees(`docker://${b.host}/copy/${s.repo}:${s.tag}`)).toEqual({
        raw: s.digest,
        digest: s.digest,
      });
    }
    b.resetCounts();
    const second = await cli();
    expect(second.code, second.stderr).toBe(0);
    expect(rows(second.stdout).map((r) => r[0])).toEqual([...tags.map(() => 'unchanged'), 'unchanged']);
    const asked = b.requestLog.filter((l) => l.path !== '/v2/');
    expect(asked.map((l) => `${l.method} ${l.path} ${l.status}`).sort()).toEqual(
      [
        ...tags.map((t) => `HEAD /v2/copy/sample/manifests/${t} 200`),
        'HEAD /v2/copy/dockerlist/manifests/latest 200',
      ].sort(),
    );
  });
});
