/**
 * Exported policies. Without a cluster, the real kubectl accepts them in a client dry run against
 * a discovery-only API server (no CRD schemas there, hence --validate=false; the CRD schemas are
 * checked in test/k8s/valid-objects.test.ts). No `opa` binary is installed, so the Rego's digest
 * test is checked by evaluating the patterns it embeds, with the Rego's own logic, over the
 * gatekeeper-library inputs: same verdicts as `check`. The Kyverno policy is run through Kyverno's
 * autogen and a foreach/deny evaluator (test/support/kyverno.ts) over every workload kind: it
 * denies what `check` reports.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type FakeApiServer, startFakeApiServer } from '../../test/k8s/support/fake-apiserver.js';
import { effectiveRules, ruleApplies, violations } from '../../test/support/kyverno.js';
import { haveTools } from '../../test/support/tools.js';
import { violationsOf } from './check.js';
import { exemptionRegex, exportGatekeeper, exportKyverno, gatekeeperRego } from './export.js';
import { hasDigest, isExempt, violationMessage } from './policy.js';
import { applyRuleFlags, defaultRules, type Rules } from './rules.js';

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

  it("words its denials as gatekeeper-library's k8simagedigests does, and as check does", () => {
    const rego = gatekeeperRego();
    const formats = [...rego.matchAll(/msg := sprintf\("([^"]+)", \[[^\]]+\]\)/g)].map((m) => m[1]!);
    expect(formats).toHaveLength(2);
    const [containerFormat, volumeFormat] = formats as [string, string];
    // Go's %v of a string is the string itself.
    const render = (format: string, args: string[]) => {
      let i = 0;
      return format.replace(/%v/g, () => args[i++]!);
    };
    // gatekeeper-library src/general/imagedigests/src.rego, one rule per noun.
    const upstream = (noun: string) => `${noun} <%v> uses an image without a digest <%v>`;
    for (const [field, noun] of [
      ['containers', 'container'],
      ['initContainers', 'initContainer'],
      ['ephemeralContainers', 'ephemeralContainer'],
    ] as const) {
      const ours = render(containerFormat, [noun, 'app', 'nginx:1.27']);
      expect(ours).toBe(render(upstream(noun), ['app', 'nginx:1.27']));
      expect(
        violationMessage({ field, fieldPath: `spec.${field}[0].image`, name: 'app', image: 'nginx:1.27' }),
      ).toBe(ours);
      expect(rego).toContain(`"${field}": "${noun}"`);
    }
    expect(
      violationMessage({
        field: 'volumes',
        fieldPath: 'spec.volumes[0].image.reference',
        name: 'data',
        image: 'x:1',
      }),
    ).toBe(render(volumeFormat, ['data', 'x:1']));
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

  it('leaves kube-system alone unless asked, and takes only the enforcement actions Gatekeeper knows', () => {
    const exclusions = (options = {}) =>
      docs(
        exportGatekeeper(applyRuleFlags(defaultRules(), { excludedNamespaces: ['team-*'] }), options).yaml,
      )[1].spec.match.excludedNamespaces;
    expect(exclusions()).toEqual(['kube-system', 'team-*']);
    expect(exclusions({ includeKubeSystem: true })).toEqual(['team-*']);
    expect(
      docs(exportGatekeeper(defaultRules(), { includeKubeSystem: true }).yaml)[1].spec.match,
    ).not.toHaveProperty('excludedNamespaces');
    for (const action of ['deny', 'dryrun', 'warn']) {
      expect(docs(exportGatekeeper(defaultRules(), { action }).yaml)[1].spec.enforcementAction).toBe(action);
    }
    expect(() => exportGatekeeper(defaultRules(), { action: 'Enforce' })).toThrow(
      'Gatekeeper enforcementAction must be one of deny, dryrun, warn, got "Enforce"',
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

/** A workload of `kind` whose pod spec holds `images` in each image field, in `namespace`. */
function workload(kind: string, namespace: string, images: Record<string, string>): Yaml {
  const podSpec = {
    containers: [{ name: 'app', image: images.containers }],
    initContainers: [{ name: 'init', image: images.initContainers }],
    ephemeralContainers: [{ name: 'debug', image: images.ephemeralContainers }],
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'model', image: { reference: images.volumes } },
    ],
  };
  const apiVersion = {
    Pod: 'v1',
    PodTemplate: 'v1',
    ReplicationController: 'v1',
    Job: 'batch/v1',
    CronJob: 'batch/v1',
  }[kind];
  const obj: Yaml = { apiVersion: apiVersion ?? 'apps/v1', kind, metadata: { name: 'w', namespace } };
  if (kind === 'Pod') obj.spec = podSpec;
  else if (kind === 'PodTemplate') obj.template = { spec: podSpec };
  else if (kind === 'CronJob') obj.spec = { jobTemplate: { spec: { template: { spec: podSpec } } } };
  else obj.spec = { template: { spec: podSpec } };
  return obj;
}

