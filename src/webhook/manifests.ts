/**
 * @module webhook/manifests
 * Everything needed to run the webhook in a cluster, as plain objects and as one YAML stream:
 * Namespace, ServiceAccount, the rules ConfigMap, Deployment, Service, PodDisruptionBudget and the
 * Validating/Mutating WebhookConfigurations; optionally cert-manager's Issuers and Certificates
 * (cert-manager.ts) and a NetworkPolicy (network-policy.ts). deploy/ is generated from this.
 *
 * The choices follow the Kubernetes webhook good practices (see below): two
 * replicas spread over nodes and zones behind a PDB; `sideEffects: None`, `matchPolicy:
 * Equivalent`, `admissionReviewVersions: [v1]`; kube-system and the webhook's own namespace
 * excluded by `kubernetes.io/metadata.name` (set by the API server on every Namespace, so it
 * cannot be forged by a label); mutation opt-in per namespace (`imgdigest.dev/mutate: enabled`,
 * as k8s-digester's `digest-resolution: enabled`); `reinvocationPolicy: IfNeeded` so sidecars
 * injected by later webhooks are pinned too; `pods/ephemeralcontainers` listed explicitly because
 * a rule's `pods` never matches subresources.
 * @see https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
 * @see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-rules
 */
import { Document } from 'yaml';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import { parseReference } from '../core/reference.js';
import type { Resolver } from '../resolver/types.js';
import { certManagerObjects, injectCaAnnotation } from './cert-manager.js';
import { networkPolicy, networkPolicyComment } from './network-policy.js';

export type WebhookMode = 'validate' | 'mutate' | 'both';

export interface ManifestOptions {
  /** Namespace of the webhook (default `imgdigest-system`). */
  namespace?: string;
  /** Name of the Deployment, Service and friends (default `imgdigest-webhook`). */
  name?: string;
  image: string;
  /** Default 2. */
  replicas?: number;
  /** base64 PEM of the CA that signed the serving certificate. */
  caBundle?: string;
  /** Default `Fail`. */
  failurePolicy?: 'Fail' | 'Ignore';
  /** Default 10 (the API server allows 1-30). */
  timeoutSeconds?: number;
  /** Default `both`. */
  mode?: WebhookMode;
  /** The rules file (with its `webhook:` section) for the ConfigMap. */
  configText?: string;
  /** Also print the TLS Secret with this pair (PEM). */
  tls?: { cert: string; key: string };
  /** Mount this existing `kubernetes.io/dockerconfigjson` Secret for private registries. */
  dockerConfigSecret?: string;
  /** Let cert-manager issue the serving certificate and inject caBundle (no `caBundle`, no `tls`). */
  certManager?: boolean;
  /** Add a NetworkPolicy: webhook port from anywhere, metrics port from `metricsNamespace` only. */
  networkPolicy?: boolean;
  /** The namespace allowed to scrape /metrics under `networkPolicy` (default `monitoring`). */
  metricsNamespace?: string;
}

/**
 * The webhooks' names. The API server requires a fully qualified name with at least three
 * dot-separated segments, unique within its configuration, and records a webhook's audit
 * annotations as `<webhook name>/<key>` (`pin.imgdigest.dev/resolve-error`).
 */
export const WEBHOOK_NAMES = { validate: 'validate.imgdigest.dev', mutate: 'pin.imgdigest.dev' } as const;
export const MUTATE_LABEL = 'imgdigest.dev/mutate';
export const DEFAULT_NAMESPACE = 'imgdigest-system';
export const DEFAULT_NAME = 'imgdigest-webhook';
const PORT = 8443;
const METRICS_PORT = 9090;
const UID = 65532;

