/**
 * @module test/webhook/support
 * What the webhook tests share: AdmissionReview bodies shaped like the API server's, a webhook
 * started on 127.0.0.1 with a freshly generated CA (real HTTPS through undici, trusting that CA),
 * its log lines captured, and decoding of the JSON Patch it answers with.
 */
import { PassThrough } from 'node:stream';
import { Agent, request } from 'undici';
import {
  type CertificateAuthority,
  generateCertificates,
  type WebhookCertificates,
  writeCertificates,
} from '../../src/webhook/certs.js';
import { createLogger } from '../../src/webhook/logging.js';
import {
  type RunningWebhook,
  startWebhookServer,
  type WebhookServerOptions,
} from '../../src/webhook/server.js';
import { tempDir } from '../support/tmp.js';

let uidCounter = 0;

const RESOURCES: Record<string, string> = {
  Pod: 'pods',
  PodTemplate: 'podtemplates',
  ReplicationController: 'replicationcontrollers',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  Job: 'jobs',
  CronJob: 'cronjobs',
};

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  namespace?: string;
  oldObject?: unknown;
  subResource?: string;
  dryRun?: boolean;
  uid?: string;
}

/** An AdmissionReview as the API server sends it for `object` (kind and resource from the object). */
export function admissionReview(
  object: Record<string, unknown>,
  options: ReviewOptions = {},
): Record<string, unknown> {
  const apiVersion = String(object.apiVersion);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const kind = { group, version, kind: String(object.kind) };
  const resource = { group, version, resource: RESOURCES[kind.kind] ?? `${kind.kind.toLowerCase()}s` };
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const request: Record<string, unknown> = {
    uid: options.uid ?? `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`,
    kind,
    resource,
    requestKind: kind,
    requestResource: resource,
    name: metadata.name,
    namespace: options.namespace ?? 'default',
    operation: options.operation ?? 'CREATE',
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    object,
    oldObject: options.oldObject ?? null,
    dryRun: options.dryRun ?? false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  };
  if (options.subResource) {
    request.subResource = options.subResource;
    request.requestSubResource = options.subResource;
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

export interface PatchOp {
  op: string;
  path: string;
  value: unknown;
}

/** Decode the `patch` of a response (base64 JSON array). */
export function decodePatch(patch: unknown): PatchOp[] {
  if (typeof patch !== 'string') return [];
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as PatchOp[];
}

/**
 * Apply RFC 6902 `replace` operations the way the API server does, with RFC 6901 unescaping
 * written independently of the code under test. Throws when a path does not exist.
 */
export function applyPatch<T>(value: T, ops: readonly PatchOp[]): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const op of ops) {
    if (op.op !== 'replace') throw new Error(`unexpected op ${op.op}`);
    const tokens = op.path
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop()!;
    let target: unknown = copy;
    for (const t of tokens) target = (target as Record<string, unknown>)[t];
    if (typeof target !== 'object' || target === null || !(last in target)) throw new Error(`no ${op.path}`);
    (target as Record<string, unknown>)[last] = op.value;
  }
  return copy as T;
}

export interface TestWebhook {
  wh: RunningWebhook;
  agent: Agent;
  certDir: string;
  ca: CertificateAuthority;
  /** Parsed log lines so far. */
  logs: Array<Record<string, unknown>>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  get(path: string): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the server answered
  json: any;
}

/** New certificates for the test webhook: the Service names plus localhost and 127.0.0.1. */
export function testCertificates(ca?: CertificateAuthority): Promise<WebhookCertificates> {
  return generateCertificates({
    service: 'imgdigest-webhook',
    namespace: 'imgdigest-system',
    extraNames: ['localhost', '127.0.0.1'],
    ...(ca ? { ca } : {}),
  });
}

/**
 * Start a webhook on 127.0.0.1:0. Without `options.tls`, new certificates (or `certs`) are written
 * to a temp dir; the client trusts the CA of `certs` (or of the new ones).
 */
export async function startTestWebhook(
  options: Partial<WebhookServerOptions> = {},
  certs?: WebhookCertificates,
): Promise<TestWebhook> {
  const certDir = await tempDir('webhook-certs');
  certs ??= await testCertificates();
  await writeCertificates(certDir, certs);
  const logs: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      logs.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  });
  const wh = await startWebhookServer({
    addr: '127.0.0.1:0',
    tls: { certFile: `${certDir}/tls.crt`, keyFile: `${certDir}/tls.key` },
    logger: createLogger({ stream }),
    ...options,
  });
  const agent = new Agent({ connect: { ca: certs.caCert }, connections: 64 });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await request(`${wh.url}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...headers },
      body:
        typeof body === 'string' || Buffer.isBuffer(body) || isAsyncIterable(body)
          ? (body as string)
          : JSON.stringify(body),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      json: text ? JSON.parse(text) : undefined,
    };
  };
  const get = async (path: string) => {
    const res = await request(`${wh.url}${path}`, { dispatcher: agent });
    return { status: res.statusCode, text: await res.body.text() };
  };
  return {
    wh,
    agent,
    certDir,
    ca: { cert: certs.caCert, key: certs.caKey },
    logs,
    post,
    get,
    async close() {
      await agent.close();
      await wh.close();
    },
  };
}
