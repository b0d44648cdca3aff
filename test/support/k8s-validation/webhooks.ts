/**
 * @module test/support/k8s-validation/webhooks
 * ValidatingWebhookConfiguration and MutatingWebhookConfiguration (admissionregistration.k8s.io/v1)
 * as the API server validates them on create: kubernetes/kubernetes
 * pkg/apis/admissionregistration/validation/validation.go (`ValidateValidatingWebhookConfiguration`,
 * `validateValidatingWebhook`, `validateMutatingWebhook`, `validateRuleWithOperations`,
 * `validateResources`, `validateAdmissionReviewVersions`, `validateMatchConditions`) and
 * k8s.io/apiserver pkg/util/webhook/validation.go (`ValidateWebhookURL`, `ValidateWebhookService`).
 * The v1 defaults are applied first, as the API server does before validating (service port 443;
 * failurePolicy, matchPolicy, timeoutSeconds, scope and reinvocationPolicy get valid defaults).
 *
 * One check goes beyond create-time validation: `caBundle` is decoded as the API server's webhook
 * client decodes it when it calls the webhook (PEM, at least one certificate that parses). A bundle
 * that fails there makes every call fail, and with `failurePolicy: Fail` every matching request
 * with it, so it is refused here too.
 */
import { X509Certificate } from 'node:crypto';
import {
  duplicate,
  type FieldError,
  forbidden,
  invalid,
  isRecord,
  notSupported,
  type PathPart,
  required,
  tooMany,
} from './fields.js';
import { validateLabels } from './meta.js';
import {
  isDNS1035Label,
  isDNS1123Subdomain,
  isFullyQualifiedName,
  isQualifiedName,
  isValidLabelValue,
} from './names.js';

type Obj = Record<string, unknown>;

const SUPPORTED_OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const FAILURE_POLICIES = ['Fail', 'Ignore'];
const MATCH_POLICIES = ['Equivalent', 'Exact'];
/** `requireNoSideEffects` holds on create: only these two. */
const NO_SIDE_EFFECTS = ['None', 'NoneOnDryRun'];
const REINVOCATION_POLICIES = ['IfNeeded', 'Never'];
/** The AdmissionReview versions the API server understands. */
const ACCEPTED_REVIEW_VERSIONS = ['v1', 'v1beta1'];

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** `ValidateLabelSelector` with `AllowInvalidLabelValueInSelector: false`. */
export function validateLabelSelector(selector: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(selector)) return [];
  const errs = validateLabels(selector.matchLabels, [...path, 'matchLabels']);
  const exprs = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  exprs.forEach((e, i) => {
    if (!isRecord(e)) return;
    const at = [...path, 'matchExpressions', i];
    const values = strings(e.values);
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(required([...at, 'values'], "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(
            forbidden(
              [...at, 'values'],
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        }
        break;
      default:
        errs.push(invalid([...at, 'operator'], e.operator, 'not a valid selector operator'));
    }
    for (const [j, v] of values.entries()) {
      errs.push(...isValidLabelValue(v).map((m) => invalid([...at, 'values', j], v, m)));
    }
    if (typeof e.key === 'string')
      errs.push(...isQualifiedName(e.key).map((m) => invalid([...at, 'key'], e.key, m)));
  });
  return errs;
}

function validateResources(resources: string[], path: PathPart[]): FieldError[] {
  const errs: FieldError[] = [];
  if (resources.length === 0) errs.push(required(path));
  const withWildcardSub = new Set<string>();
  const subWithWildcardRes = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let withoutSub = false;
  resources.forEach((resSub, i) => {
    if (resSub === '') {
      errs.push(required([...path, i]));
      return;
    }
    if (resSub === '*/*') doubleWildcard = true;
    if (resSub === '*') singleWildcard = true;
    const slash = resSub.indexOf('/');
    if (slash < 0) {
      withoutSub = resSub !== '*';
      return;
    }
    const res = resSub.slice(0, slash);
    const sub = resSub.slice(slash + 1);
    if (withWildcardSub.has(res)) {
      errs.push(invalid([...path, i], resSub, `if '${res}/*' is present, must not specify ${resSub}`));
    }
    if (subWithWildcardRes.has(sub)) {
      errs.push(invalid([...path, i], resSub, `if '*/${sub}' is present, must not specify ${resSub}`));
    }
    if (sub === '*') withWildcardSub.add(res);
    if (res === '*') subWithWildcardRes.add(sub);
  });
  if (resources.length > 1 && doubleWildcard) {
    errs.push(invalid(path, resources, "if '*/*' is present, must not specify other resources"));
  }
  if (singleWildcard && withoutSub) {
    errs.push(
      invalid(path, resources, "if '*' is present, must not specify other resources without subresources"),
    );
  }
  return errs;
}

