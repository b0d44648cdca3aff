/**
 * The container image, built for real from the repository's Containerfile with `podman build`, in
 * a private podman store. No registry is reachable here, so the base is the distroless-like image
 * deploy/image/make-base.sh makes from this machine's node; the production dependencies are staged
 * with deploy/image/stage-modules.sh, as a user does. The image is exported with skopeo to an OCI
 * layout and unpacked with umoci; then the entrypoint from its config runs in the unpacked root
 * file system (chroot, as user 65532: `podman run` is refused in this sandbox) with the container
 * args of the Deployment `webhook manifests` prints, and answers over TLS.
 *
 * A slower suite (~30 s: the vfs driver copies every layer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAME, DEFAULT_NAMESPACE, webhookManifests } from '../../src/webhook/manifests.js';
import { run } from '../local-sources/fixtures.js';
import { podmanStorageArgs } from '../local-sources/podman.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/repo-boundary.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { findTool, haveTools, isCI } from '../support/tools.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, read field by field
type Obj = Record<string, any>;

const UID = 65532;

/** chroot and a root-owned unpack need root; CI runs as root, so there it is required. */
function runningAsRoot(): boolean {
  if (process.getuid?.() === 0) return true;
  if (isCI) throw new Error('CI=true: the image suite needs root (chroot, umoci unpack)');
  process.stderr.write('skipping the image suite: not root\n');
  return false;
}

const ready = haveTools('podman', 'skopeo', 'umoci', 'chroot', 'npm') && runningAsRoot();

