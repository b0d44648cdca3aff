/**
 * Every Kubernetes object imgdigest prints would be accepted by a real API server (and, for their
 * custom resources, by Gatekeeper's and Kyverno's CRDs and webhooks): `imgdigest webhook manifests`
 * in every mode and with every option that changes what it prints, and `imgdigest policy export`
 * for both engines with the options that change the policy, all run through the CLI and checked by
 * test/support/k8s-validation.ts (no kube-apiserver can run here). Bad input that would produce an
 * object the cluster refuses (a caBundle that is not a certificate, an action the engine does not
 * know) is refused by the CLI itself: one line, exit 2, nothing on stdout.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { RESOLVE_ERROR_ANNOTATION } from '../../src/webhook/admission.js';
import { runCli } from '../support/cli.js';
import { auditAnnotationKeyProblem, validateObjects } from '../support/k8s-validation.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Obj = Record<string, any>;

let certs: string;
let work: string;

beforeAll(async () => {
  certs = await tempDir('valid-objects-certs');
  work = await tempDir('valid-objects');
  const made = await runCli([
    'webhook',
    'certs',
    '--service',
    'imgdigest-webhook',
    '--namespace',
    'imgdigest-system',
    '--out',
    certs,
  ]);
  expect(made.code).toBe(0);
  await writeFile(
    join(work, 'rules.yaml'),
    [
      'exemptImages: [registry.k8s.io/pause*]',
      'match:',
      '  kinds: [Pod, apps/Deployment, {apiGroups: [batch], kinds: [Job, CronJob]}]',
      '  namespaces: [prod, team-*]',
      '  excludedNamespaces: [monitoring]',
      'failurePolicy: Ignore',
      'webhook:',
      '  enforcement: warn',
      '  resolutionBudgetMs: 8000',
      '',
    ].join('\n'),
  );
});
afterAll(cleanupTempDirs);

/** Run the CLI, expect success, and return the objects it printed. */
async function printed(args: string[]): Promise<Obj[]> {
  const r = await runCli(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

/** Every validation problem of `objects`, as `Kind/name: problem`. */
async function problems(objects: Obj[]): Promise<string[]> {
  const reports = await validateObjects(objects);
  return reports.flatMap((r) => [...r.errors, ...r.warnings].map((e) => `${r.object}: ${e}`));
}

describe('imgdigest webhook manifests: every object passes the API server validation', () => {
  const variants: [string, () => string[]][] = [
    ['both webhooks, no CA bundle', () => []],
    ['validate only', () => ['--mode', 'validate']],
    ['mutate only', () => ['--mode', 'mutate']],
    ['--ca-bundle (the caBundle file: base64 of PEM)', () => ['--ca-bundle', join(certs, 'caBundle')]],
    ['--ca-bundle (a PEM CA certificate)', () => ['--ca-bundle', join(certs, 'ca.crt')]],
    ['--tls-dir (TLS Secret, caBundle from ca.crt)', () => ['--tls-dir', certs]],
    ['--cert-manager (Issuers, Certificates, CA injection)', () => ['--cert-manager']],
    ['--network-policy', () => ['--network-policy', '--metrics-namespace', 'observability']],
    [
      'everything else that changes the objects',
      () => [
        '--tls-dir',
        certs,
        '--docker-config-secret',
        'registry-credentials',
        '--namespace',
        'admission',
        '--name',
        'digests',
        '--replicas',
        '3',
        '--failure-policy',
        'Fail',
        '--timeout-seconds',
        '15',
        '--config',
        join(work, 'rules.yaml'),
      ],
    ],
  ];
  for (const [what, args] of variants) {
    it(what, async () => {
      const objects = await printed([
        'webhook',
        'manifests',
        '--image',
        'registry.example.com/imgdigest:0.1.0',
        '--no-resolve',
        ...args(),
      ]);
      expect(objects.length).toBeGreaterThanOrEqual(7);
      expect(await problems(objects)).toEqual([]);
    });
  }

  it('names its webhooks so that their audit annotations are valid keys', async () => {
    const objects = await printed([
      'webhook',
      'manifests',
      '--image',
      'registry.example.com/imgdigest:0.1.0',
      '--no-resolve',
    ]);
    const names = objects
      .filter((o) => String(o.kind).endsWith('WebhookConfiguration'))
      .map((o) => o.webhooks[0].name);
    expect(names).toEqual(['validate.imgdigest.dev', 'pin.imgdigest.dev']);
    for (const name of names)
      expect(auditAnnotationKeyProblem(name, RESOLVE_ERROR_ANNOTATION)).toBeUndefined();
  });
});

describe('imgdigest policy export: the policies pass their engines CRD schemas and webhooks', () => {
  const variants: string[][] = [
    ['--gatekeeper'],
    [
      '--gatekeeper',
      '--action',
      'warn',
      '--exempt-image',
      'registry.k8s.io/pause*',
      '--name',
      'digests-required',
    ],
    ['--gatekeeper', '--action', 'dryrun', '--namespaces', 'team-*', '--exclude-namespaces', 'monitoring'],
    ['--gatekeeper', '--include-kube-system', '--kinds', 'Deployment,CronJob'],
    ['--kyverno'],
    [
      '--kyverno',
      '--action',
      'Audit',
      '--exempt-image',
      'registry.k8s.io/pause*',
      '--exempt-image',
      'busybox:1.36',
    ],
    ['--kyverno', '--kinds', 'Pod,Deployment', '--namespaces', 'prod', '--include-kube-system'],
    ['--kyverno', '--kinds', 'Deployment,CronJob', '--exclude-namespaces', 'monitoring'],
    ['--kyverno', '--kinds', 'PodTemplate'],
  ];
  for (const args of variants) {
    it(args.join(' '), async () => {
      const objects = await printed(['policy', 'export', ...args]);
      expect(objects.length).toBe(args[0] === '--gatekeeper' ? 2 : 1);
      expect(await problems(objects)).toEqual([]);
    });
  }

  it('with a rules file, for both engines', async () => {
    for (const engine of ['--gatekeeper', '--kyverno']) {
      const objects = await printed(['policy', 'export', engine, '--rules', join(work, 'rules.yaml')]);
      expect(await problems(objects)).toEqual([]);
    }
  });
});

describe('the CLI refuses input that would make objects the cluster refuses', () => {
  const refused = async (args: string[], stderr: string) => {
    const r = await runCli(args);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `${stderr}\n`,
    });
  };

  it('--ca-bundle must hold PEM certificates or base64 of them', async () => {
    const file = (name: string, text: string) =>
      writeFile(join(work, name), text).then(() => join(work, name));
    const notPem = await file('notes.txt', 'the CA is in the vault\n');
    await refused(
      ['webhook', 'manifests', '--ca-bundle', notPem],
      `imgdigest: --ca-bundle ${notPem}: is not a PEM certificate or base64 of one`,
    );
    const key = join(certs, 'tls.key');
    const keyType = /-----BEGIN ([A-Z ]+)-----/.exec(await readFile(key, 'utf8'))![1];
    await refused(
      ['webhook', 'manifests', '--ca-bundle', key],
      `imgdigest: --ca-bundle ${key}: holds a ${keyType} block: a CA bundle holds certificates only`,
    );
    const notPemBase64 = await file('bundle.b64', `${Buffer.from('just text').toString('base64')}\n`);
    await refused(
      ['webhook', 'manifests', '--ca-bundle', notPemBase64],
      `imgdigest: --ca-bundle ${notPemBase64}: is base64, but not of a PEM certificate`,
    );
    const broken = await file('broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const r = await runCli(['webhook', 'manifests', '--ca-bundle', broken]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(
      new RegExp(`^imgdigest: --ca-bundle ${broken}: certificate 1 does not parse: .+\\n$`),
    );
    const empty = await file('empty.crt', '');
    await refused(
      ['webhook', 'manifests', '--ca-bundle', empty],
      `imgdigest: --ca-bundle ${empty}: is empty: expected a PEM CA certificate or base64 of one`,
    );
  });

  it("--tls-dir's ca.crt is checked the same way", async () => {
    const dir = await tempDir('valid-objects-tls');
    for (const f of ['tls.crt', 'tls.key']) await writeFile(join(dir, f), await readFile(join(certs, f)));
    await writeFile(join(dir, 'ca.crt'), await readFile(join(certs, 'tls.key')));
    const r = await runCli(['webhook', 'manifests', '--tls-dir', dir]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(
      new RegExp(
        `^imgdigest: --tls-dir ${join(dir, 'ca.crt')}: holds a [A-Z ]+ block: a CA bundle holds certificates only\\n$`,
      ),
    );
  });

  it('--action takes only what the engine accepts', async () => {
    await refused(
      ['policy', 'export', '--gatekeeper', '--action', 'Enforce'],
      'imgdigest: --action with --gatekeeper must be one of deny, dryrun, warn, got "Enforce"',
    );
    await refused(
      ['policy', 'export', '--kyverno', '--action', 'deny'],
      'imgdigest: --action with --kyverno must be one of Enforce, Audit, got "deny"',
    );
    await refused(
      ['policy', 'export', '--kyverno', '--action', 'audit'],
      'imgdigest: --action with --kyverno must be one of Enforce, Audit, got "audit"',
    );
    for (const [engine, action] of [
      ['--gatekeeper', 'dryrun'],
      ['--kyverno', 'Audit'],
    ] as const) {
      expect((await runCli(['policy', 'export', engine, '--action', action])).code).toBe(0);
    }
  });
});