function validateRuleWithOperations(rule: Obj, path: PathPart[]): FieldError[] {
  const errs: FieldError[] = [];
  const operations = strings(rule.operations);
  if (operations.length === 0) errs.push(required([...path, 'operations']));
  if (operations.length > 1 && operations.includes('*')) {
    errs.push(
      invalid([...path, 'operations'], operations, "if '*' is present, must not specify other operations"),
    );
  }
  operations.forEach((op, i) => {
    if (!SUPPORTED_OPERATIONS.includes(op))
      errs.push(notSupported([...path, 'operations', i], op, SUPPORTED_OPERATIONS));
  });
  const groups = Array.isArray(rule.apiGroups) ? (rule.apiGroups as string[]) : [];
  if (groups.length === 0) errs.push(required([...path, 'apiGroups']));
  if (groups.length > 1 && groups.includes('*')) {
    errs.push(
      invalid([...path, 'apiGroups'], groups, "if '*' is present, must not specify other API groups"),
    );
  }
  const versions = strings(rule.apiVersions);
  if (versions.length === 0) errs.push(required([...path, 'apiVersions']));
  if (versions.length > 1 && versions.includes('*')) {
    errs.push(
      invalid([...path, 'apiVersions'], versions, "if '*' is present, must not specify other API versions"),
    );
  }
  versions.forEach((v, i) => {
    if (v === '') errs.push(required([...path, 'apiVersions', i]));
  });
  errs.push(...validateResources(strings(rule.resources), [...path, 'resources']));
  if (rule.scope !== undefined && !SCOPES.includes(String(rule.scope))) {
    errs.push(notSupported([...path, 'scope'], rule.scope, SCOPES));
  }
  return errs;
}

function validateAdmissionReviewVersions(versions: unknown, path: PathPart[]): FieldError[] {
  const list = strings(versions);
  if (list.length === 0)
    return [required(path, `must specify one of ${ACCEPTED_REVIEW_VERSIONS.join(', ')}`)];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  let accepted = false;
  list.forEach((v, i) => {
    if (seen.has(v)) {
      errs.push(invalid([...path, i], v, 'duplicate version'));
      return;
    }
    seen.add(v);
    errs.push(...isDNS1035Label(v).map((m) => invalid([...path, i], v, m)));
    if (ACCEPTED_REVIEW_VERSIONS.includes(v)) accepted = true;
  });
  if (!accepted) {
    errs.push(invalid(path, list, `must include at least one of ${ACCEPTED_REVIEW_VERSIONS.join(', ')}`));
  }
  return errs;
}

/** `ValidateWebhookURL(fldPath, url, forceHttps=true)`. */
function validateWebhookURL(raw: string, path: PathPart[]): FieldError[] {
  const form = '; desired format: https://host[/path]';
  let u: URL;
  try {
    u = new URL(raw);
  } catch (e) {
    return [required(path, `url must be a valid URL: ${(e as Error).message}${form}`)];
  }
  const errs: FieldError[] = [];
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'https') errs.push(invalid(path, scheme, `'https' is the only allowed URL scheme${form}`));
  if (u.host === '') errs.push(invalid(path, u.host, `host must be provided${form}`));
  if (u.username || u.password) {
    errs.push(
      invalid(
        path,
        u.password ? `${u.username}:${u.password}` : u.username,
        'user information is not permitted in the URL',
      ),
    );
  }
  if (u.hash) errs.push(invalid(path, u.hash.slice(1), 'fragments are not permitted in the URL'));
  if (u.search) errs.push(invalid(path, u.search.slice(1), 'query parameters are not permitted in the URL'));
  return errs;
}

