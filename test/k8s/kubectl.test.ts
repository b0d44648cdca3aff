/**
 * Objects written by the real kubectl (`create deployment|job|cronjob`, `run`, as YAML and JSON):
 * check finds their images where kubectl put them, and the pinned files are still objects kubectl
 * accepts, with exactly the images changed. `kubectl run` and `apply` need API discovery, which a
 * discovery-only fake API server on 127.0.0.1 provides.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli.js';
import { fakeDigest } from '../support/fake-resolver.js';
import { removeTempDir, tempDirSync } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { type FakeApiServer, startFakeApiServer } from './support/fake-apiserver.js';

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', args, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(input ?? '');
  });
}

describe.skipIf(!haveTools('kubectl'))('manifests written by kubectl', () => {
  const dir = tempDirSync('kubectl');
  let api: FakeApiServer;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    api = await startFakeApiServer([
      { group: 'apps', version: 'v1', name: 'deployments', kind: 'Deployment', namespaced: true },
      { group: 'batch', version: 'v1', name: 'jobs', kind: 'Job', namespaced: true },
      { group: 'batch', version: 'v1', name: 'cronjobs', kind: 'CronJob', namespaced: true },
    ]);
    const dry = ['--dry-run=client'];
    const made: Array<[string, string[]]> = [
      ['deploy.yaml', ['create', 'deployment', 'web', '--image=nginx:1.27', '-o', 'yaml']],
      ['deploy.json', ['create', 'deployment', 'api', '--image=ghcr.io/org/api:2.0', '-o', 'json']],
      ['job.yaml', ['create', 'job', 'once', '--image=busybox:1.36', '-o', 'yaml']],
      [
        'cron.yaml',
        ['create', 'cronjob', 'nightly', '--image=busybox:1.36', '--schedule=0 3 * * *', '-o', 'yaml'],
      ],
      ['pod.yaml', ['--server', api.url, 'run', 'solo', '--image=redis:7', '-o', 'yaml']],
      ['pod.json', ['--server', api.url, 'run', 'solo-json', '--image=redis:7', '-o', 'json']],
    ];
    for (const [name, args] of made) {
      files[name] = await kubectl([...args, ...dry]);
      writeFileSync(join(dir, name), files[name]!);
    }
  });
  afterAll(async () => {
    await api?.close();
    await removeTempDir(dir);
  });

  /** Where kubectl wrote the image value: found by searching the text, independently of our parser. */
  function placeOf(name: string, image: string): string {
    const lines = files[name]!.split('\n');
    const i = lines.findIndex((l) => l.includes(image));
    const col = lines[i]!.indexOf(name.endsWith('.json') ? `"${image}"` : image) + 1;
    return `${join(dir, name)}:${i + 1}:${col}`;
  }

  it('check reports each container at the line and column kubectl wrote it', async () => {
    const r = await runCli(['check', '-f', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      [
        `${placeOf('cron.yaml', 'busybox:1.36')}: CronJob default/nightly: container <nightly> uses an image without a digest <busybox:1.36>`,
        `${placeOf('deploy.json', 'ghcr.io/org/api:2.0')}: Deployment default/api: container <api> uses an image without a digest <ghcr.io/org/api:2.0>`,
        `${placeOf('deploy.yaml', 'nginx:1.27')}: Deployment default/web: container <nginx> uses an image without a digest <nginx:1.27>`,
        `${placeOf('job.yaml', 'busybox:1.36')}: Job default/once: container <once> uses an image without a digest <busybox:1.36>`,
        `${placeOf('pod.json', 'redis:7')}: Pod default/solo-json: container <solo-json> uses an image without a digest <redis:7>`,
        `${placeOf('pod.yaml', 'redis:7')}: Pod default/solo: container <solo> uses an image without a digest <redis:7>`,
      ].sort(),
    );
    expect(r.stderr).toBe('6 violations in 6 objects (6 files, 6 objects checked)\n');
  });

  it('pinned files are what kubectl itself would produce with the pinned images', async () => {
    const images = ['nginx:1.27', 'ghcr.io/org/api:2.0', 'busybox:1.36', 'redis:7'];
    writeFileSync(join(dir, 'built.lock'), images.map((i) => `${i}@${fakeDigest(i)}`).join('\n'));
    const r = await runCli(['pin', '-f', dir, '--from-lock', join(dir, 'built.lock'), '--write']);
    expect(r.code).toBe(0);
    expect((await runCli(['check', '-f', dir])).code).toBe(0);
    // kubectl generates the same objects when given the pinned images, and accepts our files.
    const pinnedNginx = `nginx:1.27@${fakeDigest('nginx:1.27')}`;
    const expected = await kubectl([
      'create',
      'deployment',
      'web',
      `--image=${pinnedNginx}`,
      '-o',
      'yaml',
      '--dry-run=client',
    ]);
    expect(parseAllDocuments(readFileSync(join(dir, 'deploy.yaml'), 'utf8'))[0]!.toJS()).toEqual(
      parseAllDocuments(expected)[0]!.toJS(),
    );
    const pinnedRedis = `redis:7@${fakeDigest('redis:7')}`;
    const pod = await kubectl([
      '--server',
      api.url,
      'run',
      'solo-json',
      `--image=${pinnedRedis}`,
      '-o',
      'json',
      '--dry-run=client',
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'pod.json'), 'utf8'))).toEqual(JSON.parse(pod));
    const applied = await kubectl([
      '--server',
      api.url,
      'apply',
      '--dry-run=client',
      '--validate=false',
      '-f',
      dir,
      '-o',
      'name',
    ]);
    expect(applied.trim().split('\n').sort()).toEqual(
      [
        'cronjob.batch/nightly',
        'deployment.apps/api',
        'deployment.apps/web',
        'job.batch/once',
        'pod/solo',
        'pod/solo-json',
      ].sort(),
    );
  });
});
