/**
 * @module test/support/k8s-validation/core
 * The create-time checks of kubernetes/kubernetes pkg/apis/core/validation, apps/validation,
 * policy/validation and networking/validation that a schema cannot express, for the kinds
 * imgdigest and its deploy manifests write: names per kind, Secret and ConfigMap keys, pod specs
 * (container, port and volume names, mounts, probes, resources, security context, topology spread),
 * Deployment selectors and strategy, Service ports, PodDisruptionBudget, NetworkPolicy. A subset
 * of the API server's checks, chosen for what these manifests contain, not all of them.
 */
import {
  duplicate,
  type FieldError,
  forbidden,
  invalid,
  isRecord,
  notFound,
  notSupported,
  type PathPart,
  required,
  tooLong,
} from './fields.js';
import type { NameCheck } from './meta.js';
import {
  each,
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidPortName,
  isValidPortNum,
} from './names.js';
import { validateLabelSelector } from './webhooks.js';

type Obj = Record<string, unknown>;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const rec = (v: unknown): Obj => (isRecord(v) ? v : {});

/** How each kind's names are checked (`ValidateXName`). */
export const NAME_CHECKS: Record<string, NameCheck> = {
  Namespace: isDNS1123Label,
  Service: isDNS1035Label,
};

/** Cluster-scoped built-in kinds (everything else these checks know is namespaced). */
export const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'CustomResourceDefinition',
  'APIService',
  'PriorityClass',
  'StorageClass',
  'CSIDriver',
  'RuntimeClass',
  'IngressClass',
]);

/** A Quantity in canonical or accepted form (`100m`, `128Mi`, `1`, `1e3`). */
const QUANTITY = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+|E[+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

function quantityValue(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string' || !QUANTITY.test(q)) return undefined;
  const m = /^([+-]?[\d.]+)(.*)$/.exec(q)!;
  const base = Number(m[1]);
  const suffix = m[2] ?? '';
  const bin: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  const dec: Record<string, number> = {
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    '': 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
  };
  if (suffix in bin) return base * bin[suffix]!;
  if (suffix in dec) return base * dec[suffix]!;
  if (/^[eE]/.test(suffix)) return Number(q);
  return undefined;
}

function validateQuantity(q: unknown, path: PathPart[]): FieldError[] {
  if (quantityValue(q) === undefined) {
    return [
      invalid(
        path,
        q,
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ),
    ];
  }
  return [];
}

function validateResources(resources: unknown, path: PathPart[]): FieldError[] {
  const r = rec(resources);
  const errs: FieldError[] = [];
  const limits = rec(r.limits);
  const requests = rec(r.requests);
  for (const [k, v] of Object.entries(limits))
    errs.push(...validateQuantity(v, [...path, 'limits', `[${k}]`]));
  for (const [k, v] of Object.entries(requests)) {
    errs.push(...validateQuantity(v, [...path, 'requests', `[${k}]`]));
    const lim = quantityValue(limits[k]);
    const req = quantityValue(v);
    if (lim !== undefined && req !== undefined && req > lim) {
      errs.push(
        invalid(
          [...path, 'requests', `[${k}]`],
          v,
          `must be less than or equal to ${k} limit of ${String(limits[k])}`,
        ),
      );
    }
  }
  return errs;
}

function validatePortNumOrName(port: unknown, path: PathPart[]): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => invalid(path, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => invalid(path, port, m));
  return [required(path)];
}

