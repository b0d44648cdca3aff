/**
 * @module k8s/objects
 * What every module here means by a Kubernetes object: a mapping with `apiVersion` and `kind`, and
 * its identity (kind, namespace, name) for matching and for messages. A leaf (it imports only
 * core), so paths, locations and policy can all stand on it.
 */
import { isRecord } from '../core/json.js';

export { isRecord };

/** The identity of an object, for matching and for messages. */
export interface ObjectMeta {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
}

/** Read apiVersion, kind, name and namespace; undefined when it is not a Kubernetes object. */
export function objectMeta(value: unknown): ObjectMeta | undefined {
  if (!isRecord(value)) return undefined;
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') {
    return undefined;
  }
  const meta = isRecord(metadata) ? metadata : {};
  const name =
    typeof meta.name === 'string'
      ? meta.name
      : typeof meta.generateName === 'string'
        ? meta.generateName
        : '';
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  return { apiVersion, kind, name, namespace };
}

/**
 * `KIND NAMESPACE/NAME`: how reports name an object. One that names no namespace is shown in
 * `defaultNamespace` when given (where it would be created), `-` otherwise.
 */
export function describeObject(meta: ObjectMeta, defaultNamespace?: string): string {
  return `${meta.kind} ${meta.namespace ?? defaultNamespace ?? '-'}/${meta.name}`;
}