const WORKLOAD_KINDS = [
  'Pod',
  'PodTemplate',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
];

/** The images Kyverno (rules after autogen) denies in `obj`, from the messages it would print. */
function kyvernoDenied(policy: Yaml, obj: Yaml): string[] {
  const namespace = obj.metadata.namespace;
  return effectiveRules(policy)
    .filter((rule) => ruleApplies(rule, obj, namespace))
    .flatMap((rule) => violations(rule, obj))
    .map((message) => message.slice(message.indexOf(': ') + 2))
    .sort();
}

/** The images `check` reports in `obj` under `rules`. */
function checkDenied(rules: Rules, obj: Yaml): string[] {
  return violationsOf(obj, rules)
    .map((v) => String(v.location.image))
    .sort();
}

describe('Kyverno export', () => {
  const rules = applyRuleFlags(defaultRules(), {
    exemptImages: ['denied/*', 'exact:1'],
    excludedNamespaces: ['monitoring'],
  });
  const [policy] = docs(exportKyverno(rules).yaml);

  it('denies exactly what check reports, exemptions included', () => {
    const [rule] = policy!.spec.rules;
    for (const image of [...IMAGES, 'exact:1', 'exact:12']) {
      const pinned = `ok@${SHA256}`;
      const pod = workload('Pod', 'prod', {
        containers: image,
        initContainers: pinned,
        ephemeralContainers: pinned,
        volumes: pinned,
      });
      const expected = !hasDigest(image) && !isExempt(image, rules.exemptImages);
      expect([image, violations(rule, pod)]).toEqual([
        image,
        expected ? [`app uses an image without a digest: ${image}`] : [],
      ]);
    }
  });

  it('is written as Kyverno users write it today: failureAction per rule, autogen, short, no anchors', () => {
    const yaml = exportKyverno(rules).yaml;
    expect(policy!.spec.validationFailureAction).toBeUndefined();
    expect(policy!.spec.rules.map((r: Yaml) => [r.name, r.validate.failureAction])).toEqual([
      ['image-digests', 'Enforce'],
      ['podtemplate-image-digests', 'Enforce'],
    ]);
    expect(policy!.spec.rules[0].match).toEqual({ any: [{ resources: { kinds: ['Pod'] } }] });
    // No autogen annotation: Kyverno's default covers every Pod controller.
    expect(policy!.metadata.annotations['pod-policies.kyverno.io/autogen-controllers']).toBeUndefined();
    expect(yaml.split('\n').length).toBeLessThan(100);
    expect(yaml).not.toMatch(/(^|\s)[&*][a-z0-9]+\s*$/m);
    const audit = docs(exportKyverno(rules, { action: 'Audit' }).yaml)[0];
    expect(audit.spec.rules.map((r: Yaml) => r.validate.failureAction)).toEqual(['Audit', 'Audit']);
    expect(() => exportKyverno(rules, { action: 'audit' })).toThrow(
      'Kyverno failureAction must be one of Enforce, Audit, got "audit"',
    );
  });

  it('through Kyverno autogen, denies in every workload kind and image field what check reports', () => {
    const expanded = effectiveRules(policy!).map((r: Yaml) => r.name);
    expect(expanded).toEqual([
      'image-digests',
      'podtemplate-image-digests',
      'autogen-image-digests',
      'autogen-cronjob-image-digests',
    ]);
    // check with the export's exclusions: the rules' own plus kube-system.
    const checkRules = applyRuleFlags(rules, { excludedNamespaces: ['kube-system'] });
    let compared = 0;
    for (const kind of WORKLOAD_KINDS) {
      for (const namespace of ['prod', 'kube-system', 'monitoring']) {
        const obj = workload(kind, namespace, {
          containers: 'nginx:1.27',
          initContainers: 'busybox',
          ephemeralContainers: 'nginx@sha256:abc',
          volumes: 'models/llm:v1',
        });
        const expected = checkDenied(checkRules, obj);
        expect([kind, namespace, kyvernoDenied(policy, obj)]).toEqual([kind, namespace, expected]);
        if (expected.length === 4) compared++;
      }
    }
    expect(compared).toBe(WORKLOAD_KINDS.length);
  });

  it('leaves kube-system alone unless asked, and warns when the rules select it', () => {
    const pod = workload('Pod', 'kube-system', {
      containers: 'nginx:1',
      initContainers: 'nginx:1',
      ephemeralContainers: 'nginx:1',
      volumes: 'nginx:1',
    });
    expect(policy!.spec.rules[0].exclude).toEqual({
      any: [{ resources: { namespaces: ['kube-system', 'monitoring'] } }],
    });
    expect(kyvernoDenied(policy, pod)).toEqual([]);
    const included = exportKyverno(rules, { includeKubeSystem: true });
    const [inPolicy] = docs(included.yaml);
    expect(inPolicy.spec.rules[0].exclude).toEqual({ any: [{ resources: { namespaces: ['monitoring'] } }] });
    expect(kyvernoDenied(inPolicy, pod)).toHaveLength(4);
    const selecting = applyRuleFlags(defaultRules(), { namespaces: ['kube-system'] });
    expect(exportKyverno(selecting).warnings).toEqual([
      'the rules select namespace kube-system, which the policy excludes: pass --include-kube-system to cover it',
    ]);
    expect(exportKyverno(selecting, { includeKubeSystem: true }).warnings).toEqual([]);
  });

  it('narrows autogen to the selected controllers, and writes controller rules when Pods are not selected', () => {
    const some = docs(
      exportKyverno(applyRuleFlags(defaultRules(), { kinds: ['Pod', 'Deployment', 'CronJob'] })).yaml,
    )[0];
    expect(some.metadata.annotations['pod-policies.kyverno.io/autogen-controllers']).toBe(
      'Deployment,CronJob',
    );
    expect(some.spec.rules.map((r: Yaml) => r.name)).toEqual(['image-digests']);
    const images = { containers: 'a:1', initContainers: 'b:1', ephemeralContainers: 'c:1', volumes: 'd:1' };
    expect(kyvernoDenied(some, workload('Deployment', 'prod', images))).toEqual(['a:1', 'b:1', 'c:1', 'd:1']);
    expect(kyvernoDenied(some, workload('CronJob', 'prod', images))).toHaveLength(4);
    expect(kyvernoDenied(some, workload('StatefulSet', 'prod', images))).toEqual([]);
    const noPods = docs(
      exportKyverno(applyRuleFlags(defaultRules(), { kinds: ['Deployment', 'CronJob'] })).yaml,
    )[0];
    expect(noPods.spec.rules.map((r: Yaml) => [r.name, r.match.any[0].resources.kinds])).toEqual([
      ['controller-image-digests', ['Deployment']],
      ['cronjob-image-digests', ['CronJob']],
    ]);
    expect(effectiveRules(noPods)).toHaveLength(2);
    expect(kyvernoDenied(noPods, workload('Deployment', 'prod', images))).toHaveLength(4);
    expect(kyvernoDenied(noPods, workload('CronJob', 'prod', images))).toHaveLength(4);
    expect(kyvernoDenied(noPods, workload('Pod', 'prod', images))).toEqual([]);
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
