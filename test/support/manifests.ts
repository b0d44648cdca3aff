/**
 * @module test/support/manifests
 * Kubernetes documents made in bulk, for the tests and benchmarks that pin many of them
 * (test/k8s/pin-memory.test.ts, bench/cases/pin.ts): one generator, so what the memory bound and
 * the timings are measured on is the same kind of document.
 */

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
