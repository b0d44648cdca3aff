/**
 * @module test/support/distribution
 * Start the real CNCF registry (Debian's `/usr/bin/docker-registry`, distribution 2.8) on
 * 127.0.0.1 for tests: anonymous, htpasswd (file made by the real `htpasswd -Bbn`) or token auth
 * ({@link startTokenIssuer}, signing with a key from src/webhook/certs.ts, or openssl's for RSA).
 * By default a counting reverse proxy sits in front, so tests can assert how many requests a
 * client sent ("one HEAD per tag"); `url` is the proxy's, `registryUrl` the registry's own.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { loopbackTls } from './certs.js';
import { removeTempDir, tempDir } from './tmp.js';
import { startTokenIssuer, type TokenIssuer, type TokenIssuerBehaviour } from './token-issuer.js';

export type DistributionAuth = 'anonymous' | 'htpasswd' | 'token';

export interface DistributionOptions {
  /** Default `anonymous`. */
  auth?: DistributionAuth;
  /** The user the htpasswd file or token issuer knows. Default `user` / `pass`. */
  username?: string;
  password?: string;
  /** Token mode: issuer behaviour (anonymous pull, response fields, ...) and key type. */
  token?: Partial<Omit<TokenIssuerBehaviour, 'users'>> & { keyType?: 'ec' | 'rsa' };
  /** Put the counting proxy in front (default true). */
  proxy?: boolean;
  /**
   * `validation.manifests.urls.allow`: the regexes layer `urls` in pushed manifests must match.
   * Unset, distribution 2.8 refuses every manifest whose checked layers carry `urls`.
   */
  manifestUrlsAllow?: string[];
  /**
   * Run as a pull-through cache of this registry URL (`proxy.remoteurl`): what it serves it fetches
   * from there once and keeps, manifest by manifest, as Docker Hub mirrors do.
   */
  mirrorOf?: string;
}

/** One request that went through the proxy. */
export interface LoggedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: string;
  status: number;
  headers: IncomingHttpHeaders;
}