function validateProbe(probe: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(probe)) return [];
  const errs: FieldError[] = [];
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => probe[h] !== undefined);
  if (handlers.length === 0) errs.push(required(path, 'must specify a handler type'));
  if (handlers.length > 1)
    errs.push(forbidden([...path, handlers[1]!], 'may not specify more than 1 handler type'));
  for (const f of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    const v = probe[f];
    if (typeof v === 'number' && v < 0)
      errs.push(invalid([...path, f], v, 'must be greater than or equal to 0'));
  }
  if (isRecord(probe.httpGet)) {
    errs.push(...validatePortNumOrName(probe.httpGet.port, [...path, 'httpGet', 'port']));
    const scheme = probe.httpGet.scheme;
    if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') {
      errs.push(notSupported([...path, 'httpGet', 'scheme'], scheme, ['HTTP', 'HTTPS']));
    }
    if (
      typeof probe.httpGet.path === 'string' &&
      probe.httpGet.path !== '' &&
      !probe.httpGet.path.startsWith('/')
    ) {
      errs.push(invalid([...path, 'httpGet', 'path'], probe.httpGet.path, "must start with '/'"));
    }
  }
  if (isRecord(probe.tcpSocket))
    errs.push(...validatePortNumOrName(probe.tcpSocket.port, [...path, 'tcpSocket', 'port']));
  return errs;
}

function validateSecurityContext(sc: unknown, path: PathPart[]): FieldError[] {
  if (!isRecord(sc)) return [];
  const errs: FieldError[] = [];
  for (const f of ['runAsUser', 'runAsGroup', 'fsGroup']) {
    const v = sc[f];
    if (typeof v === 'number' && (v < 0 || v > 2 ** 31 - 1)) {
      errs.push(invalid([...path, f], v, 'must be between 0 and 2147483647, inclusive'));
    }
  }
  if (isRecord(sc.seccompProfile)) {
    const t = sc.seccompProfile.type;
    if (t === 'Localhost' && !sc.seccompProfile.localhostProfile) {
      errs.push(
        required(
          [...path, 'seccompProfile', 'localhostProfile'],
          'must be set when seccomp type is Localhost',
        ),
      );
    }
    if (t !== 'Localhost' && sc.seccompProfile.localhostProfile !== undefined) {
      errs.push(
        invalid(
          [...path, 'seccompProfile', 'localhostProfile'],
          sc.seccompProfile.localhostProfile,
          'can only be set when seccomp type is Localhost',
        ),
      );
    }
  }
  if (sc.allowPrivilegeEscalation === false && sc.privileged === true) {
    errs.push(
      invalid(path, 'privileged', 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'),
    );
  }
  return errs;
}

const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

function validateMode(mode: unknown, path: PathPart[]): FieldError[] {
  if (typeof mode === 'number' && (mode < 0 || mode > 0o777)) {
    return [invalid(path, mode, 'must be a number between 0 and 0777 (octal), both inclusive')];
  }
  return [];
}

function validateVolumes(volumes: unknown[], path: PathPart[]): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const vol = rec(v);
    const at = [...path, i];
    const name = typeof vol.name === 'string' ? vol.name : '';
    if (!name) errs.push(required([...at, 'name']));
    else {
      errs.push(...each([...at, 'name'], name, isDNS1123Label));
      if (names.has(name)) errs.push(duplicate([...at, 'name'], name));
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((s) => vol[s] !== undefined);
    if (sources.length === 0) errs.push(required(at, 'must specify a volume type'));
    if (sources.length > 1)
      errs.push(forbidden([...at, sources[1]!], 'may not specify more than 1 volume type'));
    if (isRecord(vol.secret)) {
      if (!vol.secret.secretName) errs.push(required([...at, 'secret', 'secretName']));
      errs.push(...validateMode(vol.secret.defaultMode, [...at, 'secret', 'defaultMode']));
      list(vol.secret.items).forEach((item, j) => {
        const it = rec(item);
        if (!it.key) errs.push(required([...at, 'secret', 'items', j, 'key']));
        if (typeof it.path !== 'string' || it.path === '')
          errs.push(required([...at, 'secret', 'items', j, 'path']));
        else if (it.path.startsWith('/') || it.path.split('/').includes('..')) {
          errs.push(
            invalid([...at, 'secret', 'items', j, 'path'], it.path, "must be a relative path without '..'"),
          );
        }
      });
    }
    if (isRecord(vol.configMap)) {
      if (!vol.configMap.name) errs.push(required([...at, 'configMap', 'name']));
      errs.push(...validateMode(vol.configMap.defaultMode, [...at, 'configMap', 'defaultMode']));
    }
    if (isRecord(vol.emptyDir) && vol.emptyDir.sizeLimit !== undefined) {
      errs.push(...validateQuantity(vol.emptyDir.sizeLimit, [...at, 'emptyDir', 'sizeLimit']));
    }
  });
  return { errs, names };
}

