/**
 * `imgdigest webhook certs|manifests|serve` as a user runs them. The manifests go through the real
 * kubectl: `kubectl apply --dry-run=client` (offline, against a discovery-only stand-in) proves
 * every document is a recognised kind at a served group/version and would be created; the
 * Deployment and Service also make a round trip through kubectl's typed Go structs (`kubectl set
 * ... --local -o json` decodes into apps/v1.Deployment and v1.Service), so a misspelt or
 * mistyped field would be dropped or refused. `serve` runs as its own process against a private
 * registry whose credentials come only from a mounted `.dockerconfigjson`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildSampleImages } from '../../src/builder/index.js';
import { registerWebhook } from '../../src/cli/commands/webhook.js';
import type { CliContext } from '../../src/cli/context.js';
import { parseWebhookConfig } from '../../src/webhook/config.js';
import { runCli } from '../support/cli.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { type KubeDiscovery, kubectl, startKubeDiscovery } from './kube-discovery.js';
import { admissionReview, decodePatch } from './support.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML and JSON, read field by field
type Obj = Record<string, any>;

/** Every leaf of `expected` is in `actual` with the same value (kubectl may add defaults). */
function missingLeaves(expected: unknown, actual: unknown, path = ''): string[] {
  if (expected === null || typeof expected !== 'object')
    return expected === actual ? [] : [`${path}: ${JSON.stringify(actual)}`];
  if (typeof actual !== 'object' || actual === null) return [`${path}: missing`];
  return Object.entries(expected).flatMap(([k, v]) => missingLeaves(v, (actual as Obj)[k], `${path}/${k}`));
}

afterAll(cleanupTempDirs);

