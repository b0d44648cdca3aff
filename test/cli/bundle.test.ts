/**
 * The CLI as it ships: `node bin/imgdigest.js` over dist/cli-bundle/ (esbuild, split at each
 * dynamic import), run as a process of its own. Every other CLI test runs src/ in-process, so a
 * module the bundle loses (a dynamic import that drops a named export, a package esbuild resolves
 * to another entry point) would pass them all. Here one real command of every entry of the
 * command list runs against the real CNCF registry (htpasswd, credentials from a docker config) or
 * files: the test enumerates that list, so a new command without a check here fails it. Expected
 * digests are computed from the pushed bytes. The bundle is not built here: a missing or stale one
 * fails with what to run (.ci/run builds before testing).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addImage,
  buildSampleImages,
  buildSampleSbom,
  createImageSet,
  type SampleImages,
  writeOciLayout,
} from '../../src/builder/index.js';
import { commands } from '../../src/cli/commands/index.js';
import { startPodmanService } from '../local-sources/podman.js';
import { repoRoot, staleBundle } from '../support/build.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { pushWithClient } from '../support/images.js';
import { sha256 } from '../support/sha256.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const BIN = join(repoRoot, 'bin', 'imgdigest.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a crash or an unexpected error would print, and a one-line report never does. */
function expectNoStackTrace(r: Run, what = ''): void {
  expect(r.stderr, what).not.toMatch(/^\s+at .+\d+:\d+\)?$/m);
  expect(r.stderr, what).not.toContain('internal error');
}