/**
 * `ValidateWebhookService`. (validation.go passes the Service's name where the function expects
 * its namespace and the other way round, so an empty namespace is reported as `service.name:
 * Required value: service name is required`; reproduced as the API server prints it.)
 */
function validateWebhookService(service: Obj, path: PathPart[]): FieldError[] {
  const errs: FieldError[] = [];
  if (!service.namespace) errs.push(required([...path, 'name'], 'service name is required'));
  if (!service.name) errs.push(required([...path, 'namespace'], 'service namespace is required'));
  const port = service.port ?? 443;
  if (!(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) {
    errs.push(invalid([...path, 'port'], port, 'port is not valid: must be between 1 and 65535, inclusive'));
  }
  const urlPath = service.path;
  if (typeof urlPath !== 'string' || urlPath === '/' || urlPath === '') return errs;
  if (urlPath === '//') return [...errs, invalid([...path, 'path'], urlPath, 'segment[0] may not be empty')];
  if (!urlPath.startsWith('/')) errs.push(invalid([...path, 'path'], urlPath, "must start with a '/'"));
  let check = urlPath.slice(1);
  if (check.endsWith('/')) check = check.slice(0, -1);
  check.split('/').forEach((step, i) => {
    if (step === '') errs.push(invalid([...path, 'path'], urlPath, `segment[${i}] may not be empty`));
    else
      for (const m of isDNS1123Subdomain(step))
        errs.push(invalid([...path, 'path'], urlPath, `segment[${i}]: ${m}`));
  });
  return errs;
}

/** What the webhook client needs from caBundle: base64 (in JSON/YAML) of PEM with certificates. */
export function caBundleProblem(caBundle: string): string | undefined {
  if (
    !/^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/.test(caBundle) ||
    caBundle.replace(/[\r\n]/g, '').length % 4 !== 0
  ) {
    return 'illegal base64 data';
  }
  const pem = Buffer.from(caBundle, 'base64').toString('latin1');
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g)];
  const certs = blocks.filter((b) => b[1] === 'CERTIFICATE');
  if (certs.length === 0) return 'unable to load root certificates: unable to parse bytes as PEM block';
  for (const [i, b] of certs.entries()) {
    try {
      new X509Certificate(b[0]);
    } catch (e) {
      return `certificate ${i + 1} does not parse: ${(e as Error).message}`;
    }
  }
  return undefined;
}

function validateClientConfig(cc: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(cc)) return [required(path, 'exactly one of url or service is required')];
  const errs: FieldError[] = [];
  if ((cc.url === undefined) === (cc.service === undefined)) {
    errs.push(required(path, 'exactly one of url or service is required'));
  } else if (typeof cc.url === 'string') {
    errs.push(...validateWebhookURL(cc.url, [...path, 'url']));
  } else if (isRecord(cc.service)) {
    errs.push(...validateWebhookService(cc.service, [...path, 'service']));
  }
  if (typeof cc.caBundle === 'string' && cc.caBundle !== '') {
    const problem = caBundleProblem(cc.caBundle);
    if (problem) {
      errs.push(
        invalid(
          [...path, 'caBundle'],
          '<caBundle>',
          `the API server cannot call the webhook with it: ${problem}`,
        ),
      );
    }
  }
  return errs;
}

function validateMatchConditions(conditions: unknown, path: PathPart[]): FieldError[] {
  if (!Array.isArray(conditions)) return [];
  const errs: FieldError[] = [];
  if (conditions.length > 64) errs.push(tooMany(path, conditions.length, 64));
  const names = new Set<string>();
  conditions.forEach((c, i) => {
    if (!isRecord(c)) return;
    const at = [...path, i];
    if (typeof c.expression !== 'string' || c.expression.trim() === '')
      errs.push(required([...at, 'expression']));
    const name = typeof c.name === 'string' ? c.name : '';
    if (name === '') errs.push(required([...at, 'name']));
    else {
      errs.push(...isQualifiedName(name).map((m) => invalid([...at, 'name'], name, m)));
      if (names.has(name)) errs.push(duplicate([...at, 'name'], name));
      names.add(name);
    }
  });
  return errs;
}