function validateContainers(
  containers: unknown[],
  volumeNames: Set<string>,
  allNames: Set<string>,
  path: PathPart[],
): FieldError[] {
  const errs: FieldError[] = [];
  containers.forEach((c, i) => {
    const ctr = rec(c);
    const at = [...path, i];
    const name = typeof ctr.name === 'string' ? ctr.name : '';
    if (!name) errs.push(required([...at, 'name']));
    else {
      errs.push(...each([...at, 'name'], name, isDNS1123Label));
      if (allNames.has(name)) errs.push(duplicate([...at, 'name'], name));
      allNames.add(name);
    }
    if (typeof ctr.image !== 'string' || ctr.image.trim() === '') errs.push(required([...at, 'image']));
    const portNames = new Set<string>();
    list(ctr.ports).forEach((p, j) => {
      const port = rec(p);
      const pat = [...at, 'ports', j];
      if (typeof port.name === 'string' && port.name !== '') {
        errs.push(...each([...pat, 'name'], port.name, isValidPortName));
        if (portNames.has(port.name)) errs.push(duplicate([...pat, 'name'], port.name));
        portNames.add(port.name);
      }
      if (port.containerPort === undefined) errs.push(required([...pat, 'containerPort']));
      else
        errs.push(
          ...isValidPortNum(port.containerPort).map((m) =>
            invalid([...pat, 'containerPort'], port.containerPort, m),
          ),
        );
      if (port.hostPort !== undefined && port.hostPort !== 0) {
        errs.push(
          ...isValidPortNum(port.hostPort).map((m) => invalid([...pat, 'hostPort'], port.hostPort, m)),
        );
      }
    });
    list(ctr.env).forEach((e, j) => {
      const env = rec(e);
      const n = typeof env.name === 'string' ? env.name : '';
      if (!n) errs.push(required([...at, 'env', j, 'name']));
      // RelaxedEnvironmentVariableValidation (GA): printable ASCII except '='.
      else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(n)) {
        errs.push(
          invalid(
            [...at, 'env', j, 'name'],
            n,
            "a valid environment variable name must consist only of printable ASCII characters other than '='",
          ),
        );
      }
    });
    const mountPaths = new Set<string>();
    list(ctr.volumeMounts).forEach((m, j) => {
      const mount = rec(m);
      const mat = [...at, 'volumeMounts', j];
      const mname = typeof mount.name === 'string' ? mount.name : '';
      if (!mname) errs.push(required([...mat, 'name']));
      else if (!volumeNames.has(mname)) errs.push(notFound([...mat, 'name'], mname));
      const mp = typeof mount.mountPath === 'string' ? mount.mountPath : '';
      if (!mp) errs.push(required([...mat, 'mountPath']));
      else {
        if (mountPaths.has(mp)) errs.push(invalid([...mat, 'mountPath'], mp, 'must be unique'));
        mountPaths.add(mp);
      }
    });
    errs.push(...validateProbe(ctr.readinessProbe, [...at, 'readinessProbe']));
    errs.push(...validateProbe(ctr.livenessProbe, [...at, 'livenessProbe']));
    errs.push(...validateProbe(ctr.startupProbe, [...at, 'startupProbe']));
    errs.push(...validateResources(ctr.resources, [...at, 'resources']));
    errs.push(...validateSecurityContext(ctr.securityContext, [...at, 'securityContext']));
  });
  return errs;
}