/** The rules file printed when none is given: safe to roll out (Ignore + warn), then tighten. */
export const DEFAULT_CONFIG_TEXT = `# imgdigest rules: the same file \`imgdigest check\`, \`pin\` and \`krm\` read.
apiVersion: imgdigest.dev/v1alpha1
kind: ImageDigestRules
exemptImages: []
# Roll out with Ignore and warn, watch the warnings and metrics, then switch to Fail and deny.
failurePolicy: Ignore
webhook:
  enforcement: warn
  failureMode: allow
  resolutionBudgetMs: 8000
  mutateOwnedObjects: false
  cacheTtlSeconds: 300
  # Limits against abuse: distinct images one object may ask to resolve, and a registry that
  # fails breakerFailures times in a row is not asked for breakerCoolDownSeconds.
  maxReferencesPerReview: 256
  breakerFailures: 5
  breakerCoolDownSeconds: 30
  # The only registry hosts the webhook may contact (redirects and token realms included); unset,
  # any host a Pod names, so set it to the registries your cluster pulls from.
  # allowedRegistries: [ghcr.io, registry.example.com]
`;

/** The resources every webhook rule covers (CREATE and UPDATE). */
export const WEBHOOK_RULES = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['pods', 'pods/ephemeralcontainers', 'podtemplates', 'replicationcontrollers'],
  },
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
  },
  { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
].map((r) => ({ ...r, operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }));

type Obj = Record<string, unknown>;

/** Every object to apply, in apply order. */
export function webhookManifests(options: ManifestOptions): Obj[] {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const name = options.name ?? DEFAULT_NAME;
  const mode = options.mode ?? 'both';
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': 'admission-webhook',
    'app.kubernetes.io/part-of': 'imgdigest',
  };
  const selector = { 'app.kubernetes.io/name': name };
  const meta = (n: string, extra: Obj = {}) => ({ name: n, namespace, labels, ...extra });
  if (options.certManager && (options.caBundle || options.tls)) {
    throw new ImgdigestError(
      'USAGE',
      'cert-manager issues the certificate and injects caBundle: give no CA or TLS pair',
    );
  }
  const objects: Obj[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(name),
      // The webhook never calls the Kubernetes API: no token in the pod.
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(`${name}-config`),
      data: { 'rules.yaml': options.configText ?? DEFAULT_CONFIG_TEXT },
    },
  ];
  if (options.tls) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: meta(`${name}-tls`),
      stringData: { 'tls.crt': options.tls.cert, 'tls.key': options.tls.key },
    });
  }
  if (options.certManager) {
    objects.push(...certManagerObjects({ namespace, name, secretName: `${name}-tls`, labels }));
  }
  objects.push(deployment(options, name, meta(name), labels, selector));
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [
        { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  });
  objects.push({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(name),
    spec: { minAvailable: 1, selector: { matchLabels: selector } },
  });
  if (options.networkPolicy) {
    const metricsNamespace = options.metricsNamespace ?? 'monitoring';
    const policy = networkPolicy({ namespace, name, labels, selector, metricsNamespace });
    COMMENTS.set(policy, networkPolicyComment(metricsNamespace));
    objects.push(policy);
  }
  if (mode !== 'mutate') objects.push(webhookConfiguration('validate', options, name, namespace, labels));
  if (mode !== 'validate') objects.push(webhookConfiguration('mutate', options, name, namespace, labels));
  return objects;
}

