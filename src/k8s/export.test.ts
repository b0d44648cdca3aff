/**
 * Exported policies. Without a cluster, the real kubectl accepts them in a client dry run against
 * a discovery-only API server (no CRD schemas there, hence --validate=false). No `opa` binary is
 * installed, so the Rego's digest test is checked by evaluating the patterns it embeds, with the
 * Rego's own logic, over the gatekeeper-library inputs: same verdicts as `check`.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type FakeApiServer, startFakeApiServer } from '../../test/k8s/support/fake-apiserver.js';
import { haveTools } from '../../test/support/tools.js';
import { exemptionRegex, exportGatekeeper, exportKyverno, gatekeeperRego } from './export.js';
import { hasDigest, isExempt } from './policy.js';
import { applyRuleFlags, defaultRules } from './rules.js';

const SHA256 = 'sha256:b0ad43f7ee5edbc0effbc14645ae7055e21bc1973aee5150745632a24a752661';
const IMAGES = [
  `allowed/nginx@${SHA256}`,
  `allowed/nginx:1.19.2@${SHA256}`,
  'allowed/nginx@sha512:4b8bea0e757264767b373ba4963f4e972c428f42bf5335c2abb2e7f15a1b07c8aeddd2e62cacd0f2d669f49d8d975d952031e3041371639ec84baab400ab4802',
  'allowed/unreg@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
  'allowed/unreg@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
  'denied/nginx:1.19.2',
  'denied/other',
  'openpolicyagent/opa:0.9.2@sha256:04ff8fce2afd1a3bc26260348e5b290e8d945b1fad4b4c16d22834c2f3a1814a',
  'openpolicyagent/opa:0.9.2',
  'nginx@sha256:abc',
  'x@sha256:abc!!',
  `nginx@${SHA256}x`,
  `nginx@sha512:${'a'.repeat(64)}`,
  'nginx@SHA256:abc',
];

// Parsed YAML is navigated freely in these assertions.
// biome-ignore lint/suspicious/noExplicitAny: test data of arbitrary shape
type Yaml = any;
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Yaml);

describe('Gatekeeper export', () => {
  it('embeds exactly the digest rule check uses (evaluated like the Rego does)', () => {
    const rego = gatekeeperRego();
    const block = (name: string) => rego.split(/\n\n/).filter((b) => b.startsWith(`${name}(image)`));
    const patterns = (b: string) =>
      [...b.matchAll(/(not )?regex\.match\(`([^`]+)`, image\)/g)].map((m) => ({
        not: Boolean(m[1]),
        re: new RegExp(m[2]!),
      }));
    // A Rego rule body holds when all its lines hold; a rule with several bodies when any does.
    const holds = (b: string, image: string) => patterns(b).every((p) => p.re.test(image) !== p.not);
    const badRegistered = (image: string) => block('bad_registered').some((b) => holds(b, image));
    const [digestOk] = block('digest_ok');
    expect(digestOk).toMatch(/not bad_registered\(image\)/);
    for (const image of IMAGES) {
      const regoVerdict = holds(digestOk!, image) && !badRegistered(image);
      expect([image, regoVerdict]).toEqual([image, hasDigest(image)]);
    }
  });

  it('covers every workload kind, image volumes, and carries exemptions and namespaces', () => {
    const rules = applyRuleFlags(defaultRules(), {
      exemptImages: ['registry.k8s.io/pause*'],
      namespaces: ['prod'],
      excludedNamespaces: ['kube-system'],
    });
    const [template, constraint] = docs(exportGatekeeper(rules).yaml);
    expect(template!.kind).toBe('ConstraintTemplate');
    expect(template!.metadata.name).toBe(template!.spec.crd.spec.names.kind.toLowerCase());
    const rego: string = template!.spec.targets[0].rego;
    for (const kind of [
      'Pod',
      'PodTemplate',
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'ReplicaSet',
      'Job',
      'CronJob',
      'ReplicationController',
    ]) {
      expect(rego).toContain(`"${kind}"`);
    }
    expect(rego).toContain('volume.image.reference');
    expect(rego).toContain('ephemeralContainers');
    expect(constraint!.kind).toBe(template!.spec.crd.spec.names.kind);
    expect(constraint!.spec.parameters.exemptImages).toEqual(['registry.k8s.io/pause*']);
    expect(constraint!.spec.match).toMatchObject({
      namespaces: ['prod'],
      excludedNamespaces: ['kube-system'],
    });
    expect(constraint!.spec.match.kinds).toEqual(
      expect.arrayContaining([
        { apiGroups: ['apps'], kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'] },
      ]),
    );
  });

  it('narrows the kinds to those selected', () => {
    const [, constraint] = docs(
      exportGatekeeper(applyRuleFlags(defaultRules(), { kinds: ['Deployment', 'core/Pod'] })).yaml,
    );
    expect(constraint!.spec.match.kinds).toEqual([
      { apiGroups: [''], kinds: ['Pod'] },
      { apiGroups: ['apps'], kinds: ['Deployment'] },
    ]);
  });
});

describe('Kyverno export', () => {
  const rules = applyRuleFlags(defaultRules(), {
    exemptImages: ['denied/*', 'exact:1'],
    excludedNamespaces: ['kube-system'],
  });
  const [policy] = docs(exportKyverno(rules).yaml);

  /** Evaluate one rule's deny conditions for an image, reading the regexes out of the JMESPath. */
  function denies(rule: Yaml, image: string): boolean {
    const cond = rule.validate.foreach[0].deny.conditions;
    const evalKey = (key: string): boolean => {
      const calls = [...key.matchAll(/(!?)regex_match\('([^']+)'/g)].map((m) =>
        m[1] ? !new RegExp(m[2]!).test(image) : new RegExp(m[2]!).test(image),
      );
      return calls.every(Boolean);
    };
    const check = (c: Yaml) => evalKey(c.key) === c.value;
    return (cond.all ?? []).every(check) && (cond.any ?? []).some(check);
  }

  it('denies exactly what check reports, exemptions included', () => {
    const rule = policy!.spec.rules[0];
    for (const image of [...IMAGES, 'exact:1', 'exact:12']) {
      const expected = !hasDigest(image) && !isExempt(image, rules.exemptImages);
      expect([image, denies(rule, image)]).toEqual([image, expected]);
    }
  });

  it('has a rule for each pod spec location and image field, autogen off', () => {
    const names = policy!.spec.rules.map((r: Yaml) => r.name);
    expect(names).toHaveLength(16);
    expect(policy!.metadata.annotations['pod-policies.kyverno.io/autogen-controllers']).toBe('none');
    const lists = policy!.spec.rules.map((r: Yaml) => r.validate.foreach[0].list);
    expect(lists).toContain('request.object.spec.jobTemplate.spec.template.spec.initContainers');
    expect(lists).toContain('request.object.template.spec.containers');
    expect(lists).toContain('request.object.spec.template.spec.volumes[?image]');
    expect(policy!.spec.rules[0].exclude).toEqual({ any: [{ resources: { namespaces: ['kube-system'] } }] });
  });

  it('builds an anchored exemption regex', () => {
    const re = new RegExp(exemptionRegex(['a.b*', 'c+d'])!);
    expect(re.test('a.bxyz')).toBe(true);
    expect(re.test('aXb')).toBe(false);
    expect(re.test('c+d')).toBe(true);
    expect(re.test('c+dd')).toBe(false);
  });
});