/** `ValidatePodSpec`, for the parts listed in the module comment. */
export function validatePodSpec(spec: unknown, path: PathPart[]): FieldError[] {
  const s = rec(spec);
  const { errs, names: volumeNames } = validateVolumes(list(s.volumes), [...path, 'volumes']);
  const containerNames = new Set<string>();
  if (list(s.containers).length === 0) errs.push(required([...path, 'containers']));
  errs.push(
    ...validateContainers(list(s.initContainers), volumeNames, containerNames, [...path, 'initContainers']),
  );
  errs.push(...validateContainers(list(s.containers), volumeNames, containerNames, [...path, 'containers']));
  if (typeof s.serviceAccountName === 'string' && s.serviceAccountName !== '') {
    errs.push(...each([...path, 'serviceAccountName'], s.serviceAccountName, isDNS1123Subdomain));
  }
  errs.push(...validateSecurityContext(s.securityContext, [...path, 'securityContext']));
  const spreadKeys = new Set<string>();
  list(s.topologySpreadConstraints).forEach((t, i) => {
    const c = rec(t);
    const at = [...path, 'topologySpreadConstraints', i];
    if (typeof c.maxSkew !== 'number' || c.maxSkew <= 0)
      errs.push(invalid([...at, 'maxSkew'], c.maxSkew, 'must be greater than zero'));
    const topologyKey = typeof c.topologyKey === 'string' ? c.topologyKey : '';
    if (!topologyKey) errs.push(required([...at, 'topologyKey'], 'can not be empty'));
    else errs.push(...each([...at, 'topologyKey'], topologyKey, isQualifiedName));
    if (c.whenUnsatisfiable !== 'DoNotSchedule' && c.whenUnsatisfiable !== 'ScheduleAnyway') {
      errs.push(
        notSupported([...at, 'whenUnsatisfiable'], c.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway']),
      );
    }
    const pair = `${topologyKey}/${String(c.whenUnsatisfiable)}`;
    if (spreadKeys.has(pair)) errs.push(duplicate(at, `{${topologyKey}, ${String(c.whenUnsatisfiable)}}`));
    spreadKeys.add(pair);
    errs.push(...validateLabelSelector(c.labelSelector, [...at, 'labelSelector']));
  });
  if (s.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(s.restartPolicy))) {
    errs.push(notSupported([...path, 'restartPolicy'], s.restartPolicy, ['Always', 'Never', 'OnFailure']));
  }
  return errs;
}