/** Every path under `dir` (relative), directories included. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await walk(dir, rel)));
  }
  return out;
}

function fetchText(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const done = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = ca ? httpsGet(url, { ca }, done) : httpGet(url, done);
    req.on('error', reject);
  });
}

describe.skipIf(!ready)('the container image (Containerfile)', () => {
  let dir: string;
  let rootfs: string;
  let layout: string;
  let config: Obj;
  let server: ChildProcess | undefined;
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

  beforeAll(async () => {
    dir = await tempDir('image');
    const storage = podmanStorageArgs(join(dir, 'store'));
    const base = 'localhost/imgdigest-base:test';
    const image = 'localhost/imgdigest:test';
    await stat(join(repoRoot, 'dist', 'cli', 'main.js')).catch(() => {
      throw new Error('dist/ is missing: run `npm run build` before this suite');
    });
    run('bash', [join(repoRoot, 'deploy', 'image', 'make-base.sh'), base, ...storage]);

    // The build context: what the repository holds for the image, plus decoys the ignore file
    // must keep out (dev dependencies in node_modules/, sources, git data).
    const context = join(dir, 'context');
    await mkdir(context);
    for (const f of ['Containerfile', '.dockerignore', 'package.json', 'bin', 'dist']) {
      await cp(join(repoRoot, f), join(context, f), { recursive: true });
    }
    run('bash', [join(repoRoot, 'deploy', 'image', 'stage-modules.sh'), context]);
    for (const decoy of ['node_modules/typescript/package.json', 'src/index.ts', '.git/config']) {
      await mkdir(join(context, decoy, '..'), { recursive: true });
      await writeFile(join(context, decoy), 'decoy\n');
    }
    run('podman', [
      ...storage,
      'build',
      '--layers=false', // a throwaway store: no per-step layers to cache (vfs copies each one)
      '--build-arg',
      `BASE=${base}`,
      '--build-arg',
      `VERSION=${pkg.version}`,
      '-t',
      image,
      '-f',
      join(context, 'Containerfile'),
      context,
    ]);

    layout = join(dir, 'oci');
    const [, root, , runroot] = storage;
    run('skopeo', ['copy', `containers-storage:[vfs@${root}+${runroot}]${image}`, `oci:${layout}:test`]);
    run('umoci', ['unpack', '--image', `${layout}:test`, join(dir, 'bundle')]);
    rootfs = join(dir, 'bundle', 'rootfs');

    // imgdigest reads its own image's config from the OCI layout.
    const shown = await runCli(['config', `oci:${layout}:test`]);
    expect(shown.stderr).toBe('');
    config = JSON.parse(shown.stdout);
  }, 240_000);

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await cleanupTempDirs();
  });

  it('runs as 65532 with node and imgdigest as the entrypoint, `webhook serve` by default, and OCI labels', () => {
    const c = config.config;
    expect(c.User).toBe(`${UID}:${UID}`);
    expect(c.Entrypoint).toEqual(['/nodejs/bin/node', '/app/bin/imgdigest.js']);
    expect(c.Cmd.slice(0, 2)).toEqual(['webhook', 'serve']);
    expect(c.WorkingDir).toBe('/app');
    expect(Object.keys(c.ExposedPorts).sort()).toEqual(['8443/tcp', '9090/tcp']);
    expect(c.Labels).toMatchObject({
      'org.opencontainers.image.title': 'imgdigest',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.base.name': 'localhost/imgdigest-base:test',
    });
    expect(c.Labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
    // Two layers: the base, and /app in one.
    expect(config.rootfs.diff_ids).toHaveLength(2);
  });

  it('holds node and the app only: no shell, no npm, no sources, no dev dependencies', async () => {
    const paths = await walk(rootfs);
    const names = new Set(paths.map((p) => p.split('/').pop()));
    for (const tool of ['sh', 'bash', 'dash', 'busybox', 'npm', 'npx', 'corepack', 'apt', 'apk']) {
      expect(names.has(tool), tool).toBe(false);
    }
    expect(paths).not.toContain('bin');
    expect(paths).not.toContain('usr/bin');
    expect((await readdir(join(rootfs, 'app'))).sort()).toEqual([
      'bin',
      'dist',
      'node_modules',
      'package.json',
    ]);
    // Every production dependency, no development one (the decoy typescript/ included).
    const present = new Set(paths);
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(present.has(`app/node_modules/${dep}/package.json`), dep).toBe(true);
    }
    for (const dev of Object.keys(pkg.devDependencies)) {
      expect(present.has(`app/node_modules/${dev}`), dev).toBe(false);
    }
    expect(paths.filter((p) => p.startsWith('app/dist/') && /\.(map|d\.ts)$/.test(p))).toEqual([]);
    expect(
      paths.some((p) => p.endsWith('.ts') && p.startsWith('app/') && !p.startsWith('app/node_modules/')),
    ).toBe(false);
    // The webhook's user cannot change its own code.
    const main = await stat(join(rootfs, 'app', 'dist', 'cli', 'main.js'));
    expect(main.uid).toBe(0);
    expect(main.mode & 0o022).toBe(0);
  });

  it("serves /healthz over TLS and /metrics on its own port, run as 65532 with the Deployment's args", async () => {
    const objects = webhookManifests({ image: 'unused' });
    const deployment = objects.find((o) => o.kind === 'Deployment') as Obj;
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as Obj;
    const container = deployment.spec.template.spec.containers[0];
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Obj) => [m.name, m.mountPath]));

    // What the kubelet would mount: the TLS Secret and the rules ConfigMap, readable by 65532.
    const tlsDir = join(rootfs, mounts.tls);
    const made = await runCli([
      'webhook',
      'certs',
      '--service',
      DEFAULT_NAME,
      '--namespace',
      DEFAULT_NAMESPACE,
      '--out',
      tlsDir,
      '--extra-name',
      '127.0.0.1',
    ]);
    expect(made.code).toBe(0);
    for (const f of await readdir(tlsDir)) await chown(join(tlsDir, f), UID, UID);
    await mkdir(join(rootfs, mounts.config), { recursive: true });
    await writeFile(join(rootfs, mounts.config, 'rules.yaml'), configMap.data['rules.yaml']);

    // The Deployment's args, with the listen addresses moved to free ports on the loopback.
    const args = (container.args as string[]).map((a) =>
      a.startsWith('--addr=')
        ? '--addr=127.0.0.1:0'
        : a.startsWith('--metrics-addr=')
          ? '--metrics-addr=127.0.0.1:0'
          : a,
    );
    expect(args.some((a) => a.startsWith('--metrics-addr='))).toBe(true);
    // The image's environment and the container's, nothing of this process's.
    const env = Object.fromEntries([
      ...(config.config.Env as string[]).map((e) => [
        e.slice(0, e.indexOf('=')),
        e.slice(e.indexOf('=') + 1),
      ]),
      ...container.env.map((e: Obj) => [e.name, e.value]),
    ]);
    const child = spawn(
      findTool('chroot')!,
      [`--userspec=${UID}:${UID}`, rootfs, ...config.config.Entrypoint, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      },
    );
    server = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const deadline = Date.now() + 30_000;
    let listening: Obj | undefined;
    while (!listening && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      listening = stdout
        .split('\n')
        .filter((l) => l.includes('"webhook listening"'))
        .map((l) => JSON.parse(l) as Obj)[0];
    }
    expect(listening, `the webhook did not start: ${stderr}`).toBeDefined();
    expect(listening!.config).toBe(`/etc/imgdigest/config/rules.yaml`);

    const ca = await readFile(join(tlsDir, 'ca.crt'), 'utf8');
    const healthz = await fetchText(`${listening!.url}/healthz`, ca);
    expect(healthz).toEqual({ status: 200, body: 'ok\n' });
    expect((await fetchText(`${listening!.url}/readyz`, ca)).status).toBe(200);
    const metrics = await fetchText(`${listening!.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('imgdigest_webhook_tls_certificate_expiry_timestamp_seconds');
    // With a metrics port, the TLS port (open to the API server) does not answer /metrics.
    expect((await fetchText(`${listening!.url}/metrics`, ca)).status).toBe(404);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