describe.skipIf(!haveTools('kubectl'))('kubectl apply --dry-run=client accepts the exports', () => {
  let api: FakeApiServer;
  beforeAll(async () => {
    api = await startFakeApiServer([
      {
        group: 'templates.gatekeeper.sh',
        version: 'v1',
        name: 'constrainttemplates',
        kind: 'ConstraintTemplate',
        namespaced: false,
      },
      {
        group: 'constraints.gatekeeper.sh',
        version: 'v1beta1',
        name: 'k8simagedigestsstrict',
        kind: 'K8sImageDigestsStrict',
        namespaced: false,
      },
      {
        group: 'kyverno.io',
        version: 'v1',
        name: 'clusterpolicies',
        kind: 'ClusterPolicy',
        namespaced: false,
      },
    ]);
  });
  afterAll(() => api?.close());

  const apply = (yaml: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'kubectl',
        ['--server', api.url, 'apply', '--dry-run=client', '--validate=false', '-f', '-'],
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(yaml);
    });

  it('Gatekeeper ConstraintTemplate and Constraint', async () => {
    const r = await apply(exportGatekeeper(defaultRules()).yaml);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(
      'constrainttemplate.templates.gatekeeper.sh/k8simagedigestsstrict created (dry run)',
    );
    expect(r.stdout).toContain(
      'k8simagedigestsstrict.constraints.gatekeeper.sh/images-must-have-digests created (dry run)',
    );
  });

  it('Kyverno ClusterPolicy', async () => {
    const r = await apply(exportKyverno(defaultRules()).yaml);
    expect(r).toMatchObject({
      code: 0,
      stdout: 'clusterpolicy.kyverno.io/require-image-digests created (dry run)\n',
    });
  });
});
