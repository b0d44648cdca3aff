/**
 * @module webhook/network-policy
 * A NetworkPolicy for the webhook's pods: ingress to the webhook port from anywhere, to the
 * metrics port only from the monitoring namespace, nothing else. Egress is left open: the webhook
 * resolves tags at whatever registries the cluster's workloads name.
 */
type Obj = Record<string, unknown>;

/** Why the webhook port is open to every source, printed above the object. */
export const networkPolicyComment = (metricsNamespace: string) =>
  ` Ingress to the webhook pods: the webhook port (https) from anywhere, because the API server's
 source address cannot be selected portably (on most clusters it is a host or a load balancer
 outside the pod network); the metrics port only from pods in the namespace "${metricsNamespace}"
 (kubernetes.io/metadata.name is set by the API server, so no label can forge it); every other
 port and source is denied. Egress stays open: tags are resolved at whatever registries the
 workloads name.`;

export interface NetworkPolicyOptions {
  namespace: string;
  name: string;
  labels: Obj;
  selector: Obj;
  /** The namespace whose pods may scrape /metrics (default `monitoring`). */
  metricsNamespace: string;
}

export function networkPolicy(o: NetworkPolicyOptions): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    spec: {
      podSelector: { matchLabels: o.selector },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [{ port: 'https', protocol: 'TCP' }] },
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.metricsNamespace } } },
          ],
          ports: [{ port: 'metrics', protocol: 'TCP' }],
        },
      ],
    },
  };
}