describe('imgdigest webhook certs', () => {
  it('writes the files, reuses the CA on a second run, and makes a new one with --new-ca', async () => {
    const dir = await tempDir('cli-certs');
    const args = ['webhook', 'certs', '--service', 'hook', '--namespace', 'ns', '--out', dir, '--days', '10'];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    expect(
      first.stdout
        .trim()
        .split('\n')
        .map((p) => p.slice(dir.length + 1))
        .sort(),
    ).toEqual(['ca.crt', 'ca.key', 'caBundle', 'tls.crt', 'tls.key']);
    expect(first.stderr).toContain('made a new CA');
    expect(first.stderr).toContain('names: hook, hook.ns, hook.ns.svc, hook.ns.svc.cluster.local');
    const bundle = await readFile(join(dir, 'caBundle'), 'utf8');
    const cert = await readFile(join(dir, 'tls.crt'), 'utf8');
    const second = await runCli(args);
    expect(second.stderr).toContain('reused the CA');
    expect(await readFile(join(dir, 'caBundle'), 'utf8')).toBe(bundle);
    expect(await readFile(join(dir, 'tls.crt'), 'utf8')).not.toBe(cert);
    await runCli([...args, '--new-ca']);
    expect(await readFile(join(dir, 'caBundle'), 'utf8')).not.toBe(bundle);
    expect((await stat(join(dir, 'tls.key'))).mode & 0o777).toBe(0o600);
    const bad = await runCli([
      'webhook',
      'certs',
      '--service',
      'Bad_Name',
      '--namespace',
      'ns',
      '--out',
      dir,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('imgdigest: --service "Bad_Name" is not a valid DNS label (a-z, 0-9, -)\n');
  });
});

describe.skipIf(!haveTools('kubectl'))('imgdigest webhook manifests', () => {
  let discovery: KubeDiscovery;
  let certDir: string;
  let yaml: string;
  let docs: Obj[];
  const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

  beforeAll(async () => {
    discovery = await startKubeDiscovery();
    certDir = await tempDir('cli-manifests');
    await runCli([
      'webhook',
      'certs',
      '--service',
      'imgdigest-webhook',
      '--namespace',
      'imgdigest-system',
      '--out',
      certDir,
    ]);
    const result = await runCli([
      'webhook',
      'manifests',
      '--tls-dir',
      certDir,
      '--image',
      'registry.example.com/imgdigest:0.1.0',
      '--no-resolve',
    ]);
    expect(result.code).toBe(0);
    yaml = result.stdout;
    docs = parseAllDocuments(yaml).map((d) => d.toJS() as Obj);
  });
  afterAll(async () => {
    await discovery?.stop();
  });

  it('is accepted by kubectl apply --dry-run=client: every object would be created', async () => {
    const out = await kubectl(
      discovery.url,
      ['apply', '--dry-run=client', '--validate=false', '-f', '-'],
      yaml,
    );
    expect(out.trim().split('\n')).toEqual([
      'namespace/imgdigest-system created (dry run)',
      'serviceaccount/imgdigest-webhook created (dry run)',
      'configmap/imgdigest-webhook-config created (dry run)',
      'secret/imgdigest-webhook-tls created (dry run)',
      'deployment.apps/imgdigest-webhook created (dry run)',
      'service/imgdigest-webhook created (dry run)',
      'poddisruptionbudget.policy/imgdigest-webhook created (dry run)',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/imgdigest-webhook created (dry run)',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/imgdigest-webhook created (dry run)',
    ]);
  });

  it('survives a round trip through kubectl typed Deployment and Service structs with no field lost', async () => {
    // kubectl prints nothing when nothing changed, so each round trip changes one known value.
    const deployment = byKind('Deployment');
    const typed = JSON.parse(
      await kubectl(
        discovery.url,
        ['set', 'image', '--local', '-f', '-', 'webhook=registry.example.com/roundtrip:1', '-o', 'json'],
        JSON.stringify(deployment),
      ),
    );
    const expected = structuredClone(deployment);
    expected.spec.template.spec.containers[0].image = 'registry.example.com/roundtrip:1';
    expect(missingLeaves(expected, typed)).toEqual([]);
    const service = byKind('Service');
    const typedService = JSON.parse(
      await kubectl(
        discovery.url,
        ['set', 'selector', '--local', '-f', '-', 'app.kubernetes.io/name=roundtrip', '-o', 'json'],
        JSON.stringify(service),
      ),
    );
    const expectedService = structuredClone(service);
    expectedService.spec.selector = { 'app.kubernetes.io/name': 'roundtrip' };
    expect(missingLeaves(expectedService, typedService)).toEqual([]);
  });

  it('deploys hardened, highly available pods that run `webhook serve` with flags it knows', () => {
    const d = byKind('Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(2);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits).toBeDefined();
    expect(pod.topologySpreadConstraints.map((t: Obj) => t.topologyKey)).toContain('kubernetes.io/hostname');
    expect(pod.volumes.find((v: Obj) => v.name === 'tls').secret.secretName).toBe('imgdigest-webhook-tls');
    expect(byKind('Service').spec.ports[0]).toMatchObject({ port: 443, targetPort: 'https' });
    expect(c.ports.find((p: Obj) => p.name === 'https').containerPort).toBe(8443);
    expect(byKind('PodDisruptionBudget').spec.minAvailable).toBe(1);
    // Every flag the container passes is one `webhook serve` declares.
    const program = new Command();
    registerWebhook(program, {} as CliContext);
    const serve = program.commands[0]!.commands.find((x) => x.name() === 'serve')!;
    const known = new Set(serve.options.map((o) => o.long));
    expect(c.args.slice(0, 2)).toEqual(['webhook', 'serve']);
    for (const arg of c.args.slice(2)) expect(known, arg).toContain(arg.split('=')[0]);
    const rules = parseWebhookConfig(byKind('ConfigMap').data['rules.yaml'], 'configmap');
    expect(rules.webhook.resolutionBudgetMs).toBeLessThan(10_000);
  });

  it('registers validate and mutate webhooks with the safe settings, CA bundle and namespace selection', async () => {
    const caBundle = Buffer.from(await readFile(join(certDir, 'ca.crt'))).toString('base64');
    const validating = byKind('ValidatingWebhookConfiguration').webhooks[0];
    const mutating = byKind('MutatingWebhookConfiguration').webhooks[0];
    for (const [w, path, name] of [
      [validating, '/validate', 'validate.imgdigest.dev'],
      [mutating, '/mutate', 'pin.imgdigest.dev'],
    ] as const) {
      expect(w).toMatchObject({
        name,
        sideEffects: 'None',
        matchPolicy: 'Equivalent',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
        failurePolicy: 'Ignore', // from the default rules file's failurePolicy
        clientConfig: {
          caBundle,
          service: { name: 'imgdigest-webhook', namespace: 'imgdigest-system', path, port: 443 },
        },
      });
      const resources = w.rules.flatMap((r: Obj) => r.resources);
      expect(resources.sort()).toEqual(
        [
          'cronjobs',
          'daemonsets',
          'deployments',
          'jobs',
          'podtemplates',
          'pods',
          'pods/ephemeralcontainers',
          'replicasets',
          'replicationcontrollers',
          'statefulsets',
        ].sort(),
      );
      for (const r of w.rules) expect(r.operations).toEqual(['CREATE', 'UPDATE']);
      expect(w.namespaceSelector.matchExpressions[0]).toEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'imgdigest-system'],
      });
    }
    expect(mutating.reinvocationPolicy).toBe('IfNeeded');
    expect(validating.reinvocationPolicy).toBeUndefined();
    expect(mutating.namespaceSelector.matchExpressions[1]).toEqual({
      key: 'imgdigest.dev/mutate',
      operator: 'In',
      values: ['enabled'],
    });
    expect(validating.namespaceSelector.matchExpressions).toHaveLength(1);
  });

  it('prints only what --mode asks for, and refuses a budget that does not fit the timeout', async () => {
    const only = await runCli([
      'webhook',
      'manifests',
      '--mode',
      'validate',
      '--failure-policy',
      'Fail',
      '--namespace',
      'policy',
      '--no-resolve',
    ]);
    const kinds = parseAllDocuments(only.stdout).map((d) => (d.toJS() as Obj).kind);
    expect(kinds).toContain('ValidatingWebhookConfiguration');
    expect(kinds).not.toContain('MutatingWebhookConfiguration');
    expect(kinds).not.toContain('Secret');
    expect(only.stderr).toContain('no --ca-bundle, --tls-dir or --cert-manager');
    const tight = await runCli(['webhook', 'manifests', '--timeout-seconds', '5']);
    expect(tight.code).toBe(2);
    expect(tight.stderr).toBe(
      'imgdigest: resolutionBudgetMs 8000 leaves no time to answer within --timeout-seconds 5: keep it at most 4000\n',
    );
  });
});