function validateWebhook(hook: Obj, mutating: boolean, path: PathPart[]): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...isFullyQualifiedName([...path, 'name'], typeof hook.name === 'string' ? hook.name : ''));
  (Array.isArray(hook.rules) ? hook.rules : []).forEach((r, i) => {
    if (isRecord(r)) errs.push(...validateRuleWithOperations(r, [...path, 'rules', i]));
  });
  if (hook.failurePolicy !== undefined && !FAILURE_POLICIES.includes(String(hook.failurePolicy))) {
    errs.push(notSupported([...path, 'failurePolicy'], hook.failurePolicy, FAILURE_POLICIES));
  }
  if (hook.matchPolicy !== undefined && !MATCH_POLICIES.includes(String(hook.matchPolicy))) {
    errs.push(notSupported([...path, 'matchPolicy'], hook.matchPolicy, MATCH_POLICIES));
  }
  if (hook.sideEffects === undefined || hook.sideEffects === null) {
    errs.push(required([...path, 'sideEffects'], `must specify one of ${NO_SIDE_EFFECTS.join(', ')}`));
  } else if (!NO_SIDE_EFFECTS.includes(String(hook.sideEffects))) {
    errs.push(notSupported([...path, 'sideEffects'], hook.sideEffects, NO_SIDE_EFFECTS));
  }
  if (typeof hook.timeoutSeconds === 'number' && (hook.timeoutSeconds > 30 || hook.timeoutSeconds < 1)) {
    errs.push(
      invalid(
        [...path, 'timeoutSeconds'],
        hook.timeoutSeconds,
        'the timeout value must be between 1 and 30 seconds',
      ),
    );
  }
  errs.push(...validateLabelSelector(hook.namespaceSelector, [...path, 'namespaceSelector']));
  errs.push(...validateLabelSelector(hook.objectSelector, [...path, 'objectSelector']));
  if (
    mutating &&
    hook.reinvocationPolicy !== undefined &&
    !REINVOCATION_POLICIES.includes(String(hook.reinvocationPolicy))
  ) {
    errs.push(notSupported([...path, 'reinvocationPolicy'], hook.reinvocationPolicy, REINVOCATION_POLICIES));
  }
  errs.push(...validateClientConfig(hook.clientConfig, [...path, 'clientConfig']));
  errs.push(...validateMatchConditions(hook.matchConditions, [...path, 'matchConditions']));
  return errs;
}

/** The `webhooks` of a Validating- or MutatingWebhookConfiguration (metadata is checked apart). */
export function validateWebhookConfiguration(obj: Obj): FieldError[] {
  const mutating = obj.kind === 'MutatingWebhookConfiguration';
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (Array.isArray(obj.webhooks) ? obj.webhooks : []).forEach((hook, i) => {
    if (!isRecord(hook)) return;
    const at: PathPart[] = ['webhooks', i];
    errs.push(...validateWebhook(hook, mutating, at));
    errs.push(
      ...validateAdmissionReviewVersions(hook.admissionReviewVersions, [...at, 'admissionReviewVersions']),
    );
    if (typeof hook.name === 'string' && hook.name !== '') {
      if (names.has(hook.name)) errs.push(duplicate([...at, 'name'], hook.name));
      names.add(hook.name);
    }
  });
  return errs;
}

/**
 * The key the API server records a webhook's audit annotation under (`<webhook name>/<key>`), and
 * what is wrong with it (k8s.io/apiserver admission `checkKeyFormat`), or undefined when it is valid.
 */
export function auditAnnotationKeyProblem(webhookName: string, key: string): string | undefined {
  const full = `${webhookName}/${key}`;
  if (full.split('/').length !== 2) {
    return "annotation key has invalid format, the right format is a DNS subdomain prefix and '/' and key name. (e.g. 'podsecuritypolicy.admission.k8s.io/admit-policy')";
  }
  const msgs = isQualifiedName(full);
  return msgs.length
    ? `annotation key has invalid format ${msgs.join(',')}. A qualified name like 'podsecuritypolicy.admission.k8s.io/admit-policy' is required.`
    : undefined;
}