describe.skipIf(!haveTools('docker-registry', 'htpasswd', 'podman', 'bash'))(
  'the bundled CLI (bin/imgdigest.js)',
  () => {
    let registry: Distribution;
    let sample: SampleImages;
    let sbomDigest: string;
    let work: string;
    /** HOME and DOCKER_CONFIG of every run: the registry's credentials, nothing of the machine's. */
    let env: NodeJS.ProcessEnv;
    const children = new Set<ChildProcess>();
    /** Every finished run, for the last test: none printed a stack trace. */
    const runs: Array<{ args: string[]; run: Run }> = [];

    /** `imgdigest ARGS` to its end. */
    function imgdigest(
      args: string[],
      options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
    ): Promise<Run> {
      const { child, done } = launch(args, options);
      child.stdin!.end(options.stdin ?? '');
      return done;
    }

    function launch(args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: work,
        env: options.env ?? env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      const done = new Promise<Run>((resolve) =>
        child.once('close', (code) => {
          children.delete(child);
          const run = { code, stdout, stderr };
          runs.push({ args, run });
          resolve(run);
        }),
      );
      return { child, done, output: () => ({ stdout, stderr }) };
    }

    /** Start a serving command, wait for `ready` on stderr; `stop()` sends SIGTERM and returns its run. */
    async function serve(
      args: string[],
      ready: RegExp,
    ): Promise<{ match: RegExpExecArray; stop(): Promise<Run> }> {
      const { child, done, output } = launch(args);
      child.stdin!.end();
      const match = await new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${ready} from ${args.join(' ')}: ${output().stderr}`)),
          20_000,
        );
        const look = () => {
          const m = ready.exec(output().stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
        child.stderr!.on('data', look);
        done.then((r) => {
          clearTimeout(timer);
          reject(new Error(`${args.join(' ')} exited with ${r.code}: ${r.stderr}`));
        });
      });
      return {
        match,
        stop: () => {
          child.kill('SIGTERM');
          return done;
        },
      };
    }

    const ref = (tag = '1.0', repo = 'sample/app') => `${registry.host}/${repo}:${tag}`;
    const indexDigest = () => sha256(sample.index.bytes);
    const amd64 = () => sample.images[0]!;
    /** A Deployment that names `image`, as a manifest file in a folder of its own. */
    async function manifestFile(name: string, image: string): Promise<string> {
      const dir = join(work, name);
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'deploy.yaml');
      await writeFile(
        file,
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          '  name: web',
          'spec:',
          '  selector: {matchLabels: {app: web}}',
          '  template:',
          '    metadata: {labels: {app: web}}',
          '    spec:',
          '      containers:',
          '        - name: web',
          `          image: ${image}`,
          '',
        ].join('\n'),
      );
      return file;
    }

    beforeAll(async () => {
      const stale = await staleBundle();
      if (stale) throw new Error(stale);
      registry = await startDistribution({ auth: 'htpasswd', proxy: false });
      sample = await buildSampleImages('sample');
      const sbom = buildSampleSbom(sample.images[0]!.manifest, 'sample');
      sbomDigest = sha256(sbom.manifest.bytes);
      const withSbom = createImageSet();
      addImage(withSbom, sbom);
      await Promise.all([
        pushWithClient(registry.host, 'sample/app', sample, registry.credentials),
        pushWithClient(registry.host, 'doomed/app', sample, registry.credentials),
      ]);
      await pushWithClient(registry.host, 'sample/app', withSbom, registry.credentials);
      work = await tempDir('bundle');
      const home = await tempDir('bundle-home');
      const dockerConfig = join(home, '.docker');
      await mkdir(dockerConfig);
      const auth = Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString(
        'base64',
      );
      await writeFile(
        join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [registry.host]: { auth } } }),
      );
      env = { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: dockerConfig };
    }, 60_000);
    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL');
      await registry?.stop();
      await cleanupTempDirs();
    });

    /** One check per entry of the command list (keyed by its name). */
    const checks: Record<string, () => Promise<void>> = {
      async digest() {
        const r = await imgdigest(['digest', ref(), ref('single')]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(
          `${ref()} ${indexDigest()}\n${ref('single')} ${sha256(sample.single.manifest.bytes)}\n`,
        );
        // And a local source: an OCI layout written by the builder.
        const layout = join(work, 'layout');
        await writeOciLayout(layout, sample);
        const local = await imgdigest(['digest', `oci:${layout}:1.0`]);
        expect(local.code, local.stderr).toBe(0);
        expect(local.stdout).toBe(`${indexDigest()}\n`);
      },
      async ref() {
        const r = await imgdigest(['ref', 'alpine']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe('docker.io/library/alpine\n');
      },
      async manifest() {
        const r = await imgdigest(['manifest', ref()]);
        expect(r.code, r.stderr).toBe(0);
        expect(sha256(r.stdout)).toBe(indexDigest());
      },
      async index() {
        const r = await imgdigest(['index', ref()]);
        expect(r.code, r.stderr).toBe(0);
        for (const image of sample.images) {
          expect(r.stdout).toContain(image.platformName);
          expect(r.stdout).toContain(sha256(image.manifest.bytes));
        }
      },
      async config() {
        const r = await imgdigest(['config', '--platform', 'linux/amd64', ref()]);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual(JSON.parse(Buffer.from(amd64().config.bytes).toString('utf8')));
      },
      async blob() {
        const layer = amd64().layers.at(-1)!;
        const out = join(work, 'layer.tar.gz');
        const r = await imgdigest(['blob', `${registry.host}/sample/app@${sha256(layer.bytes)}`, '-o', out]);
        expect(r.code, r.stderr).toBe(0);
        expect(sha256(await readFile(out))).toBe(sha256(layer.bytes));
      },
      async files() {
        const r = await imgdigest(['files', '--platform', 'linux/arm64', ref()]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('app/hello.txt');
        expect(r.stdout).toContain('etc/os-release');
      },
      async tags() {
        const r = await imgdigest(['tags', `${registry.host}/sample/app`]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['1.0', 'latest', 'single']));
      },
      async catalog() {
        const r = await imgdigest(['catalog', registry.host]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['sample/app', 'doomed/app']));
      },
      async inspect() {
        const r = await imgdigest(['inspect', ref()]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(indexDigest());
        expect(r.stdout).toContain('linux/arm/v7');
      },
      async referrers() {
        const r = await imgdigest([
          'referrers',
          `${registry.host}/sample/app@${sha256(amd64().manifest.bytes)}`,
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(sbomDigest);
      },
      async ratelimit() {
        const r = await imgdigest(['ratelimit', ref()]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`no rate limit reported by ${registry.host}\n`);
      },
      async images() {
        const podman = await startPodmanService();
        try {
          const { username, password } = registry.credentials;
          podman.podman('pull', '-q', '--tls-verify=false', `--creds=${username}:${password}`, ref());
          const r = await imgdigest(['images', '--json', '--docker-host', podman.dockerHost]);
          expect(r.code, r.stderr).toBe(0);
          const rows = JSON.parse(r.stdout) as Array<{ repository: string; tag: string; digest: string }>;
          expect(rows).toContainEqual(
            expect.objectContaining({
              repository: `${registry.host}/sample/app`,
              tag: '1.0',
              digest: indexDigest(),
            }),
          );
        } finally {
          await podman.stop();
        }
      },
      async explore() {
        const server = await serve(
          ['explore', '--addr', '127.0.0.1:0', '--registry', registry.host],
          /open (http:\/\/127\.0\.0\.1:\d+)\S*/,
        );
        const res = await request(`${server.match[1]}/`);
        const page = await res.body.text();
        const r = await server.stop();
        expect(res.statusCode).toBe(200);
        expect(page).toMatch(/<html/i);
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r);
      },
      async tag() {
        const r = await imgdigest(['tag', ref(), 'retagged']);
        expect(r.code, r.stderr).toBe(0);
        expect((await imgdigest(['digest', ref('retagged')])).stdout).toBe(`${indexDigest()}\n`);
      },
      async delete() {
        const single = sha256(sample.single.manifest.bytes);
        const r = await imgdigest(['delete', '--yes', `${registry.host}/doomed/app@${single}`]);
        expect(r.code, r.stderr).toBe(0);
        const gone = await imgdigest(['digest', ref('single', 'doomed/app')]);
        expect(gone.code).toBe(3);
        expect(gone.stderr.trim().split('\n')).toHaveLength(1);
      },
      async login() {
        const config = await tempDir('bundle-login');
        const own = { ...env, DOCKER_CONFIG: config };
        const r = await imgdigest(
          ['login', registry.host, '-u', registry.credentials.username, '--password-stdin'],
          {
            stdin: `${registry.credentials.password}\n`,
            env: own,
          },
        );
        expect(r.code, r.stderr).toBe(0);
        const saved = JSON.parse(await readFile(join(config, 'config.json'), 'utf8'));
        const { username, password } = registry.credentials;
        expect(saved.auths[registry.host].auth).toBe(
          Buffer.from(`${username}:${password}`).toString('base64'),
        );
        const refused = await imgdigest(['login', registry.host, '-u', username, '--password-stdin'], {
          stdin: 'wrong\n',
          env: { ...env, DOCKER_CONFIG: await tempDir('bundle-login-refused') },
        });
        expect(refused.code).toBe(3);
        expect(refused.stderr.trim().split('\n')).toHaveLength(1);
        expectNoStackTrace(refused);
      },
      async logout() {
        const config = await tempDir('bundle-logout');
        await writeFile(join(config, 'config.json'), await readFile(join(env.DOCKER_CONFIG!, 'config.json')));
        const r = await imgdigest(['logout', registry.host], { env: { ...env, DOCKER_CONFIG: config } });
        expect(r.code, r.stderr).toBe(0);
        const saved = JSON.parse(await readFile(join(config, 'config.json'), 'utf8'));
        expect(saved.auths?.[registry.host]).toBeUndefined();
      },
      async copy() {
        const r = await imgdigest(['copy', ref(), ref('1.0', 'copied/app')]);
        expect(r.code, r.stderr).toBe(0);
        expect((await imgdigest(['digest', ref('1.0', 'copied/app')])).stdout).toBe(`${indexDigest()}\n`);
      },
      async mirror() {
        const file = join(work, 'mirror.yaml');
        await writeFile(
          file,
          'apiVersion: imgdigest.dev/v1alpha1\nkind: ImageMirror\nmirrors:\n' +
            `  - from: ${registry.host}/sample/app\n    to: ${registry.host}/mirrored/app\n    tags: ["1.*"]\n`,
        );
        const r = await imgdigest(['mirror', file]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`${registry.host}/mirrored/app:1.0@${indexDigest()}`);
        // A mistake in the file is one line naming it, exit 2.
        await writeFile(file, 'apiVersion: imgdigest.dev/v1alpha1\nkind: Mirror\n');
        const bad = await imgdigest(['mirror', file]);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/^imgdigest: .*mirror\.yaml:2: /);
        expectNoStackTrace(bad);
      },
      async check() {
        const file = await manifestFile('check', ref());
        const r = await imgdigest(['check', '-f', file]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stdout).toContain(ref());
      },
      async pin() {
        const file = await manifestFile('pin', ref());
        const lock = join(work, 'pin', 'images.lock.yaml');
        const r = await imgdigest(['pin', '-f', file, '--write', '--lock-file', lock]);
        expect(r.code, r.stderr).toBe(0);
        expect(await readFile(file, 'utf8')).toContain(`image: ${ref()}@${indexDigest()}`);
        expect(await readFile(lock, 'utf8')).toContain(indexDigest());
        const checked = await imgdigest(['check', '-f', file]);
        expect(checked.code, checked.stdout).toBe(0);
      },
      async relocate() {
        const file = await manifestFile('relocate', ref());
        const r = await imgdigest(['relocate', '-f', file, '--to', `${registry.host}/relocated`]);
        expect(r.code, r.stderr).toBe(0);
        const moved = `${registry.host}/relocated/sample/app:1.0`;
        expect(r.stdout).toContain(`image: ${moved}@${indexDigest()}`);
        expect((await imgdigest(['digest', moved])).stdout).toBe(`${indexDigest()}\n`);
      },
      async outdated() {
        const stale = sha256(sample.single.manifest.bytes);
        const file = await manifestFile('outdated', `${ref()}@${stale}`);
        const r = await imgdigest(['outdated', '-f', file]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stdout).toContain(indexDigest());
      },
      async krm() {
        const list = {
          apiVersion: 'config.kubernetes.io/v1',
          kind: 'ResourceList',
          items: [
            {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: 'p' },
              spec: { containers: [{ name: 'app', image: ref() }] },
            },
          ],
        };
        const r = await imgdigest(['krm', 'pin'], { stdin: JSON.stringify(list) });
        expect(r.code, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.kind).toBe('ResourceList');
        expect(out.items[0].spec.containers[0].image).toBe(`${ref()}@${indexDigest()}`);
      },
      async policy() {
        const r = await imgdigest(['policy', 'export', '--kyverno']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('kind: ClusterPolicy');
      },
      async webhook() {
        const dir = join(work, 'webhook');
        const certs = await imgdigest([
          'webhook',
          'certs',
          '--service',
          'hook',
          '--namespace',
          'ns',
          '--out',
          dir,
          '--extra-name',
          '127.0.0.1',
        ]);
        expect(certs.code, certs.stderr).toBe(0);
        const server = await serve(
          ['webhook', 'serve', '--addr=127.0.0.1:0', `--tls-cert=${dir}/tls.crt`, `--tls-key=${dir}/tls.key`],
          /listening on (https:\/\/\S+)/,
        );
        const agent = new Agent({ connect: { ca: await readFile(join(dir, 'ca.crt'), 'utf8') } });
        const res = await request(`${server.match[1]}/healthz`, { dispatcher: agent });
        await res.body.text();
        await agent.close();
        const r = await server.stop();
        expect(res.statusCode).toBe(200);
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r);
      },
      async registry() {
        const server = await serve(
          ['registry', 'serve', '--addr', '127.0.0.1:0', '--memory'],
          /listening on http:\/\/(127\.0\.0\.1:\d+)/,
        );
        const host = server.match[1]!;
        await pushWithClient(host, 'pushed/app', sample);
        const res = await request(`http://${host}/v2/pushed/app/manifests/1.0`, {
          headers: { accept: sample.index.mediaType },
        });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        const r = await server.stop();
        expect(res.statusCode).toBe(200);
        expect(sha256(bytes)).toBe(indexDigest());
        expect(r.code, r.stderr).toBe(0);
        expectNoStackTrace(r);
      },
      async demo() {
        const dir = join(work, 'demo');
        const r = await imgdigest(['demo', '--manifests', dir, '--registry', registry.host]);
        expect(r.code, r.stderr).toBe(0);
        const first = r.stdout.trim().split('\n')[0]!;
        expect(first.startsWith(dir)).toBe(true);
        expect(await readFile(first, 'utf8')).toContain(`image: ${registry.host}/`);
      },
      async completion() {
        const r = await imgdigest(['completion', 'bash']);
        expect(r.code, r.stderr).toBe(0);
        // bash itself reads the script and registers the completion.
        const registered = execFileSync('bash', ['-c', `${r.stdout}\ncomplete -p imgdigest`], {
          encoding: 'utf8',
        });
        expect(registered).toMatch(/ imgdigest$/m);
      },
      async version() {
        const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
        const r = await imgdigest(['version']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(pkg.version);
      },
    };

    it('has a check for every command of the command list', () => {
      expect(Object.keys(checks).sort()).toEqual(commands.map((c) => c.name).sort());
    });

    describe.concurrent('runs', () => {
      for (const { name } of commands) {
        it(`${name}`, async () => {
          const check = checks[name];
          if (!check)
            throw new Error(`no bundle check for the command ${name}: add one to test/cli/bundle.test.ts`);
          await check();
        }, 60_000);
      }
    });

    it('no run printed a stack trace or an internal error', () => {
      expect(runs.length).toBeGreaterThan(commands.length);
      for (const { args, run } of runs) {
        expect(run.stderr, args.join(' ')).not.toMatch(/^\s+at .+\d+:\d+\)?$/m);
        expect(run.stderr, args.join(' ')).not.toContain('internal error');
      }
    });

    it('a bad reference is one line, exit 2, no stack trace', async () => {
      const r = await imgdigest(['digest', 'UPPER/Case::bad']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expectNoStackTrace(r);
    });
  },
);
