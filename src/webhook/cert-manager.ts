/**
 * @module webhook/cert-manager
 * The webhook's serving certificate from cert-manager instead of `webhook certs`: the CA chain
 * cert-manager's documentation suggests for webhooks (a selfSigned Issuer makes a CA Certificate,
 * a CA Issuer signs the serving Certificate with it) and the `cert-manager.io/inject-ca-from`
 * annotation, with which cert-manager's cainjector fills `caBundle` in the WebhookConfigurations.
 *
 * The CA lives five years and the serving certificate 90 days, renewed 30 days early: the webhook
 * reloads the mounted Secret when it changes, and caBundle (the CA) stays the same across
 * renewals, so a renewal never interrupts admission.
 */
import { serviceDnsNames } from './certs.js';

type Obj = Record<string, unknown>;

export const INJECT_CA_ANNOTATION = 'cert-manager.io/inject-ca-from';

export interface CertManagerNames {
  namespace: string;
  /** The webhook's Service name (and the serving Certificate's). */
  name: string;
  /** The Secret the Deployment mounts. */
  secretName: string;
  labels: Obj;
}

const issuerRef = (name: string) => ({ name, kind: 'Issuer', group: 'cert-manager.io' });
const ecdsa = { algorithm: 'ECDSA', size: 256 };

/** Issuer, CA Certificate, CA Issuer and serving Certificate, in the order they depend on each other. */
export function certManagerObjects(n: CertManagerNames): Obj[] {
  const meta = (name: string) => ({ name, namespace: n.namespace, labels: n.labels });
  const selfSigned = `${n.name}-selfsigned`;
  const ca = `${n.name}-ca`;
  return [
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: meta(selfSigned),
      spec: { selfSigned: {} },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(ca),
      spec: {
        isCA: true,
        commonName: ca,
        secretName: ca,
        duration: '43800h',
        renewBefore: '8760h',
        privateKey: { ...ecdsa, rotationPolicy: 'Always' },
        issuerRef: issuerRef(selfSigned),
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: meta(ca),
      spec: { ca: { secretName: ca } },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(n.name),
      spec: {
        secretName: n.secretName,
        dnsNames: serviceDnsNames(n.name, n.namespace),
        duration: '2160h',
        renewBefore: '720h',
        privateKey: { ...ecdsa, rotationPolicy: 'Always' },
        usages: ['server auth', 'digital signature'],
        issuerRef: issuerRef(ca),
      },
    },
  ];
}

/** The annotation for both WebhookConfigurations: caBundle from the serving Certificate's CA. */
export function injectCaAnnotation(n: Pick<CertManagerNames, 'namespace' | 'name'>): Record<string, string> {
  return { [INJECT_CA_ANNOTATION]: `${n.namespace}/${n.name}` };
}
