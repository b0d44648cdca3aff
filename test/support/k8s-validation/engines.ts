/**
 * @module test/support/k8s-validation/engines
 * Custom resources of the policy engines and of cert-manager, as their CRDs and admission webhooks
 * check them on create.
 *
 * - Gatekeeper ConstraintTemplate (templates.gatekeeper.sh/v1): the CRD schema (fixture), then what
 *   Gatekeeper's webhook refuses: a name that is not the lowercase of `spec.crd.spec.names.kind`,
 *   other than exactly one target (open-policy-agent/frameworks `ValidateTargets`), a target other
 *   than `admission.k8s.gatekeeper.sh`, no Rego, a parameters schema that is not structural.
 * - Gatekeeper Constraint (constraints.gatekeeper.sh/v1beta1): the schema Gatekeeper generates from
 *   its template (frameworks `CreateSchema`: match schema fixture, enforcementAction, parameters),
 *   metadata.name <= 63, enforcementAction one of deny, dryrun, warn, valid label selectors.
 * - Kyverno ClusterPolicy (kyverno.io/v1): the CRD schema (trimmed fixture), then a part of
 *   Kyverno's policy validation (pkg/validation/policy): unique rule names, one operation per rule,
 *   one kind of validation per validate rule and per foreach entry, `list` in every foreach.
 *   Deprecated fields Kyverno accepts with a warning come back as warnings.
 * - cert-manager Issuer, ClusterIssuer and Certificate (cert-manager.io/v1): structural checks of
 *   the fields cert-manager requires (no CRD copy).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  type FieldError,
  fieldPath,
  forbidden,
  invalid,
  isRecord,
  notSupported,
  required,
} from './fields.js';
import { isDNS1123Subdomain } from './names.js';
import { type StructuralSchema, structuralProblems, validateStructural } from './structural.js';
import { validateLabelSelector } from './webhooks.js';

type Obj = Record<string, unknown>;

const fixture = (name: string): StructuralSchema =>
  parse(
    readFileSync(new URL(`../../fixtures/k8s/crds/${name}`, import.meta.url), 'utf8'),
  ) as StructuralSchema;

let schemas:
  | { template: StructuralSchema; match: StructuralSchema; clusterPolicy: StructuralSchema }
  | undefined;
function loadSchemas() {
  schemas ??= {
    template: fixture('gatekeeper-constrainttemplate-v1.yaml'),
    match: fixture('gatekeeper-match-v1.yaml'),
    clusterPolicy: fixture('kyverno-clusterpolicy-v1.yaml'),
  };
  return schemas;
}

/** A custom resource against its schema: apiVersion, kind and metadata are the CRD machinery's. */
export function validateCustomResource(obj: Obj, schema: StructuralSchema): FieldError[] {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
  const root: StructuralSchema = {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(schema.properties ?? {}).filter(
        ([k]) => !['apiVersion', 'kind', 'metadata'].includes(k),
      ),
    ),
  };
  return validateStructural(rest, root);
}

export const GATEKEEPER_TARGET = 'admission.k8s.gatekeeper.sh';
export const GATEKEEPER_ACTIONS = ['deny', 'dryrun', 'warn'];

