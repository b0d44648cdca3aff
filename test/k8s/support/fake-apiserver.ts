/**
 * @module test/k8s/support/fake-apiserver
 * A discovery-only Kubernetes API server on 127.0.0.1, so the real `kubectl` can run commands
 * that need a REST mapping (`kubectl run --dry-run=client`, `kubectl apply --dry-run=client`)
 * without a cluster. It serves /version, /api, /apis and the resource lists for the groups it is
 * given; every object GET answers 404 (nothing exists yet), which is what a client dry run needs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeResource {
  group: string;
  version: string;
  name: string;
  kind: string;
  namespaced: boolean;
}

export const CORE_RESOURCES: FakeResource[] = [
  { group: '', version: 'v1', name: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', name: 'namespaces', kind: 'Namespace', namespaced: false },
];

export interface FakeApiServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** Start the server; `resources` adds API groups (CRDs) to the core ones. */
export async function startFakeApiServer(resources: FakeResource[] = []): Promise<FakeApiServer> {
  const all = [...CORE_RESOURCES, ...resources];
  const requests: string[] = [];
  const groups = [...new Set(all.filter((r) => r.group !== '').map((r) => `${r.group}/${r.version}`))];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    res.setHeader('content-type', 'application/json');
    const send = (value: unknown, status = 200) => {
      res.statusCode = status;
      res.end(JSON.stringify(value));
    };
    const list = (groupVersion: string) => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: all
        .filter((r) => (r.group ? `${r.group}/${r.version}` : r.version) === groupVersion)
        .map((r) => ({
          name: r.name,
          singularName: '',
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'get', 'list', 'patch'],
        })),
    });
    if (path === '/version') return send({ major: '1', minor: '32', gitVersion: 'v1.32.0' });
    if (path === '/api')
      return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/api/v1') return send(list('v1'));
    if (path === '/apis') {
      return send({
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => {
          const [name, version] = gv.split('/') as [string, string];
          return {
            name,
            versions: [{ groupVersion: gv, version }],
            preferredVersion: { groupVersion: gv, version },
          };
        }),
      });
    }
    const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && groups.includes(`${m[1]}/${m[2]}`)) return send(list(`${m[1]}/${m[2]}`));
    send(
      {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: 'not found',
      },
      404,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
