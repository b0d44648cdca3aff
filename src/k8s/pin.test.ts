/**
 * The pin engine on the hand-written corpus (test/fixtures/k8s/corpus) with a fake resolver:
 * only image values change, byte for byte everything else stays, failures write nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeDigest, fakeResolver } from '../../test/support/fake-resolver.js';
import { ImgdigestError } from '../core/errors.js';
import { checkFiles } from './check.js';
import { lockResolver, parseLock } from './lock.js';
import { failureError, pinFiles } from './pin.js';
import { applyRuleFlags, defaultRules, parseRules } from './rules.js';

const CORPUS = join(import.meta.dirname, '../../test/fixtures/k8s/corpus');
const read = (name: string) => ({ path: name, text: readFileSync(join(CORPUS, name), 'utf8') });
const APP = 'registry.example.com/team/app:1.0';
const d = (canonical: string, platform?: string) => fakeDigest(canonical, platform);

async function pin(
  name: string,
  flags: Parameters<typeof applyRuleFlags>[1] = {},
  resolver = fakeResolver(),
) {
  return pinFiles([read(name)], { rules: applyRuleFlags(defaultRules(), flags), resolver });
}

describe('pinFiles', () => {
  it('changes only the image values of a commented, mixed-quote, flow-style file', async () => {
    const input = read('commented.yaml').text;
    const result = await pin('commented.yaml');
    const migrate = 'registry.example.com/team/migrate:2.1';
    const expected = input
      .replace(`'${migrate}'`, `'${migrate}@${d(migrate)}'`)
      .replace(`"${APP}"`, `"${APP}@${d(APP)}"`)
      .replace('image: busybox:1.36,', `image: busybox:1.36@${d('docker.io/library/busybox:1.36')},`);
    expect(result.failures).toEqual([]);
    expect(result.files[0]!.text).toBe(expected);
    expect(result.changes.map((c) => c.line)).toEqual([20, 24, 26]);
  });

  it('leaves already pinned images alone, and pinning twice changes nothing', async () => {
    const first = await pin('commented.yaml');
    const second = await pinFiles([{ path: 'commented.yaml', text: first.files[0]!.text }], {
      rules: defaultRules(),
      resolver: fakeResolver(),
    });
    expect(second.changes).toEqual([]);
    expect(second.files[0]!.changed).toBe(false);
    expect(second.files[0]!.text).toBe(first.files[0]!.text);
  });

  it('resolves each unique reference once', async () => {
    const resolver = fakeResolver();
    await pinFiles([read('commented.yaml'), read('flow.yaml'), read('pod.json')], {
      rules: defaultRules(),
      resolver,
    });
    const canonicals = resolver.calls.map((c) => c.canonical).sort();
    expect(canonicals).toEqual([...new Set(canonicals)]);
    expect(canonicals).toContain(APP);
  });

  it('edits an anchored value once, at the anchor, and reports the alias users', async () => {
    const input = read('anchors.yaml').text;
    const result = await pin('anchors.yaml');
    expect(result.files[0]!.text).toBe(input.replace(`&img ${APP}`, `&img ${APP}@${d(APP)}`));
    expect(result.changes).toHaveLength(3);
    // containers[2] gets its image through the merge key (found at the anchor, line 9); containers[1] is an alias
    expect(result.changes.filter((c) => c.shared).map((c) => c.line)).toEqual([9, 12]);
    expect(result.notes.some((n) => /alias/.test(n.reason))).toBe(true);
  });

  it('keeps CRLF line endings and a BOM byte for byte', async () => {
    const input = `\uFEFF${read('commented.yaml').text.replace(/\n/g, '\r\n')}`;
    const result = await pinFiles([{ path: 'crlf.yaml', text: input }], {
      rules: defaultRules(),
      resolver: fakeResolver(),
    });
    const out = result.files[0]!.text;
    expect(out.startsWith('\uFEFF')).toBe(true);
    expect(out.split('\r\n').length).toBe(input.split('\r\n').length);
    expect(result.changes).toHaveLength(3);
    expect(result.changes.reduce((t, c) => t.replace(`@${c.digest}`, ''), out)).toBe(input);
  });

  it('keeps directives, document markers and non-Kubernetes documents', async () => {
    const input = read('multi.yaml').text;
    const result = await pin('multi.yaml');
    const out = result.files[0]!.text;
    expect(out.replace(/@sha256:[a-f0-9]{64}/g, '')).toBe(input);
    expect(out).toContain(
      `image: registry.example.com/team/report:3@${d('registry.example.com/team/report:3')}`,
    );
    expect(out).toContain(
      `reference: registry.example.com/team/models:v2@${d('registry.example.com/team/models:v2')}`,
    );
    expect(out).toContain('image: not-a-k8s-field:1.0\n');
    expect(result.changes.map((c) => c.object.kind)).toEqual([
      'CronJob',
      'PodTemplate',
      'DaemonSet',
      'DaemonSet',
    ]);
  });

  it('reports templated values and block scalars and leaves them alone', async () => {
    const input = read('templated.yaml').text;
    const result = await pin('templated.yaml');
    const reasons = result.notes.map((n) => `${n.line}:${n.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^10:not a literal reference/),
        expect.stringMatching(/^12:not a literal reference/),
        expect.stringMatching(/^14:not a literal reference/),
        expect.stringMatching(/^16:block scalar/),
      ]),
    );
    const db = 'registry.example.com/team/db:16';
    expect(result.files[0]!.text).toBe(input.replace(db, `${db}@${d(db)}`));
  });

  it('pins JSON keeping its layout', async () => {
    const input = read('pod.json').text;
    const result = await pin('pod.json');
    const busybox = 'docker.io/library/busybox:1.36';
    expect(result.files[0]!.text).toBe(
      input
        .replace(`"${APP}"`, `"${APP}@${d(APP)}"`)
        .replace('"busybox:1.36"', `"busybox:1.36@${d(busybox)}"`),
    );
    expect(JSON.parse(result.files[0]!.text).spec.containers[0].image).toBe(`${APP}@${d(APP)}`);
  });

  it('drops the tag with dropTag and passes the platform to the resolver', async () => {
    const resolver = fakeResolver();
    const result = await pin('flow.yaml', { dropTag: true, platform: 'linux/arm64' }, resolver);
    expect(result.files[0]!.text).toContain(`image: registry.example.com/team/app@${d(APP, 'linux/arm64')}}`);
    expect(result.files[0]!.text).toContain(
      `'busybox@${d('docker.io/library/busybox:1.36', 'linux/arm64')}'`,
    );
    expect(resolver.calls.every((c) => c.platform === 'linux/arm64')).toBe(true);
  });

  it('applies exemptions and namespace matching', async () => {
    const result = await pin('commented.yaml', { exemptImages: ['registry.example.com/team/*'] });
    expect(result.changes.map((c) => c.image)).toEqual(['busybox:1.36']);
    const none = await pin('commented.yaml', { excludedNamespaces: ['prod'] });
    expect(none.changes).toEqual([]);
  });

  it('writes nothing when any image fails, and lists every failure', async () => {
    const resolver = fakeResolver({
      answers: { [APP]: new ImgdigestError('NOT_FOUND', 'manifest unknown') },
    });
    const result = await pinFiles([read('commented.yaml'), read('flow.yaml')], {
      rules: defaultRules(),
      resolver,
    });
    expect(result.files.every((f) => !f.changed && f.text === f.original)).toBe(true);
    expect(result.failures.map((f) => `${f.file}:${f.line}: ${f.image}: ${f.reason}`)).toEqual([
      `commented.yaml:24: ${APP}: manifest unknown`,
      `flow.yaml:1: ${APP}: manifest unknown`,
    ]);
    expect(failureError(result.failures).code).toBe('NOT_FOUND');
  });

  it('pins from a lock without the network, and names every image missing from it', async () => {
    const lock = parseLock(`${APP}@${d(APP)}\n`, 'built.txt');
    const ok = await pinFiles([read('flow.yaml')], {
      rules: applyRuleFlags(defaultRules(), { exemptImages: ['busybox*'] }),
      resolver: lockResolver(lock),
    });
    expect(ok.files[0]!.text).toContain(`${APP}@${d(APP)}`);
    const missing = await pinFiles([read('flow.yaml'), read('commented.yaml')], {
      rules: defaultRules(),
      resolver: lockResolver(lock),
    });
    expect(missing.failures.map((f) => f.image).sort()).toEqual([
      'busybox:1.36',
      'busybox:1.36',
      'registry.example.com/team/migrate:2.1',
    ]);
    expect(failureError(missing.failures).code).toBe('LOCK_MISSING');
  });

  it('refuses invalid YAML and alias bombs before resolving anything', async () => {
    const resolver = fakeResolver();
    const bad = join(CORPUS, '../bad');
    await expect(
      pinFiles([{ path: 'invalid.yaml', text: readFileSync(join(bad, 'invalid.yaml'), 'utf8') }], {
        rules: defaultRules(),
        resolver,
      }),
    ).rejects.toMatchObject({
      code: 'YAML_INVALID',
      message: expect.stringMatching(/^invalid\.yaml:\d+:\d+: invalid YAML/),
    });
    await expect(
      pinFiles([{ path: 'bomb.yaml', text: readFileSync(join(bad, 'bomb.yaml'), 'utf8') }], {
        rules: defaultRules(),
        resolver,
      }),
    ).rejects.toMatchObject({ code: 'YAML_INVALID', message: expect.stringMatching(/alias/) });
    expect(resolver.calls).toEqual([]);
  });
});

describe('pinFiles with update', () => {
  const OLD = `sha256:${'0'.repeat(64)}`;
  const text = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: p}',
    'spec:',
    '  containers:',
    `    - {name: a, image: "${APP}@${OLD}"} # stale`,
    `    - name: b`,
    `      image: '${APP}@${d(APP)}'`,
    `    - name: c`,
    `      image: registry.example.com/team/new:2`,
    `    - name: d`,
    `      image: registry.example.com/team/untagged@${OLD}`,
    '',
  ].join('\r\n');
  const run = (update: 'update' | 'only-update', rules = defaultRules()) =>
    pinFiles([{ path: 'p.yaml', text }], { rules, resolver: fakeResolver(), update });

  it('replaces a digest its tag no longer resolves to, byte for byte, and pins the rest', async () => {
    const result = await run('update');
    const NEW = 'registry.example.com/team/new:2';
    expect(result.files[0]!.text).toBe(
      text.replace(`${APP}@${OLD}`, `${APP}@${d(APP)}`).replace(`${NEW}\r`, `${NEW}@${d(NEW)}\r`),
    );
    expect(result.changes.map((c) => [c.line, c.image, c.to, c.previous])).toEqual([
      [6, `${APP}@${OLD}`, `${APP}@${d(APP)}`, OLD],
      [10, NEW, `${NEW}@${d(NEW)}`, undefined],
    ]);
    expect(result.pinned).toEqual({ checked: 2, untagged: 1 });
    // The tag is resolved once, for the stale and the current pin alike, and recorded for the lock.
    expect(result.resolutions.find((r) => r.resolution.reference.canonical === APP)?.sites).toHaveLength(2);
  });

  it('only-update leaves unpinned images alone; exempt images are not updated', async () => {
    const only = await run('only-update');
    expect(only.changes.map((c) => c.line)).toEqual([6]);
    const exempt = await run(
      'update',
      applyRuleFlags(defaultRules(), { exemptImages: ['registry.example.com/*'] }),
    );
    expect(exempt.changes).toEqual([]);
  });
});

describe('images outside workloads', () => {
  const NGINX = 'docker.io/bitnami/nginx:1.25.3';
  const kustomization = [
    'resources: [deploy.yaml]',
    'images:',
    '  - name: nginx',
    '    newTag: "1.25"   # the web tier',
    '  - name: redis',
    '    newName: registry.example.com/cache/redis',
    "    newTag: '7'",
    '  - {name: busybox, newTag: "1.36"}',
    '  - name: renamed-only',
    '    newName: other',
    '  - name: numeric',
    '    newTag: 1.10',
    '',
  ].join('\r\n');
  const values = [
    'replicaCount: 2',
    'image:',
    '  registry: docker.io',
    '  repository: bitnami/nginx',
    '  tag: 1.25.3',
    '  digest: ""',
    'sidecar:',
    '  image: {repository: busybox, tag: "1.36"}',
    'proxy:',
    '  image:',
    '    repository: registry.example.com/team/proxy',
    '    tag: v2',
    `    digest: sha256:${'0'.repeat(64)}`,
    'extra:',
    '  agentImage: registry.example.com/team/agent:0.9',
    '',
  ].join('\n');
  const files = [
    { path: 'base/kustomization.yaml', text: kustomization },
    { path: 'chart/values.yaml', text: values },
  ];
  const rules = parseRules(
    'imageLocations:\n  - files: [chart/values*.yaml]\n    imagePaths: [extra.agentImage]\n',
    'rules.yaml',
  );

  it('pins kustomize images entries and Helm values by adding or filling their digest, changing nothing else', async () => {
    const result = await pinFiles(files, { rules, resolver: fakeResolver() });
    expect(result.failures).toEqual([]);
    const nginx = d('docker.io/library/nginx:1.25');
    const redis = d('registry.example.com/cache/redis:7');
    const busybox = d('docker.io/library/busybox:1.36');
    expect(result.files[0]!.text).toBe(
      kustomization
        .replace('# the web tier\r\n', `# the web tier\r\n    digest: ${nginx}\r\n`)
        .replace("newTag: '7'\r\n", `newTag: '7'\r\n    digest: ${redis}\r\n`)
        .replace('newTag: "1.36"}', `newTag: "1.36", digest: "${busybox}"}`),
    );
    const agent = 'registry.example.com/team/agent:0.9';
    expect(result.files[1]!.text).toBe(
      values
        .replace('digest: ""', `digest: "${d(NGINX)}"`)
        .replace('tag: "1.36"}', `tag: "1.36", digest: "${busybox}"}`)
        .replace(`${agent}\n`, `${agent}@${d(agent)}\n`),
    );
    expect(result.changes.map((c) => `${c.file}:${c.line} ${c.image} -> ${c.to}`)).toEqual([
      `base/kustomization.yaml:4 nginx:1.25 -> nginx:1.25@${nginx}`,
      `base/kustomization.yaml:7 registry.example.com/cache/redis:7 -> registry.example.com/cache/redis:7@${redis}`,
      `base/kustomization.yaml:8 busybox:1.36 -> busybox:1.36@${busybox}`,
      `chart/values.yaml:5 ${NGINX} -> ${NGINX}@${d(NGINX)}`,
      `chart/values.yaml:8 busybox:1.36 -> busybox:1.36@${busybox}`,
      `chart/values.yaml:15 ${agent} -> ${agent}@${d(agent)}`,
    ]);
    expect(result.notes.map((n) => `${n.line}: ${n.reason}`)).toEqual([
      '12: the tag is not a string (quote it), left alone',
    ]);
  });

  it('updates the digest of a Helm values image whose tag moved, and nothing else', async () => {
    const result = await pinFiles(files.slice(1), { rules, resolver: fakeResolver(), update: 'only-update' });
    const proxy = 'registry.example.com/team/proxy:v2';
    expect(result.files[0]!.text).toBe(values.replace(`sha256:${'0'.repeat(64)}`, d(proxy)));
    expect(result.changes).toEqual([
      expect.objectContaining({
        line: 12,
        image: `${proxy}@sha256:${'0'.repeat(64)}`,
        previous: `sha256:${'0'.repeat(64)}`,
      }),
    ]);
  });

  it('check reports them with where they are written', () => {
    const { findings } = checkFiles(files, rules);
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.message}`)).toEqual([
      'base/kustomization.yaml:4:13: images entry <nginx> uses an image without a digest <nginx:1.25>',
      'base/kustomization.yaml:7:13: images entry <redis> uses an image without a digest <registry.example.com/cache/redis:7>',
      'base/kustomization.yaml:8:29: images entry <busybox> uses an image without a digest <busybox:1.36>',
      'base/kustomization.yaml:12:13: images entry <numeric> uses an image without a digest <1.1>',
      `chart/values.yaml:5:8: value <image> uses an image without a digest <${NGINX}>`,
      'chart/values.yaml:8:37: value <sidecar.image> uses an image without a digest <busybox:1.36>',
      'chart/values.yaml:15:15: field <extra.agentImage> uses an image without a digest <registry.example.com/team/agent:0.9>',
    ]);
  });
});
