/**
 * @module k8s/export
 * `imgdigest policy export`: the same rule as `imgdigest check`, for the cluster, as a Gatekeeper
 * ConstraintTemplate + Constraint or a Kyverno ClusterPolicy.
 *
 * Compared with gatekeeper-library's `k8simagedigests` (link below) the exported rule is
 * stronger: the digest regex is anchored at the end, registered algorithms must have their exact
 * length, every workload kind's pod spec is inspected (not only Pods) and image volumes are
 * covered. All patterns come from {@link DIGEST_RULE}, so the CLI and the cluster agree.
 *
 * Both exports leave `kube-system` alone, as the admission webhook does (its namespaceSelector),
 * unless asked not to ({@link ExportOptions.includeKubeSystem}).
 *
 * The Kyverno policy is written the way Kyverno's own policies are today: `validate.failureAction`
 * in each rule (Kyverno 1.13+; the spec-level `validationFailureAction` is deprecated), one rule
 * per image field matching Pods, and Kyverno's autogen to apply them to the Pod controllers
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob): Kyverno
 * copies each rule as `autogen-<rule>` and `autogen-cronjob-<rule>`, rewriting
 * `request.object.spec` to the controller's pod template (kyverno pkg/autogen). PodTemplate, which
 * autogen does not cover, gets rules of its own.
 * @see https://kyverno.io/docs/policy-types/cluster-policy/autogen/
 * @see https://github.com/open-policy-agent/gatekeeper-library/tree/master/library/general/imagedigests
 */

import { stringify } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import { POD_SPEC_PATHS } from './locations.js';
import { DIGEST_RULE, type KindMatch } from './policy.js';
import type { Rules } from './rules.js';

export const TEMPLATE_NAME = 'k8simagedigestsstrict';
export const CONSTRAINT_KIND = 'K8sImageDigestsStrict';

/** Gatekeeper's `enforcementAction` values (the default first). */
export const GATEKEEPER_ACTIONS = ['deny', 'dryrun', 'warn'] as const;
/** Kyverno's `validate.failureAction` values (the default first). */
export const KYVERNO_ACTIONS = ['Enforce', 'Audit'] as const;

/** The namespace both exports leave alone unless told otherwise. */
export const SYSTEM_NAMESPACE = 'kube-system';

/** Pod controllers Kyverno's autogen writes rules for. */
export const KYVERNO_AUTOGEN_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
] as const;

export interface ExportOptions {
  /** metadata.name of the Constraint or ClusterPolicy. */
  name?: string;
  /** Gatekeeper enforcementAction ({@link GATEKEEPER_ACTIONS}) / Kyverno failureAction ({@link KYVERNO_ACTIONS}). */
  action?: string;
  /** Also apply the policy in kube-system (excluded by default, as the webhook excludes it). */
  includeKubeSystem?: boolean;
}

export interface Exported {
  /** Multi-document YAML. */
  yaml: string;
  /** What could not be expressed (custom image locations), for stderr. */
  warnings: string[];
}

/** The action, checked against what the engine accepts (a USAGE error names the accepted values). */
function engineAction(
  field: 'Gatekeeper enforcementAction' | 'Kyverno failureAction',
  action: string | undefined,
  accepted: readonly string[],
): string {
  if (action === undefined) return accepted[0]!;
  if (!accepted.includes(action)) {
    throw new ImgdigestError('USAGE', `${field} must be one of ${accepted.join(', ')}, got "${action}"`);
  }
  return action;
}

/** The rules' excluded namespaces, with kube-system first unless it is included. */
export function exportExcludedNamespaces(rules: Rules, options: ExportOptions = {}): string[] {
  const out = [...rules.excludedNamespaces];
  if (!options.includeKubeSystem && !out.includes(SYSTEM_NAMESPACE)) out.unshift(SYSTEM_NAMESPACE);
  return out;
}

function exportWarnings(rules: Rules, options: ExportOptions): string[] {
  const warnings = customWarnings(rules);
  if (!options.includeKubeSystem && rules.namespaces.includes(SYSTEM_NAMESPACE)) {
    warnings.push(
      `the rules select namespace ${SYSTEM_NAMESPACE}, which the policy excludes: pass --include-kube-system to cover it`,
    );
  }
  return warnings;
}

/** Kinds whose pod spec is at `spec.template.spec`. */
const TEMPLATE_KINDS = Object.entries(POD_SPEC_PATHS)
  .filter(([, p]) => p.join('.') === 'spec.template.spec')
  .map(([k]) => k);

const API_GROUP: Record<string, string> = {
  Pod: '',
  PodTemplate: '',
  ReplicationController: '',
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};

/** The workload kinds the rules select (all of them when the rules name none). */
export function selectedKinds(rules: Rules): string[] {
  const all = Object.keys(POD_SPEC_PATHS);
  if (rules.kinds.length === 0) return all;
  return all.filter((kind) =>
    rules.kinds.some(
      (k: KindMatch) =>
        (k.kinds.includes('*') || k.kinds.includes(kind)) &&
        (k.apiGroups.includes('*') || k.apiGroups.includes(API_GROUP[kind]!)),
    ),
  );
}