function deployment(options: ManifestOptions, name: string, metadata: Obj, labels: Obj, selector: Obj): Obj {
  const args = [
    'webhook',
    'serve',
    `--addr=0.0.0.0:${PORT}`,
    `--metrics-addr=0.0.0.0:${METRICS_PORT}`,
    '--tls-cert=/etc/imgdigest/tls/tls.crt',
    '--tls-key=/etc/imgdigest/tls/tls.key',
    '--config=/etc/imgdigest/config/rules.yaml',
  ];
  const volumes: Obj[] = [
    // fsGroup + 0440 lets the non-root user read the key and nobody else.
    { name: 'tls', secret: { secretName: `${name}-tls`, defaultMode: 0o440 } },
    { name: 'config', configMap: { name: `${name}-config` } },
    { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
  ];
  const mounts: Obj[] = [
    { name: 'tls', mountPath: '/etc/imgdigest/tls', readOnly: true },
    { name: 'config', mountPath: '/etc/imgdigest/config', readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  if (options.dockerConfigSecret) {
    args.push('--docker-config=/etc/imgdigest/registry/.dockerconfigjson');
    volumes.push({
      name: 'registry-auth',
      secret: {
        secretName: options.dockerConfigSecret,
        defaultMode: 0o440,
        items: [{ key: '.dockerconfigjson', path: '.dockerconfigjson' }],
      },
    });
    mounts.push({ name: 'registry-auth', mountPath: '/etc/imgdigest/registry', readOnly: true });
  }
  const probe = (path: string, period: number) => ({
    httpGet: { path, port: 'https', scheme: 'HTTPS' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  const spread = (topologyKey: string) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: selector },
      // Never fewer ready replicas than asked during a rollout: the API server waits on us.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: UID,
            runAsGroup: UID,
            fsGroup: UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: [
            spread('kubernetes.io/hostname'),
            spread('topology.kubernetes.io/zone'),
          ],
          containers: [
            {
              name: 'webhook',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              args,
              // Keep V8's heap inside the memory limit instead of being OOM-killed.
              env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=192' }],
              ports: [
                { name: 'https', containerPort: PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              readinessProbe: probe('/readyz', 5),
              livenessProbe: { ...probe('/healthz', 10), initialDelaySeconds: 5 },
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { cpu: '1', memory: '256Mi' },
              },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

function webhookConfiguration(
  kind: 'validate' | 'mutate',
  options: ManifestOptions,
  name: string,
  namespace: string,
  labels: Obj,
): Obj {
  const skipSystem = {
    key: 'kubernetes.io/metadata.name',
    operator: 'NotIn',
    values: ['kube-system', namespace],
  };
  const clientConfig: Obj = { service: { name, namespace, path: `/${kind}`, port: 443 } };
  if (options.caBundle) clientConfig.caBundle = options.caBundle;
  const webhook: Obj = {
    name: WEBHOOK_NAMES[kind],
    clientConfig,
    rules: WEBHOOK_RULES,
    failurePolicy: options.failurePolicy ?? 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: options.timeoutSeconds ?? 10,
    admissionReviewVersions: ['v1'],
    namespaceSelector: {
      matchExpressions:
        kind === 'mutate'
          ? [skipSystem, { key: MUTATE_LABEL, operator: 'In', values: ['enabled'] }]
          : [skipSystem],
    },
  };
  if (kind === 'mutate') webhook.reinvocationPolicy = 'IfNeeded';
  const metadata: Obj = { name, labels };
  if (options.certManager) metadata.annotations = injectCaAnnotation({ namespace, name });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: kind === 'mutate' ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
    metadata,
    webhooks: [webhook],
  };
}

/** Comments printed above some objects (why a choice was made), kept out of the objects themselves. */
const COMMENTS = new WeakMap<Obj, string>();

/**
 * One object as YAML, with its comment if it has one, long strings never folded, and objects used
 * twice (the labels) written out twice rather than as YAML anchors and aliases.
 */
export function renderObject(object: Obj): string {
  const doc = new Document(object, { aliasDuplicateObjects: false });
  const comment = COMMENTS.get(object);
  if (comment) doc.commentBefore = comment;
  return doc.toString({ lineWidth: 0 });
}

/** One YAML stream (`---` between documents), long strings never folded. */
export function renderManifests(objects: readonly Obj[]): string {
  const header = '# imgdigest admission webhook: generated by `imgdigest webhook manifests`\n';
  return header + objects.map((o) => `---\n${renderObject(o)}`).join('');
}

/**
 * `image` as `name:tag@digest`, the digest from `resolver` (a tag left out means `latest`). An
 * image that already has a digest is returned as given, without asking anyone. Failures keep
 * their code (3 for registry trouble, 2 for a malformed reference) and name the image.
 */
export async function imageByDigest(image: string, resolver: Resolver): Promise<string> {
  const reference = parseReference(image);
  if (reference.digest !== null) return image;
  try {
    const { digest } = await resolver.resolve(reference);
    return (reference.tag === null ? reference.withTag('latest') : reference).withDigest(digest).familiar;
  } catch (e) {
    if (!isImgdigestError(e)) throw e;
    throw new ImgdigestError(e.code, `cannot resolve image ${image}: ${e.message}`, { cause: e });
  }
}