export interface Distribution {
  /** Base URL clients use: `http://127.0.0.1:PORT` (the proxy when there is one). */
  readonly url: string;
  /** `127.0.0.1:PORT` of {@link url}, for references such as `127.0.0.1:PORT/sample:latest`. */
  readonly host: string;
  readonly port: number;
  /** The registry itself, bypassing the proxy (not counted). */
  readonly registryUrl: string;
  readonly auth: DistributionAuth;
  readonly credentials: { username: string; password: string };
  readonly tokenIssuer?: TokenIssuer;
  readonly storageDir: string;
  /** Requests through the proxy, in arrival order (empty without the proxy). */
  readonly requestLog: LoggedRequest[];
  /** Requests per `METHOD /path` (query left out), e.g. `HEAD /v2/sample/manifests/latest`. */
  counts(): Record<string, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

/** A port the OS considers free right now (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const REGISTRY_BIN = '/usr/bin/docker-registry';
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Start a registry; call `stop()` in `afterAll`. */
export async function startDistribution(options: DistributionOptions = {}): Promise<Distribution> {
  const auth = options.auth ?? 'anonymous';
  const credentials = { username: options.username ?? 'user', password: options.password ?? 'pass' };
  const dir = await tempDir(`registry-${auth}`);
  const storageDir = join(dir, 'storage');
  let tokenIssuer: TokenIssuer | undefined;
  const authConfig = await (async (): Promise<Record<string, unknown> | undefined> => {
    if (auth === 'htpasswd') {
      const line = execFileSync('htpasswd', ['-Bbn', credentials.username, credentials.password], {
        encoding: 'utf8',
      });
      await writeFile(join(dir, 'htpasswd'), line.trim() + '\n');
      return { htpasswd: { realm: 'imgdigest-test', path: join(dir, 'htpasswd') } };
    }
    if (auth === 'token') {
      const { keyPem, certPem, certPath } = await makeCertificate(dir, options.token?.keyType ?? 'ec');
      const { keyType: _keyType, ...behaviour } = options.token ?? {};
      tokenIssuer = await startTokenIssuer({
        keyPem,
        certPem,
        ...behaviour,
        users: { [credentials.username]: credentials.password },
      });
      return {
        token: {
          realm: tokenIssuer.realm,
          service: tokenIssuer.service,
          issuer: tokenIssuer.issuer,
          rootcertbundle: certPath,
        },
      };
    }
    return undefined;
  })();

  let child: ChildProcess | undefined;
  let registryPort = 0;
  // The port is free when picked but another process may take it first: try a few times.
  for (let attempt = 1; !child; attempt++) {
    registryPort = await freePort();
    // JSON is YAML, so the config needs no YAML writer.
    const config = {
      version: '0.1',
      log: { level: 'error', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: `127.0.0.1:${registryPort}`, secret: 'imgdigest-test-secret' },
      ...(authConfig ? { auth: authConfig } : {}),
      ...(options.mirrorOf ? { proxy: { remoteurl: options.mirrorOf } } : {}),
      ...(options.manifestUrlsAllow
        ? { validation: { manifests: { urls: { allow: options.manifestUrlsAllow } } } }
        : {}),
    };
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, JSON.stringify(config, null, 2));
    try {
      child = await launch(configPath, `http://127.0.0.1:${registryPort}`);
    } catch (e) {
      if (attempt >= 3) {
        await tokenIssuer?.stop();
        await removeTempDir(dir);
        throw e;
      }
    }
  }
  const registryUrl = `http://127.0.0.1:${registryPort}`;
  const requestLog: LoggedRequest[] = [];
  const proxy = options.proxy === false ? undefined : await startCountingProxy(registryPort, requestLog);
  const port = proxy ? (proxy.address() as AddressInfo).port : registryPort;
  const running = child;

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    registryUrl,
    auth,
    credentials,
    ...(tokenIssuer ? { tokenIssuer } : {}),
    storageDir,
    requestLog,
    counts() {
      const out: Record<string, number> = {};
      for (const r of requestLog) {
        const key = `${r.method} ${r.path}`;
        out[key] = (out[key] ?? 0) + 1;
      }
      return out;
    },
    resetCounts() {
      requestLog.length = 0;
    },
    async stop() {
      if (proxy) {
        await new Promise<void>((resolve) => {
          proxy.close(() => resolve());
          proxy.closeAllConnections();
        });
      }
      await stopChild(running);
      await tokenIssuer?.stop();
      await removeTempDir(dir);
    },
  };
}

/** Spawn the registry and wait until `GET /v2/` answers (200 or 401); fail with its stderr if it exits. */
async function launch(configPath: string, url: string): Promise<ChildProcess> {
  const child = spawn(REGISTRY_BIN, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
    children.delete(child);
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    const status = await probe(`${url}/v2/`);
    if (status === 200 || status === 401) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(child);
  const why = exited !== undefined ? `exited with ${exited}` : 'did not answer within 20 s';
  throw new Error(`docker-registry ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * The token issuer's signing key and the self-signed certificate the registry trusts for it. EC
 * P-256 is the CA pair of src/webhook/certs.ts; RSA comes from the real openssl, because the
 * product makes no RSA keys and the RS256 path of the issuer is worth keeping under test.
 */
async function makeCertificate(
  dir: string,
  keyType: 'ec' | 'rsa',
): Promise<{ keyPem: string; certPem: string; certPath: string }> {
  if (keyType === 'ec') {
    const tls = await loopbackTls(join(dir, 'token-signer'));
    return { keyPem: tls.caKey, certPem: tls.ca, certPath: tls.files.ca };
  }
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
    ].concat(['-subj', '/CN=imgdigest test token issuer']),
    { stdio: 'pipe' },
  );
  return { keyPem: await readFile(keyPath, 'utf8'), certPem: await readFile(certPath, 'utf8'), certPath };
}

/**
 * A reverse proxy that logs every request. It keeps the client's Host header, so the registry
 * builds Location URLs that point back at the proxy and uploads keep flowing through it.
 */
async function startCountingProxy(targetPort: number, log: LoggedRequest[]): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      status: 0,
      headers: req.headers,
    };
    log.push(entry);
    const upstream = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: url, headers: req.headers },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