function customWarnings(rules: Rules): string[] {
  return rules.imageLocations.length > 0
    ? [
        `${rules.imageLocations.length} custom image location rule(s) are not exported: add them to the policy by hand`,
      ]
    : [];
}

/** The Rego of the ConstraintTemplate (Rego v0 syntax, as Gatekeeper's `rego` field expects). */
export function gatekeeperRego(): string {
  const registered = DIGEST_RULE.registered
    .map(
      (r) => `bad_registered(image) {
  regex.match(\`${r.claims}\`, image)
  not regex.match(\`${r.exact}\`, image)
}`,
    )
    .join('\n\n');
  return `package ${TEMPLATE_NAME}

# Generated by imgdigest: the same digest rule as \`imgdigest check\`.
template_kinds := {${TEMPLATE_KINDS.map((k) => `"${k}"`).join(', ')}}

noun := {"containers": "container", "initContainers": "initContainer", "ephemeralContainers": "ephemeralContainer"}

pod_spec(obj) = s {
  s := obj.spec
  obj.kind == "Pod"
}

pod_spec(obj) = s {
  s := obj.template.spec
  obj.kind == "PodTemplate"
}

pod_spec(obj) = s {
  s := obj.spec.template.spec
  template_kinds[obj.kind]
}

pod_spec(obj) = s {
  s := obj.spec.jobTemplate.spec.template.spec
  obj.kind == "CronJob"
}

violation[{"msg": msg}] {
  spec := pod_spec(input.review.object)
  word := noun[field]
  container := spec[field][_]
  image := container.image
  not digest_ok(image)
  not is_exempt(image)
  msg := sprintf("%v <%v> uses an image without a digest <%v>", [word, object.get(container, "name", "unnamed"), image])
}

violation[{"msg": msg}] {
  spec := pod_spec(input.review.object)
  volume := spec.volumes[_]
  image := volume.image.reference
  not digest_ok(image)
  not is_exempt(image)
  msg := sprintf("volume <%v> uses an image without a digest <%v>", [object.get(volume, "name", "unnamed"), image])
}

digest_ok(image) {
  is_string(image)
  regex.match(\`${DIGEST_RULE.suffix}\`, image)
  not bad_registered(image)
}

${registered}

exempt_images := object.get(object.get(input, "parameters", {}), "exemptImages", [])

is_exempt(image) {
  exemption := exempt_images[_]
  not endswith(exemption, "*")
  exemption == image
}

is_exempt(image) {
  exemption := exempt_images[_]
  endswith(exemption, "*")
  startswith(image, trim_suffix(exemption, "*"))
}
`;
}

/** A Gatekeeper ConstraintTemplate and a Constraint with the rules' exemptions and match. */
export function exportGatekeeper(rules: Rules, options: ExportOptions = {}): Exported {
  const enforcementAction = engineAction('Gatekeeper enforcementAction', options.action, GATEKEEPER_ACTIONS);
  const template = {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: {
      name: TEMPLATE_NAME,
      annotations: {
        'metadata.gatekeeper.sh/title': 'Image Digests (strict)',
        'metadata.gatekeeper.sh/version': '1.0.0',
        description:
          'Requires images to end in a well-formed digest (anchored; sha256 = 64 and sha512 = 128 lowercase hex) in every workload pod spec, including image volumes. Generated by imgdigest.',
      },
    },
    spec: {
      crd: {
        spec: {
          names: { kind: CONSTRAINT_KIND },
          validation: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                exemptImages: {
                  description: 'Images exempt from the rule: exact, or a prefix when the entry ends in *.',
                  type: 'array',
                  items: { type: 'string' },
                },
              },
            },
          },
        },
      },
      targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: gatekeeperRego() }],
    },
  };
  const byGroup = new Map<string, string[]>();
  for (const kind of selectedKinds(rules)) {
    const g = API_GROUP[kind]!;
    byGroup.set(g, [...(byGroup.get(g) ?? []), kind]);
  }
  const match: Record<string, unknown> = {
    kinds: [...byGroup].map(([g, kinds]) => ({ apiGroups: [g], kinds })),
  };
  if (rules.namespaces.length > 0) match.namespaces = rules.namespaces;
  const excluded = exportExcludedNamespaces(rules, options);
  if (excluded.length > 0) match.excludedNamespaces = excluded;
  const constraint = {
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: CONSTRAINT_KIND,
    metadata: { name: options.name ?? 'images-must-have-digests' },
    spec: {
      enforcementAction,
      match,
      parameters: { exemptImages: rules.exemptImages },
    },
  };
  return { yaml: docs([template, constraint]), warnings: exportWarnings(rules, options) };
}

