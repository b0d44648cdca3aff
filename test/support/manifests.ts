/**
 * @module test/support/manifests
 * Kubernetes documents made in bulk, for the tests and benchmarks that pin many of them
 * (test/k8s/pin-memory.test.ts, bench/cases/pin.ts): one generator, so what the memory bound and
 * the timings are measured on is the same kind of document. Also the folder of hand-written
 * manifests the k8s tests share, and the tagged images it names.
 */
import { join } from 'node:path';

/** test/fixtures/k8s/corpus: hand-written manifests of every kind pin and check read. */
export const CORPUS = join(import.meta.dirname, '../fixtures/k8s/corpus');

/** The tagged images of {@link CORPUS} that pin resolves (nginx:1.27, pinned there already, aside). */
export const CORPUS_IMAGES: readonly string[] = [
  'registry.example.com/team/app:1.0',
  'registry.example.com/team/migrate:2.1',
  'busybox:1.36',
  'registry.example.com/team/report:3',
  'registry.example.com/team/tpl:1',
  'registry.example.com/team/agent:0.9',
  'registry.example.com/team/models:v2',
  'registry.example.com/team/db:16',
];

/**
 * A Deployment of about 30 lines, number `i` (its name, namespace and labels follow from it), with
 * one container running `image`, a comment pin must keep, and a flow mapping.
 */
export function deployment(i: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: team-${i % 17}
  labels:
    app.kubernetes.io/name: app-${i}
    app.kubernetes.io/part-of: bench # a comment the pin must keep
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: app-${i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-${i}
    spec:
      containers:
        - name: app
          image: ${image}
          ports:
            - containerPort: 8080
          env:
            - name: MODE
              value: "production"
          resources:
            limits: { cpu: 500m, memory: 256Mi }
`;
}