describe.skipIf(!haveTools('docker-registry'))('imgdigest webhook serve (as a process)', () => {
  let registry: Distribution;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    registry = await startDistribution({ auth: 'htpasswd', username: 'puller', password: 's3cret-pass' });
    await pushWithClient(
      registry.host,
      'private/app',
      await buildSampleImages('private'),
      registry.credentials,
    );
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await registry?.stop();
  });

  it('pins with credentials from a mounted .dockerconfigjson, logs JSON lines, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir('cli-serve');
    await runCli([
      'webhook',
      'certs',
      '--service',
      'hook',
      '--namespace',
      'ns',
      '--out',
      dir,
      '--extra-name',
      '127.0.0.1',
    ]);
    const auth = Buffer.from('puller:s3cret-pass').toString('base64');
    await writeFile(join(dir, '.dockerconfigjson'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const home = await tempDir('cli-serve-home'); // no other credentials anywhere
    child = spawn(
      // node itself, not the tsx wrapper: the wrapper runs a second process that a kill of the
      // wrapper would leave running.
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/cli.ts',
        'webhook',
        'serve',
        '--addr=127.0.0.1:0',
        '--metrics-addr=127.0.0.1:0',
        `--tls-cert=${dir}/tls.crt`,
        `--tls-key=${dir}/tls.key`,
        `--docker-config=${dir}/.dockerconfigjson`,
      ],
      { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 20_000);
      child!.stderr!.on('data', () => {
        const m = /listening on (https:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const { Agent } = await import('undici');
    const agent = new Agent({ connect: { ca: await readFile(join(dir, 'ca.crt'), 'utf8') } });
    const image = `${registry.host}/private/app:1.0`;
    const review = admissionReview({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'app', image }] },
    });
    const res = await request(`${url}/mutate`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review),
    });
    const json = (await res.body.json()) as Obj;
    await agent.close();
    expect(decodePatch(json.response.patch)[0]?.value).toMatch(new RegExp(`^${image}@sha256:[0-9a-f]{64}$`));
    // Log lines are buffered and written at least every 200 ms: wait for them as an operator would.
    const deadline = Date.now() + 5_000;
    while (!(/"metricsUrl":"/.test(stdout) && /"msg":"admission"/.test(stdout)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const metricsUrl = /"metricsUrl":"([^"]+)"/.exec(stdout)?.[1];
    const metrics = await (await request(`${metricsUrl}/metrics`)).body.text();
    expect(metrics).toContain('imgdigest_webhook_admissions_total{endpoint="mutate",verdict="patched"} 1');
    expect(metrics).toContain('process_cpu_user_seconds_total');

    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Obj);
    expect(lines.find((l) => l.msg === 'admission')).toMatchObject({
      endpoint: 'mutate',
      kind: 'Pod',
      verdict: 'patched',
      patched: 1,
    });
    expect(lines.at(-1)?.msg).toBe('stopping');
    expect(stdout + stderr).not.toContain('s3cret-pass');
    expect(stdout + stderr).not.toContain(auth);
  });
});
