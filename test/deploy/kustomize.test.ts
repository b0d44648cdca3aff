/**
 * deploy/ and `imgdigest webhook manifests` are one source: `kubectl kustomize` (offline, the real
 * kubectl) renders each of deploy/base and deploy/overlays/* into exactly the objects the CLI
 * prints with the matching flags, the components combine as the README says, and the files are
 * what `npm run deploy:generate` writes today. The cert-manager and NetworkPolicy objects are
 * checked for what makes them work: the CA chain, the names, the injected (never hand-set)
 * caBundle, the ports and selectors.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { BASE_ARGS, COMPONENTS, deployFiles, manifests } from '../../scripts/deploy-generate.js';
import { repoRoot } from '../support/repo-boundary.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';
import { type KubeDiscovery, kubectl, startKubeDiscovery } from '../webhook/kube-discovery.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Obj = Record<string, any>;

const deployDir = join(repoRoot, 'deploy');

function kustomize(dir: string): Promise<Obj[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      ['kustomize', dir],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`kubectl kustomize ${dir}: ${stderr || error.message}`))
          : resolve(parseAllDocuments(stdout).map((d) => d.toJS() as Obj)),
    );
  });
}

const id = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const sorted = (objects: Obj[]) => [...objects].sort((a, b) => id(a).localeCompare(id(b)));
const cli = async (args: string[]) => (await manifests(args)).map((m) => m.object);
const find = (objects: Obj[], kind: string, name?: string) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

afterAll(cleanupTempDirs);

describe.skipIf(!haveTools('kubectl'))('deploy/ (kustomize)', () => {
  let base: Obj[];
  const overlays: Record<string, Obj[]> = {};

  beforeAll(async () => {
    base = await kustomize(join(deployDir, 'base'));
    for (const name of Object.keys(COMPONENTS))
      overlays[name] = await kustomize(join(deployDir, 'overlays', name));
  });

  it('holds exactly what `npm run deploy:generate` writes from the CLI today', async () => {
    const expected = await deployFiles();
    const onDisk = (
      await Promise.all(['base', 'components', 'overlays'].map((d) => listFiles(join(deployDir, d))))
    ).flat();
    expect(onDisk.map((p) => relative(deployDir, p)).sort()).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected) {
      expect(
        await readFile(join(deployDir, path), 'utf8'),
        `deploy/${path}: run npm run deploy:generate`,
      ).toBe(text);
    }
  });

  it('renders the base into exactly the objects `webhook manifests` prints', async () => {
    expect(sorted(base)).toEqual(sorted(await cli(BASE_ARGS)));
    expect(base.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'MutatingWebhookConfiguration',
        'Namespace',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'ValidatingWebhookConfiguration',
      ].sort(),
    );
  });

  for (const [name, flags] of Object.entries(COMPONENTS)) {
    it(`renders overlays/${name} into exactly what \`webhook manifests ${flags.join(' ')}\` prints`, async () => {
      expect(sorted(overlays[name]!)).toEqual(sorted(await cli([...BASE_ARGS, ...flags])));
    });
  }

  it("combines the components in a user's own kustomization, with the image set by digest", async () => {
    const dir = await tempDir('kustomize-user');
    const digest = `sha256:${'ab'.repeat(32)}`;
    // kustomize takes no absolute paths: the user's folder names deploy/ relatively.
    const rel = (p: string) => relative(dir, join(deployDir, p));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${rel('base')}`,
        'components:',
        ...Object.keys(COMPONENTS).map((c) => `  - ${rel(`components/${c}`)}`),
        'images:',
        '  - name: ghcr.io/imgdigest/imgdigest',
        '    newName: registry.example.com/imgdigest',
        '    newTag: 0.1.0',
        `    digest: ${digest}`,
        '',
      ].join('\n'),
    );
    const rendered = await kustomize(dir);
    const expected = await cli([...BASE_ARGS, ...Object.values(COMPONENTS).flat()]);
    const deployment = find(expected, 'Deployment')!;
    deployment.spec.template.spec.containers[0].image = `registry.example.com/imgdigest:0.1.0@${digest}`;
    expect(sorted(rendered)).toEqual(sorted(expected));
  });

  it('lets cert-manager issue the serving certificate and inject caBundle: a CA chain, no caBundle by hand', () => {
    const objects = overlays['cert-manager']!;
    const service = find(objects, 'Service')!;
    const ns = service.metadata.namespace;
    const deployment = find(objects, 'Deployment')!;
    const tlsSecret = deployment.spec.template.spec.volumes.find((v: Obj) => v.name === 'tls').secret
      .secretName;
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const config = find(objects, kind)!;
      for (const w of config.webhooks) expect(w.clientConfig.caBundle, kind).toBeUndefined();
      const [certNs, certName] = config.metadata.annotations['cert-manager.io/inject-ca-from'].split('/');
      expect(certNs).toBe(ns);
      // The annotation names the Certificate whose Secret the webhook serves with.
      const serving = find(objects, 'Certificate', certName)!;
      expect(serving.metadata.namespace).toBe(ns);
      expect(serving.spec.secretName).toBe(tlsSecret);
      expect(serving.spec.dnsNames).toContain(`${service.metadata.name}.${ns}.svc`);
      for (const w of config.webhooks) expect(w.clientConfig.service.name).toBe(service.metadata.name);
      // serving <- CA Issuer <- CA Certificate (isCA) <- selfSigned Issuer
      const caIssuer = find(objects, 'Issuer', serving.spec.issuerRef.name)!;
      const caCert = objects.find(
        (o) => o.kind === 'Certificate' && o.spec.secretName === caIssuer.spec.ca.secretName,
      )!;
      expect(caCert.spec.isCA).toBe(true);
      expect(find(objects, 'Issuer', caCert.spec.issuerRef.name)!.spec).toEqual({ selfSigned: {} });
    }
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
  });

  it('admits the webhook port from anywhere and the metrics port from the monitoring namespace only', () => {
    const objects = overlays['network-policy']!;
    const policy = find(objects, 'NetworkPolicy')!;
    const deployment = find(objects, 'Deployment')!;
    const pod = deployment.spec.template;
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels))
      expect(pod.metadata.labels[k]).toBe(v);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const container = pod.spec.containers[0];
    const portNames = container.ports.map((p: Obj) => p.name);
    const rules = policy.spec.ingress as Obj[];
    expect(rules.flatMap((r) => r.ports.map((p: Obj) => p.port)).sort()).toEqual(['https', 'metrics']);
    for (const r of rules) for (const p of r.ports) expect(portNames).toContain(p.port);
    const webhookRule = rules.find((r) => r.ports[0].port === 'https')!;
    expect(webhookRule.from).toBeUndefined();
    const metricsRule = rules.find((r) => r.ports[0].port === 'metrics')!;
    expect(metricsRule.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    // The metrics port is its own: the container serves /metrics there, and the Service names it.
    const metricsPort = container.ports.find((p: Obj) => p.name === 'metrics').containerPort;
    expect(container.args).toContain(`--metrics-addr=0.0.0.0:${metricsPort}`);
    expect(find(objects, 'Service')!.spec.ports.map((p: Obj) => p.name)).toEqual(['https', 'metrics']);
  });

  describe('with kubectl apply --dry-run=client', () => {
    let discovery: KubeDiscovery;
    beforeAll(async () => {
      discovery = await startKubeDiscovery();
    });
    afterAll(async () => {
      await discovery?.stop();
    });

    it('creates every object of -k deploy/overlays/cert-manager and -k deploy/overlays/network-policy', async () => {
      for (const name of Object.keys(COMPONENTS)) {
        const out = await kubectl(discovery.url, [
          'apply',
          '--dry-run=client',
          '--validate=false',
          '-k',
          join(deployDir, 'overlays', name),
        ]);
        const lines = out.trim().split('\n');
        expect(lines).toHaveLength(overlays[name]!.length);
        for (const line of lines) expect(line).toMatch(/ created \(dry run\)$/);
      }
    });
  });
});