/** A regex that matches exactly the exempt images (exact entries, or prefixes ending in `*`). */
export function exemptionRegex(exemptImages: readonly string[]): string | undefined {
  if (exemptImages.length === 0) return undefined;
  const alts = exemptImages.map((e) => (e.endsWith('*') ? `${escapeRe(e.slice(0, -1))}.*` : escapeRe(e)));
  return `^(?:${alts.join('|')})$`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Kyverno's JMESPath for the image of a list element: a container's `image` string, or an image
 * volume's `image.reference` (`.reference` of a string is null, so containers fall through).
 */
const KYVERNO_IMAGE = "element.image.reference || element.image || ''";

/** All four image fields of the pod spec at `path`, as one list (`[a, b][]` flattens, nulls drop). */
function kyvernoImageList(path: string): string {
  const at = `request.object.${path}`;
  return `[${at}.containers, ${at}.initContainers, ${at}.ephemeralContainers, ${at}.volumes[?image]][]`;
}

/** Deny conditions: the image is not exempt, and it has no well-formed digest. */
function kyvernoDeny(exempt: string | undefined): Record<string, unknown> {
  const image = KYVERNO_IMAGE;
  const any = [
    { key: `{{ regex_match('${DIGEST_RULE.suffix}', ${image}) }}`, operator: 'Equals', value: false },
    ...DIGEST_RULE.registered.map((r) => ({
      key: `{{ regex_match('${r.claims}', ${image}) && !regex_match('${r.exact}', ${image}) }}`,
      operator: 'Equals',
      value: true,
    })),
  ];
  if (!exempt) return { any };
  return {
    all: [{ key: `{{ regex_match('${exempt}', ${image}) }}`, operator: 'Equals', value: false }],
    any,
  };
}

/**
 * A Kyverno ClusterPolicy: one validate rule over the images of a Pod (containers, init and
 * ephemeral containers, image volumes), which Kyverno's autogen applies to the selected Pod
 * controllers (the autogen annotation names them when the rules select only some), and one for
 * PodTemplate. When the rules select controllers but not Pods, the controllers get explicit rules
 * instead (autogen only copies rules that match Pods).
 */
export function exportKyverno(rules: Rules, options: ExportOptions = {}): Exported {
  const failureAction = engineAction('Kyverno failureAction', options.action, KYVERNO_ACTIONS);
  const kinds = selectedKinds(rules);
  const exempt = exemptionRegex(rules.exemptImages);
  const excluded = exportExcludedNamespaces(rules, options);
  const controllers = KYVERNO_AUTOGEN_CONTROLLERS.filter((k) => kinds.includes(k));
  const usesAutogen = kinds.includes('Pod');
  /** [rule name, the kinds it matches, where their pod spec is]. */
  const groups: [string, string[], string][] = [];
  if (usesAutogen) groups.push(['image-digests', ['Pod'], 'spec']);
  if (kinds.includes('PodTemplate'))
    groups.push(['podtemplate-image-digests', ['PodTemplate'], 'template.spec']);
  if (!usesAutogen) {
    const byPath = new Map<string, string[]>();
    for (const kind of controllers) {
      const path = POD_SPEC_PATHS[kind]!.join('.');
      byPath.set(path, [...(byPath.get(path) ?? []), kind]);
    }
    for (const [path, pathKinds] of byPath) {
      groups.push([
        path === 'spec.template.spec' ? 'controller-image-digests' : 'cronjob-image-digests',
        pathKinds,
        path,
      ]);
    }
  }
  const policyRules = groups.map(([name, groupKinds, path]) => {
    const resources: Record<string, unknown> = { kinds: groupKinds };
    if (rules.namespaces.length > 0) resources.namespaces = [...rules.namespaces];
    const rule: Record<string, unknown> = { name, match: { any: [{ resources }] } };
    if (excluded.length > 0) rule.exclude = { any: [{ resources: { namespaces: [...excluded] } }] };
    rule.validate = {
      failureAction,
      message: `{{ element.name }} uses an image without a digest: {{ ${KYVERNO_IMAGE} }}`,
      foreach: [
        {
          list: kyvernoImageList(path),
          preconditions: { all: [{ key: `{{ ${KYVERNO_IMAGE} }}`, operator: 'NotEquals', value: '' }] },
          deny: { conditions: kyvernoDeny(exempt) },
        },
      ],
    };
    return rule;
  });
  const annotations: Record<string, string> = {
    'policies.kyverno.io/title': 'Require image digests (strict)',
    'policies.kyverno.io/category': 'Supply Chain Security',
    'policies.kyverno.io/severity': 'high',
    'policies.kyverno.io/subject': 'Pod',
    'policies.kyverno.io/minversion': '1.13.0',
    'policies.kyverno.io/description':
      'Images must end in a well-formed digest (anchored; sha256 = 64 and sha512 = 128 lowercase hex), in containers, init and ephemeral containers and image volumes of Pods, their controllers (autogen) and PodTemplates. Generated by imgdigest.',
  };
  if (usesAutogen && controllers.length < KYVERNO_AUTOGEN_CONTROLLERS.length) {
    annotations['pod-policies.kyverno.io/autogen-controllers'] = controllers.length
      ? controllers.join(',')
      : 'none';
  }
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: options.name ?? 'require-image-digests', annotations },
    spec: { background: true, rules: policyRules },
  };
  return { yaml: docs([policy]), warnings: exportWarnings(rules, options) };
}

function docs(values: unknown[]): string {
  return values.map((v) => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
