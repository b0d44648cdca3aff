/**
 * The API-server validator the manifest tests rely on: each rule it reproduces refuses what the API
 * server refuses, with the API server's words, and a valid object passes. Cases follow
 * kubernetes/kubernetes pkg/apis/admissionregistration/validation/validation_test.go's themes
 * (names, rules, side effects, review versions, client config, selectors), the strict field
 * validation of built-in kinds, and the engines' CRD schemas.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOLVE_ERROR_ANNOTATION } from '../../src/webhook/admission.js';
import { generateCertificates } from '../../src/webhook/certs.js';
import { WEBHOOK_NAMES, webhookManifests } from '../../src/webhook/manifests.js';
import {
  apiServerMessage,
  auditAnnotationKeyProblem,
  caBundleProblem,
  validateObject,
  validateObjects,
} from './k8s-validation.js';

// biome-ignore lint/suspicious/noExplicitAny: objects are edited field by field to make them invalid
type Obj = Record<string, any>;

let caBundle: string;
beforeAll(async () => {
  caBundle = (await generateCertificates({ service: 'hook', namespace: 'ns' })).caBundle;
});

/** A valid configuration of `kind` with one webhook, edited by `edit`. */
function configuration(
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
  edit: (w: Obj) => void = () => {},
): Obj {
  const webhook: Obj = {
    name: 'check.example.com',
    clientConfig: { service: { name: 'hook', namespace: 'ns', path: '/validate', port: 443 }, caBundle },
    rules: [
      {
        operations: ['CREATE', 'UPDATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ],
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: 10,
    admissionReviewVersions: ['v1'],
    namespaceSelector: {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
    },
  };
  if (kind === 'MutatingWebhookConfiguration') webhook.reinvocationPolicy = 'IfNeeded';
  edit(webhook);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: 'hook' },
    webhooks: [webhook],
  };
}

const errorsOf = async (obj: unknown, batch: unknown[] = []) => (await validateObject(obj, batch)).errors;

describe('WebhookConfigurations (admissionregistration validation.go)', () => {
  it('refuses a two-segment webhook name, as the API server refused imgdigest.dev', async () => {
    // Regression: until the rename, both webhooks of `imgdigest webhook manifests` were named so.
    for (const obj of webhookManifests({ image: 'example.com/imgdigest:1', caBundle }).filter((o) =>
      String(o.kind).endsWith('WebhookConfiguration'),
    )) {
      const old = structuredClone(obj) as Obj;
      old.webhooks[0].name = 'imgdigest.dev';
      const errors = await errorsOf(old);
      expect(errors).toEqual([
        'webhooks[0].name: Invalid value: "imgdigest.dev": should be a domain with at least three segments separated by dots',
      ]);
      expect(apiServerMessage(old, errors)).toBe(
        `${String(old.kind)}.admissionregistration.k8s.io "imgdigest-webhook" is invalid: webhooks[0].name: Invalid value: "imgdigest.dev": should be a domain with at least three segments separated by dots`,
      );
      expect(await errorsOf(obj)).toEqual([]);
    }
  });

  it('accepts a well-formed validating and mutating configuration', async () => {
    expect(await errorsOf(configuration('ValidatingWebhookConfiguration'))).toEqual([]);
    expect(await errorsOf(configuration('MutatingWebhookConfiguration'))).toEqual([]);
  });

  it('checks webhook and configuration names', async () => {
    expect(
      await errorsOf(configuration('ValidatingWebhookConfiguration', (w) => (w.name = 'Check.Example.com'))),
    ).toEqual([
      "webhooks[0].name: Invalid value: \"Check.Example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    expect(await errorsOf(configuration('ValidatingWebhookConfiguration', (w) => (w.name = '')))).toEqual([
      'webhooks[0].name: Required value',
    ]);
    const twice = configuration('MutatingWebhookConfiguration');
    twice.webhooks.push(structuredClone(twice.webhooks[0]));
    expect(await errorsOf(twice)).toEqual(['webhooks[1].name: Duplicate value: "check.example.com"']);
    const badName = configuration('ValidatingWebhookConfiguration');
    badName.metadata.name = 'Hook_1';
    expect((await errorsOf(badName))[0]).toMatch(
      /^metadata\.name: Invalid value: "Hook_1": a lowercase RFC 1123 subdomain/,
    );
  });

  it('checks operations, groups, versions, resources and scope', async () => {
    const rule = (r: Obj) =>
      configuration('ValidatingWebhookConfiguration', (w) => (w.rules = [{ ...w.rules[0], ...r }]));
    expect(await errorsOf(rule({ operations: ['*', 'CREATE'] }))).toEqual([
      'webhooks[0].rules[0].operations: Invalid value: []string{"*", "CREATE"}: if \'*\' is present, must not specify other operations',
    ]);
    expect(await errorsOf(rule({ operations: ['PATCH'] }))).toContain(
      'webhooks[0].rules[0].operations[0]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"',
    );
    expect(await errorsOf(rule({ operations: [], apiGroups: [], apiVersions: [] }))).toEqual([
      'webhooks[0].rules[0].operations: Required value',
      'webhooks[0].rules[0].apiGroups: Required value',
      'webhooks[0].rules[0].apiVersions: Required value',
    ]);
    expect(await errorsOf(rule({ resources: ['*', 'pods'] }))).toEqual([
      'webhooks[0].rules[0].resources: Invalid value: []string{"*", "pods"}: if \'*\' is present, must not specify other resources without subresources',
    ]);
    expect(await errorsOf(rule({ resources: ['*/*', 'pods'] }))).toEqual([
      'webhooks[0].rules[0].resources: Invalid value: []string{"*/*", "pods"}: if \'*/*\' is present, must not specify other resources',
    ]);
    expect(await errorsOf(rule({ resources: ['pods/*', 'pods/status'] }))).toEqual([
      'webhooks[0].rules[0].resources[1]: Invalid value: "pods/status": if \'pods/*\' is present, must not specify pods/status',
    ]);
    expect(await errorsOf(rule({ resources: ['pods', 'pods/ephemeralcontainers', '*/scale'] }))).toEqual([]);
    expect(await errorsOf(rule({ resources: ['*/*'] }))).toEqual([]);
    expect(await errorsOf(rule({ scope: 'Everything' }))).toContain(
      'webhooks[0].rules[0].scope: Unsupported value: "Everything": supported values: "*", "Cluster", "Namespaced"',
    );
  });

  it('requires sideEffects None or NoneOnDryRun and a known AdmissionReview version', async () => {
    const hook = (edit: (w: Obj) => void) => errorsOf(configuration('MutatingWebhookConfiguration', edit));
    expect(await hook((w) => delete w.sideEffects)).toEqual([
      'webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun',
    ]);
    expect(await hook((w) => (w.sideEffects = 'Some'))).toEqual([
      'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
    ]);
    expect(await hook((w) => delete w.admissionReviewVersions)).toEqual([
      'webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
    ]);
    expect(await hook((w) => (w.admissionReviewVersions = ['v2']))).toEqual([
      'webhooks[0].admissionReviewVersions: Invalid value: []string{"v2"}: must include at least one of v1, v1beta1',
    ]);
    expect(await hook((w) => (w.admissionReviewVersions = ['v1', 'v1']))).toEqual([
      'webhooks[0].admissionReviewVersions[1]: Invalid value: "v1": duplicate version',
    ]);
  });

  it('checks timeoutSeconds, failurePolicy, matchPolicy and reinvocationPolicy', async () => {
    const hook = (
      kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration',
      edit: (w: Obj) => void,
    ) => errorsOf(configuration(kind, edit));
    expect(await hook('ValidatingWebhookConfiguration', (w) => (w.timeoutSeconds = 31))).toEqual([
      'webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
    ]);
    expect(await hook('ValidatingWebhookConfiguration', (w) => (w.timeoutSeconds = 0))).toHaveLength(1);
    expect(await hook('ValidatingWebhookConfiguration', (w) => (w.failurePolicy = 'Maybe'))).toContain(
      'webhooks[0].failurePolicy: Unsupported value: "Maybe": supported values: "Fail", "Ignore"',
    );
    expect(await hook('ValidatingWebhookConfiguration', (w) => (w.matchPolicy = 'Fuzzy'))).toContain(
      'webhooks[0].matchPolicy: Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"',
    );
    expect(await hook('MutatingWebhookConfiguration', (w) => (w.reinvocationPolicy = 'Always'))).toContain(
      'webhooks[0].reinvocationPolicy: Unsupported value: "Always": supported values: "IfNeeded", "Never"',
    );
    // A ValidatingWebhook has no reinvocationPolicy: strict field validation refuses it.
    expect(await hook('ValidatingWebhookConfiguration', (w) => (w.reinvocationPolicy = 'IfNeeded'))).toEqual([
      'unknown field "webhooks[0].reinvocationPolicy"',
    ]);
  });

  it('checks namespace and object selectors', async () => {
    const selector = (s: Obj) =>
      errorsOf(configuration('ValidatingWebhookConfiguration', (w) => (w.objectSelector = s)));
    expect(
      await selector({ matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] }),
    ).toEqual([
      'webhooks[0].objectSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
    ]);
    expect(await selector({ matchExpressions: [{ key: 'team', operator: 'In' }] })).toEqual([
      "webhooks[0].objectSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
    expect(
      await selector({ matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] }),
    ).toEqual([
      "webhooks[0].objectSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ]);
    const badKey = await selector({ matchLabels: { 'a/b/c': 'x' } });
    expect(badKey[0]).toMatch(
      /^webhooks\[0\]\.objectSelector\.matchLabels: Invalid value: "a\/b\/c": a valid label key must consist/,
    );
    const badValue = await selector({ matchExpressions: [{ key: 'team', operator: 'In', values: ['a b'] }] });
    expect(badValue[0]).toMatch(
      /^webhooks\[0\]\.objectSelector\.matchExpressions\[0\]\.values\[0\]: Invalid value: "a b": a valid label must be/,
    );
  });

  it('checks the client config: exactly one of url and service, https, a valid path and port', async () => {
    const client = (cc: Obj) =>
      errorsOf(configuration('ValidatingWebhookConfiguration', (w) => (w.clientConfig = cc)));
    const service = { name: 'hook', namespace: 'ns', path: '/validate', port: 443 };
    expect(await client({ url: 'https://hook.example.com/validate', service })).toEqual([
      'webhooks[0].clientConfig: Required value: exactly one of url or service is required',
    ]);
    expect(await client({})).toEqual([
      'webhooks[0].clientConfig: Required value: exactly one of url or service is required',
    ]);
    expect(await client({ url: 'http://hook.example.com/validate' })).toEqual([
      'webhooks[0].clientConfig.url: Invalid value: "http": \'https\' is the only allowed URL scheme; desired format: https://host[/path]',
    ]);
    expect(await client({ url: 'https://u:p@hook.example.com/v?x=1#f' })).toEqual([
      'webhooks[0].clientConfig.url: Invalid value: "u:p": user information is not permitted in the URL',
      'webhooks[0].clientConfig.url: Invalid value: "f": fragments are not permitted in the URL',
      'webhooks[0].clientConfig.url: Invalid value: "x=1": query parameters are not permitted in the URL',
    ]);
    expect(await client({ service: { ...service, port: 0 } })).toEqual([
      'webhooks[0].clientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive',
    ]);
    expect(await client({ service: { ...service, path: 'validate' } })).toEqual([
      'webhooks[0].clientConfig.service.path: Invalid value: "validate": must start with a \'/\'',
    ]);
    expect(await client({ service: { ...service, path: '/a//b' } })).toEqual([
      'webhooks[0].clientConfig.service.path: Invalid value: "/a//b": segment[1] may not be empty',
    ]);
    expect((await client({ service: { ...service, path: '/Validate' } }))[0]).toMatch(
      /^webhooks\[0\]\.clientConfig\.service\.path: Invalid value: "\/Validate": segment\[0\]: a lowercase RFC 1123 subdomain/,
    );
    expect(await client({ service: { name: 'hook', path: '/validate' } })).toEqual([
      'webhooks[0].clientConfig.service.name: Required value: service name is required',
    ]);
  });

  it('needs a caBundle the webhook client can use: base64 of PEM certificates that parse', async () => {
    expect(caBundleProblem(caBundle)).toBeUndefined();
    expect(caBundleProblem('not base64!')).toBe('illegal base64 data');
    expect(caBundleProblem(Buffer.from('hello').toString('base64'))).toBe(
      'unable to load root certificates: unable to parse bytes as PEM block',
    );
    const broken = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    expect(caBundleProblem(broken)).toMatch(/^certificate 1 does not parse/);
    const errs = await errorsOf(
      configuration('ValidatingWebhookConfiguration', (w) => (w.clientConfig.caBundle = broken)),
    );
    expect(errs).toEqual([
      expect.stringMatching(
        /^webhooks\[0\]\.clientConfig\.caBundle: Invalid value: "<caBundle>": the API server cannot call the webhook with it: certificate 1 does not parse/,
      ),
    ]);
  });

  it('checks matchConditions names and expressions', async () => {
    const errs = await errorsOf(
      configuration('ValidatingWebhookConfiguration', (w) => {
        w.matchConditions = [
          { name: 'not-leases', expression: "request.resource.resource != 'leases'" },
          { name: 'not-leases', expression: ' ' },
        ];
      }),
    );
    expect(errs).toEqual([
      'webhooks[0].matchConditions[1].expression: Required value',
      'webhooks[0].matchConditions[1].name: Duplicate value: "not-leases"',
    ]);
  });
});

describe('audit annotation keys (apiserver admission checkKeyFormat)', () => {
  it('are valid under both webhook names, and refused when they cannot be qualified names', () => {
    for (const name of Object.values(WEBHOOK_NAMES)) {
      expect(auditAnnotationKeyProblem(name, RESOLVE_ERROR_ANNOTATION)).toBeUndefined();
    }
    expect(auditAnnotationKeyProblem('pin.imgdigest.dev', 'a/b')).toMatch(
      /^annotation key has invalid format, the right format/,
    );
    expect(auditAnnotationKeyProblem('pin.imgdigest.dev', 'x'.repeat(64))).toMatch(
      /name part must be no more than 63 characters/,
    );
    expect(auditAnnotationKeyProblem('Pin.imgdigest.dev', 'resolve-error')).toMatch(
      /prefix part a lowercase RFC 1123 subdomain/,
    );
  });
});

describe('built-in kinds (kubernetes-models schema, strict fields, create-time checks)', () => {
  const deployment = (): Obj => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'demo', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.27',
              ports: [{ name: 'http', containerPort: 80 }],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  });

  it('accepts a valid Deployment', async () => {
    expect(await errorsOf(deployment())).toEqual([]);
  });

  it('refuses unknown fields anywhere, as strict field validation does', async () => {
    const d = deployment();
    d.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    d.metadata.label = { a: 'b' };
    expect(await errorsOf(d)).toEqual([
      'unknown field "metadata.label"',
      'unknown field "spec.template.spec.containers[0].imagePullPolcy"',
    ]);
  });

  it('refuses wrong types, missing required fields and unknown enum values', async () => {
    const d = deployment();
    d.spec.replicas = 'two';
    delete d.spec.template.spec.containers[0].name;
    d.spec.template.spec.containers[0].ports[0].protocol = 'HTTP';
    const errs = await errorsOf(d);
    expect(errs).toContain(
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
    expect(errs).toContain('spec.template.spec.containers[0].name: Required value');
    expect(errs).toContain(
      'spec.template.spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    );
  });

  it('applies the create-time checks a schema cannot express', async () => {
    const d = deployment();
    d.spec.template.metadata.labels = { app: 'other' };
    d.spec.template.spec.containers[0].ports[0].name = 'much-too-long-port-name';
    d.spec.template.spec.containers[0].volumeMounts[0].name = 'missing';
    expect(await errorsOf(d)).toEqual([
      'spec.template.metadata.labels: Invalid value: "labels": `selector` does not match template `labels`',
      'spec.template.spec.containers[0].ports[0].name: Invalid value: "much-too-long-port-name": must be no more than 15 characters',
      'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "missing"',
    ]);
    const tls = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': 'x' },
    };
    expect(await errorsOf(tls)).toEqual(['data[tls.key]: Required value']);
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { ports: [{ port: 443 }, { port: 9090 }] },
    };
    expect(await errorsOf(svc)).toEqual([
      'spec.ports[0].name: Required value',
      'spec.ports[1].name: Required value',
    ]);
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'my.ns' } };
    expect(await errorsOf(ns)).toEqual(['metadata.name: Invalid value: "my.ns": must not contain dots']);
  });

  it('names the kinds it does not know instead of passing them', async () => {
    expect(await errorsOf({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual(
      ['no matches for kind "Widget" in version "example.com/v1" (this validator does not know it)'],
    );
    expect(await errorsOf({ kind: 'Pod' })).toEqual(["Object 'Kind' is missing or apiVersion is not set"]);
  });
});

describe('custom resources against their CRD schemas', () => {
  const template = (): Obj => ({
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: 'k8sdemo' },
    spec: {
      crd: {
        spec: {
          names: { kind: 'K8sDemo' },
          validation: {
            openAPIV3Schema: {
              type: 'object',
              properties: { exemptImages: { type: 'array', items: { type: 'string' } } },
            },
          },
        },
      },
      targets: [
        {
          target: 'admission.k8s.gatekeeper.sh',
          rego: 'package k8sdemo\n\nviolation[{"msg": "no"}] {\n  false\n}\n',
        },
      ],
    },
  });
  const constraint = (): Obj => ({
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: 'K8sDemo',
    metadata: { name: 'demo' },
    spec: {
      enforcementAction: 'warn',
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], excludedNamespaces: ['kube-*'] },
      parameters: { exemptImages: [] },
    },
  });

  it('accepts a Gatekeeper template and its constraint, and refuses what Gatekeeper refuses', async () => {
    expect((await validateObjects([template(), constraint()])).flatMap((r) => r.errors)).toEqual([]);
    const t = template();
    t.metadata.name = 'k8s-demo';
    t.spec.targets[0].target = 'admission.k8s.io';
    t.spec.crd.spec.validation.openAPIV3Schema = { properties: { x: { type: 'string' } } };
    expect(await errorsOf(t)).toEqual([
      'metadata.name: Invalid value: "k8s-demo": the ConstraintTemplate\'s name must be the lowercase of spec.crd.spec.names.kind (k8sdemo)',
      'spec.targets[0].target: Unsupported value: "admission.k8s.io": supported values: "admission.k8s.gatekeeper.sh"',
      'spec.crd.spec.validation.openAPIV3Schema: schema.type: Required value: must not be empty for specified object fields',
      'spec.crd.spec.validation.openAPIV3Schema: schema.type: Required value: must not be empty at the root',
    ]);
    const c = constraint();
    c.spec.enforcementAction = 'block';
    c.spec.match.excludedNamespaces = ['Kube_System'];
    c.spec.parameters.exemptImages = 'registry.k8s.io/*';
    c.spec.matches = {};
    expect(await errorsOf(c, [template()])).toEqual([
      'spec.match.excludedNamespaces[0]: Invalid value: "Kube_System": spec.match.excludedNamespaces[0] in body should match \'^\\*?[-:a-z0-9]*\\*?$\'',
      'spec.parameters.exemptImages: Invalid value: "string": spec.parameters.exemptImages in body must be of type array: "string"',
      'unknown field "spec.matches"',
      'spec.enforcementAction: Unsupported value: "block": supported values: "deny", "dryrun", "warn"',
    ]);
    expect(await errorsOf(constraint())).toEqual([
      'no ConstraintTemplate defines kind K8sDemo (apply the template first)',
    ]);
  });

  const policy = (): Obj => ({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'demo' },
    spec: {
      background: true,
      rules: [
        {
          name: 'no-latest',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          validate: {
            failureAction: 'Audit',
            message: 'no latest',
            foreach: [
              {
                list: 'request.object.spec.containers',
                deny: {
                  conditions: {
                    any: [{ key: '{{ element.image }}', operator: 'Equals', value: 'nginx:latest' }],
                  },
                },
              },
            ],
          },
        },
      ],
    },
  });

  it('accepts a Kyverno ClusterPolicy, and refuses what its CRD and Kyverno refuse', async () => {
    expect(await validateObject(policy())).toEqual({
      object: 'ClusterPolicy/demo',
      errors: [],
      warnings: [],
    });
    const p = policy();
    const rule = p.spec.rules[0];
    rule.validate.failureAction = 'Block';
    rule.validate.failureActio = 'Audit';
    rule.name = 'x'.repeat(64);
    rule.match.all = [{ resources: { kinds: ['Pod'] } }];
    rule.validate.pattern = { spec: {} };
    delete rule.validate.foreach[0].list;
    expect(await errorsOf(p)).toEqual([
      'spec.rules[0].name: Too long: may not be more than 63 bytes',
      'spec.rules[0].match: Invalid value: "object": spec.rules[0].match in body must not validate the schema (not)',
      'spec.rules[0].validate.failureAction: Unsupported value: "Block": supported values: "Audit", "Enforce"',
      'unknown field "spec.rules[0].validate.failureActio"',
      'spec.rules[0].validate: Invalid value: "pattern, foreach": only one of pattern, anyPattern, deny, foreach, podSecurity, cel, manifests, assert can be specified',
      'spec.rules[0].validate.foreach[0].list: Required value',
    ]);
  });

  it('warns about deprecated fields and never lets a field its schema copy leaves out through', async () => {
    const p = policy();
    p.spec.validationFailureAction = 'Enforce';
    p.spec.rules[0].mutate = { patchStrategicMerge: {} };
    const report = await validateObject(p);
    expect(report.warnings).toEqual([
      'spec.validationFailureAction is deprecated: use validate.failureAction in each rule',
    ]);
    expect(report.errors).toEqual([
      "spec.rules[0].mutate: imgdigest's copy of this schema leaves this field out; add its schema to the fixture before writing it",
      "spec.rules[0]: Forbidden: multiple operations defined in the rule 'no-latest', only one operation (mutate, validate, generate, verifyImages) is allowed per rule",
    ]);
  });

  it('checks cert-manager objects structurally', async () => {
    const issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'ca' },
      spec: { selfSigned: {} },
    };
    const cert = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'hook' },
      spec: { secretName: 'hook-tls', issuerRef: { name: 'ca' }, dnsNames: ['hook.ns.svc'] },
    };
    expect((await validateObjects([issuer, cert])).flatMap((r) => r.errors)).toEqual([]);
    expect(await errorsOf({ ...issuer, spec: { selfSigned: {}, ca: { secretName: 'x' } } })).toEqual([
      'spec: Invalid value: "ca, selfSigned": exactly one issuer type is required: acme, ca, selfSigned, vault, venafi',
    ]);
    expect(
      await errorsOf({ ...cert, spec: { issuerRef: { name: 'ca' }, dnsNames: ['hook.ns.svc'] } }),
    ).toEqual(['spec.secretName: Required value']);
  });
});