function selectorMatches(selector: Obj, labels: Obj): boolean {
  for (const [k, v] of Object.entries(rec(selector.matchLabels))) if (labels[k] !== v) return false;
  for (const e of list(selector.matchExpressions)) {
    const expr = rec(e);
    const has = typeof expr.key === 'string' && expr.key in labels;
    const value = has ? labels[expr.key as string] : undefined;
    const values = list(expr.values);
    const ok =
      expr.operator === 'In'
        ? has && values.includes(value)
        : expr.operator === 'NotIn'
          ? !has || !values.includes(value)
          : expr.operator === 'Exists'
            ? has
            : expr.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function isEmptySelector(selector: Obj): boolean {
  return Object.keys(rec(selector.matchLabels)).length === 0 && list(selector.matchExpressions).length === 0;
}

function intOrPercent(value: unknown, path: PathPart[]): FieldError[] {
  if (typeof value === 'number')
    return value < 0 ? [invalid(path, value, 'must be greater than or equal to 0')] : [];
  if (typeof value === 'string') {
    if (!/^[0-9]+%$/.test(value)) {
      return [
        invalid(
          path,
          value,
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    }
    if (Number(value.slice(0, -1)) > 100) return [invalid(path, value, 'must not be greater than 100%')];
  }
  return [];
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%';
}

function validateDeployment(obj: Obj): FieldError[] {
  const spec = rec(obj.spec);
  const errs: FieldError[] = [];
  if (typeof spec.replicas === 'number' && spec.replicas < 0) {
    errs.push(invalid(['spec', 'replicas'], spec.replicas, 'must be greater than or equal to 0'));
  }
  const selector = rec(spec.selector);
  const template = rec(spec.template);
  const labels = rec(rec(template.metadata).labels);
  if (spec.selector === undefined) errs.push(required(['spec', 'selector']));
  else if (isEmptySelector(selector))
    errs.push(invalid(['spec', 'selector'], 'empty', 'empty selector is invalid for deployment'));
  else {
    errs.push(...validateLabelSelector(selector, ['spec', 'selector']));
    if (!selectorMatches(selector, labels)) {
      errs.push(
        invalid(
          ['spec', 'template', 'metadata', 'labels'],
          'labels',
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  errs.push(...validatePodSpec(template.spec, ['spec', 'template', 'spec']));
  const restart = rec(template.spec).restartPolicy;
  if (restart !== undefined && restart !== 'Always') {
    errs.push(notSupported(['spec', 'template', 'spec', 'restartPolicy'], restart, ['Always']));
  }
  const strategy = rec(spec.strategy);
  if (strategy.type === 'Recreate' && strategy.rollingUpdate !== undefined) {
    errs.push(
      forbidden(
        ['spec', 'strategy', 'rollingUpdate'],
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    );
  }
  if (isRecord(strategy.rollingUpdate)) {
    const ru = strategy.rollingUpdate;
    errs.push(...intOrPercent(ru.maxUnavailable, ['spec', 'strategy', 'rollingUpdate', 'maxUnavailable']));
    errs.push(...intOrPercent(ru.maxSurge, ['spec', 'strategy', 'rollingUpdate', 'maxSurge']));
    if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
      errs.push(
        invalid(
          ['spec', 'strategy', 'rollingUpdate', 'maxUnavailable'],
          ru.maxUnavailable,
          'may not be 0 when `maxSurge` is 0',
        ),
      );
    }
  }
  return errs;
}

function validateService(obj: Obj): FieldError[] {
  const spec = rec(obj.spec);
  const errs: FieldError[] = [];
  const type = spec.type ?? 'ClusterIP';
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(String(type))) errs.push(notSupported(['spec', 'type'], type, types));
  const ports = list(spec.ports);
  if (ports.length === 0 && type !== 'ExternalName' && spec.clusterIP !== 'None')
    errs.push(required(['spec', 'ports']));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const port = rec(p);
    const at: PathPart[] = ['spec', 'ports', i];
    const name = typeof port.name === 'string' ? port.name : '';
    if (ports.length > 1 && !name) errs.push(required([...at, 'name']));
    if (name) {
      errs.push(...each([...at, 'name'], name, isDNS1123Label));
      if (names.has(name)) errs.push(duplicate([...at, 'name'], name));
      names.add(name);
    }
    errs.push(...isValidPortNum(port.port).map((m) => invalid([...at, 'port'], port.port, m)));
    if (port.protocol !== undefined && !['SCTP', 'TCP', 'UDP'].includes(String(port.protocol))) {
      errs.push(notSupported([...at, 'protocol'], port.protocol, ['SCTP', 'TCP', 'UDP']));
    }
    if (port.targetPort !== undefined)
      errs.push(...validatePortNumOrName(port.targetPort, [...at, 'targetPort']));
  });
  for (const [k, v] of Object.entries(rec(spec.selector))) {
    errs.push(...each(['spec', 'selector'], k, isQualifiedName));
    if (typeof v === 'string' && v.length > 63)
      errs.push(invalid(['spec', 'selector'], v, 'must be no more than 63 characters'));
  }
  return errs;
}

/** Data keys and size (ConfigMap, Secret); Secret types' required keys. */
function validateData(obj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const keys = new Set<string>();
  let size = 0;
  for (const field of ['data', 'stringData', 'binaryData']) {
    for (const [k, v] of Object.entries(rec(obj[field]))) {
      errs.push(...each([field, `[${k}]`], k, isConfigMapKey));
      if (obj.kind === 'ConfigMap' && keys.has(k)) errs.push(duplicate([field, `[${k}]`], k));
      keys.add(k);
      size += typeof v === 'string' ? v.length : 0;
      if (
        obj.kind === 'Secret' &&
        field === 'data' &&
        typeof v === 'string' &&
        !/^[A-Za-z0-9+/]*={0,2}$/.test(v)
      ) {
        errs.push(invalid([field, `[${k}]`], '<value>', 'illegal base64 data'));
      }
    }
  }
  if (size > 1024 * 1024)
    errs.push(tooLong([obj.kind === 'Secret' ? 'data' : ''], 'must have at most 1048576 bytes'));
  if (obj.kind === 'Secret') {
    // stringData is merged into data before validation.
    const needs: Record<string, string[]> = {
      'kubernetes.io/tls': ['tls.crt', 'tls.key'],
      'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
      'kubernetes.io/dockercfg': ['.dockercfg'],
      'kubernetes.io/basic-auth': [],
      'kubernetes.io/ssh-auth': ['ssh-privatekey'],
    };
    for (const k of needs[String(obj.type)] ?? []) if (!keys.has(k)) errs.push(required(['data', `[${k}]`]));
  }
  return errs;
}

function validatePDB(obj: Obj): FieldError[] {
  const spec = rec(obj.spec);
  const errs: FieldError[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    errs.push(invalid(['spec'], 'spec', 'minAvailable and maxUnavailable cannot be both set'));
  }
  errs.push(...intOrPercent(spec.minAvailable, ['spec', 'minAvailable']));
  errs.push(...intOrPercent(spec.maxUnavailable, ['spec', 'maxUnavailable']));
  errs.push(...validateLabelSelector(spec.selector, ['spec', 'selector']));
  return errs;
}

function validateNetworkPolicy(obj: Obj): FieldError[] {
  const spec = rec(obj.spec);
  const errs = validateLabelSelector(spec.podSelector, ['spec', 'podSelector']);
  for (const dir of ['ingress', 'egress'] as const) {
    list(spec[dir]).forEach((r, i) => {
      const rule = rec(r);
      list(rule.ports).forEach((p, j) => {
        const port = rec(p);
        if (port.port !== undefined)
          errs.push(...validatePortNumOrName(port.port, ['spec', dir, i, 'ports', j, 'port']));
      });
      list(rule[dir === 'ingress' ? 'from' : 'to']).forEach((peer, j) => {
        const at: PathPart[] = ['spec', dir, i, dir === 'ingress' ? 'from' : 'to', j];
        errs.push(...validateLabelSelector(rec(peer).podSelector, [...at, 'podSelector']));
        errs.push(...validateLabelSelector(rec(peer).namespaceSelector, [...at, 'namespaceSelector']));
      });
    });
  }
  const types = ['Ingress', 'Egress'];
  list(spec.policyTypes).forEach((t, i) => {
    if (!types.includes(String(t))) errs.push(notSupported(['spec', 'policyTypes', i], t, types));
  });
  return errs;
}

/** The semantic checks of a built-in kind (none for kinds this module does not cover). */
export function validateBuiltinSemantics(obj: Obj): FieldError[] {
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return obj.kind === 'Deployment'
        ? validateDeployment(obj)
        : validatePodSpec(rec(rec(obj.spec).template).spec, ['spec', 'template', 'spec']);
    case 'Pod':
      return validatePodSpec(obj.spec, ['spec']);
    case 'Service':
      return validateService(obj);
    case 'ConfigMap':
    case 'Secret':
      return validateData(obj);
    case 'PodDisruptionBudget':
      return validatePDB(obj);
    case 'NetworkPolicy':
      return validateNetworkPolicy(obj);
    default:
      return [];
  }
}