export function validateConstraintTemplate(obj: Obj): FieldError[] {
  const errs = validateCustomResource(obj, loadSchemas().template);
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const crd = isRecord(spec.crd) && isRecord(spec.crd.spec) ? spec.crd.spec : {};
  const kind = isRecord(crd.names) ? crd.names.kind : undefined;
  const name = isRecord(obj.metadata) ? obj.metadata.name : undefined;
  if (typeof kind !== 'string' || kind === '') errs.push(required(['spec', 'crd', 'spec', 'names', 'kind']));
  else if (name !== kind.toLowerCase()) {
    errs.push(
      invalid(
        ['metadata', 'name'],
        name,
        `the ConstraintTemplate's name must be the lowercase of spec.crd.spec.names.kind (${kind.toLowerCase()})`,
      ),
    );
  }
  const targets = Array.isArray(spec.targets) ? spec.targets : [];
  if (targets.length !== 1) {
    errs.push(
      invalid(
        ['spec', 'targets'],
        targets.length,
        targets.length === 0
          ? 'no targets specified: ConstraintTemplate must specify one target'
          : 'multi-target templates are not currently supported',
      ),
    );
  }
  targets.forEach((t, i) => {
    if (!isRecord(t)) return;
    if (t.target !== GATEKEEPER_TARGET)
      errs.push(notSupported(['spec', 'targets', i, 'target'], t.target, [GATEKEEPER_TARGET]));
    const code = Array.isArray(t.code) ? t.code : [];
    const rego = typeof t.rego === 'string' ? t.rego : '';
    if (!rego && code.length === 0)
      errs.push(required(['spec', 'targets', i, 'rego'], 'a template needs Rego (rego or code)'));
    if (rego && !/^package\s+[A-Za-z_][\w.]*\s*$/m.test(rego))
      errs.push(invalid(['spec', 'targets', i, 'rego'], '<rego>', 'has no package declaration'));
    if (rego && !/^violation\s*\[/m.test(rego))
      errs.push(invalid(['spec', 'targets', i, 'rego'], '<rego>', 'defines no violation rule'));
  });
  const validation = isRecord(crd.validation) ? crd.validation : undefined;
  if (validation?.openAPIV3Schema !== undefined && validation.legacySchema !== true) {
    for (const p of structuralProblems(validation.openAPIV3Schema)) {
      errs.push({
        field: 'spec.crd.spec.validation.openAPIV3Schema',
        message: `spec.crd.spec.validation.openAPIV3Schema: ${p}`,
      });
    }
  }
  return errs;
}

/** The schema Gatekeeper gives a Constraint of `template` (frameworks `CreateSchema`). */
export function constraintSchema(template: Obj): StructuralSchema {
  const crd = ((template.spec as Obj | undefined)?.crd as Obj | undefined)?.spec as Obj | undefined;
  const parameters = (crd?.validation as Obj | undefined)?.openAPIV3Schema as StructuralSchema | undefined;
  const spec: StructuralSchema = {
    type: 'object',
    properties: {
      match: loadSchemas().match,
      enforcementAction: { type: 'string' },
      ...(parameters ? { parameters } : {}),
    },
  };
  return {
    type: 'object',
    properties: { spec, status: { 'x-kubernetes-preserve-unknown-fields': true } },
  };
}

export function validateConstraint(obj: Obj, templates: readonly Obj[]): FieldError[] {
  const template = templates.find(
    (t) => ((((t.spec as Obj).crd as Obj).spec as Obj).names as Obj).kind === obj.kind,
  );
  if (!template) {
    return [
      {
        field: 'kind',
        message: `no ConstraintTemplate defines kind ${String(obj.kind)} (apply the template first)`,
      },
    ];
  }
  const errs = validateCustomResource(obj, constraintSchema(template));
  const name = isRecord(obj.metadata) ? obj.metadata.name : undefined;
  if (typeof name === 'string' && name.length > 63)
    errs.push(invalid(['metadata', 'name'], name, 'must be no more than 63 characters'));
  const spec = isRecord(obj.spec) ? obj.spec : {};
  if (spec.enforcementAction !== undefined && !GATEKEEPER_ACTIONS.includes(String(spec.enforcementAction))) {
    errs.push(notSupported(['spec', 'enforcementAction'], spec.enforcementAction, GATEKEEPER_ACTIONS));
  }
  if (isRecord(spec.match)) {
    errs.push(...validateLabelSelector(spec.match.labelSelector, ['spec', 'match', 'labelSelector']));
    errs.push(...validateLabelSelector(spec.match.namespaceSelector, ['spec', 'match', 'namespaceSelector']));
  }
  return errs;
}

const RULE_OPERATIONS = ['mutate', 'validate', 'generate', 'verifyImages'];
const VALIDATE_KINDS = [
  'pattern',
  'anyPattern',
  'deny',
  'foreach',
  'podSecurity',
  'cel',
  'manifests',
  'assert',
];
const FOREACH_KINDS = ['pattern', 'anyPattern', 'deny', 'foreach'];

export interface Checked {
  errors: FieldError[];
  warnings: string[];
}

export function validateClusterPolicy(obj: Obj): Checked {
  const errors = validateCustomResource(obj, loadSchemas().clusterPolicy);
  const warnings: string[] = [];
  const spec = isRecord(obj.spec) ? obj.spec : {};
  if (spec.validationFailureAction !== undefined) {
    warnings.push('spec.validationFailureAction is deprecated: use validate.failureAction in each rule');
  }
  if (spec.validationFailureActionOverrides !== undefined) {
    warnings.push(
      'spec.validationFailureActionOverrides is deprecated: use validate.failureActionOverrides in each rule',
    );
  }
  const names = new Set<string>();
  (Array.isArray(spec.rules) ? spec.rules : []).forEach((r, i) => {
    if (!isRecord(r)) return;
    const at = ['spec', 'rules', i];
    if (typeof r.name === 'string') {
      if (names.has(r.name)) errors.push(invalid([...at, 'name'], r.name, 'duplicate rule name'));
      names.add(r.name);
    }
    const ops = RULE_OPERATIONS.filter((op) => r[op] !== undefined);
    if (ops.length === 0) {
      errors.push(
        required(
          at,
          `no operation defined in the rule '${String(r.name)}' (supported operations: ${RULE_OPERATIONS.join(', ')})`,
        ),
      );
    }
    if (ops.length > 1) {
      errors.push(
        forbidden(
          at,
          `multiple operations defined in the rule '${String(r.name)}', only one operation (${RULE_OPERATIONS.join(', ')}) is allowed per rule`,
        ),
      );
    }
    if (isRecord(r.validate)) {
      const kinds = VALIDATE_KINDS.filter((k) => (r.validate as Obj)[k] !== undefined);
      if (kinds.length !== 1) {
        errors.push(
          invalid(
            [...at, 'validate'],
            kinds.join(', ') || 'none',
            `only one of ${VALIDATE_KINDS.join(', ')} can be specified`,
          ),
        );
      }
      const foreach = Array.isArray(r.validate.foreach) ? r.validate.foreach : [];
      foreach.forEach((f, j) => {
        if (!isRecord(f)) return;
        const fat = [...at, 'validate', 'foreach', j];
        if (typeof f.list !== 'string' || f.list === '') errors.push(required([...fat, 'list']));
        const fk = FOREACH_KINDS.filter((k) => f[k] !== undefined);
        if (fk.length !== 1)
          errors.push(
            invalid(fat, fk.join(', ') || 'none', `only one of ${FOREACH_KINDS.join(', ')} can be specified`),
          );
      });
    }
  });
  return { errors, warnings };
}

const ISSUER_TYPES = ['acme', 'ca', 'selfSigned', 'vault', 'venafi'];

export function validateCertManager(obj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  if (!spec) return [required(['spec'])];
  if (obj.kind === 'Issuer' || obj.kind === 'ClusterIssuer') {
    const types = ISSUER_TYPES.filter((t) => spec[t] !== undefined);
    if (types.length !== 1)
      errs.push(
        invalid(
          ['spec'],
          types.join(', ') || 'none',
          `exactly one issuer type is required: ${ISSUER_TYPES.join(', ')}`,
        ),
      );
    if (isRecord(spec.ca) && !spec.ca.secretName) errs.push(required(['spec', 'ca', 'secretName']));
    for (const k of Object.keys(spec))
      if (!ISSUER_TYPES.includes(k))
        errs.push({ field: fieldPath(['spec', k]), message: `unknown field "spec.${k}"` });
    return errs;
  }
  if (typeof spec.secretName !== 'string' || spec.secretName === '')
    errs.push(required(['spec', 'secretName']));
  else
    for (const m of isDNS1123Subdomain(spec.secretName))
      errs.push(invalid(['spec', 'secretName'], spec.secretName, m));
  const ref = isRecord(spec.issuerRef) ? spec.issuerRef : undefined;
  if (!ref || typeof ref.name !== 'string' || ref.name === '')
    errs.push(required(['spec', 'issuerRef', 'name']));
  if (
    ref &&
    ref.kind !== undefined &&
    !['Issuer', 'ClusterIssuer'].includes(String(ref.kind)) &&
    ref.group === 'cert-manager.io'
  ) {
    errs.push(notSupported(['spec', 'issuerRef', 'kind'], ref.kind, ['ClusterIssuer', 'Issuer']));
  }
  const identities = [
    'commonName',
    'dnsNames',
    'uris',
    'emailAddresses',
    'ipAddresses',
    'otherNames',
    'literalSubject',
  ];
  if (
    !identities.some(
      (k) => spec[k] !== undefined && !(Array.isArray(spec[k]) && (spec[k] as unknown[]).length === 0),
    )
  ) {
    errs.push(required(['spec'], `at least one of ${identities.join(', ')} must be set`));
  }
  return errs;
}
