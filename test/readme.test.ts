/**
 * README.md is executed: every ```console block runs, in README order, in one bash session and one
 * work folder, against the demo registry the README itself starts (`imgdigest registry serve
 * --demo`), and each command's output must be what README.md shows, up to the masks of
 * `test/support/readme.ts` (times, durations, loopback ports; nothing else).
 *
 * `imgdigest` on PATH is this worktree's CLI (bin/imgdigest.js over dist/, rebuilt first when
 * src/ is newer). HOME, DOCKER_CONFIG, the XDG folders, kubectl's config and podman's storage are
 * the test's own, so the README's commands stay as a user types them and touch nothing else.
 *
 * README_UPDATE=1 npx vitest run test/readme.test.ts rewrites the outputs in README.md from the
 * real run (commands and prose stay; an output whose masked lines agree is left as written).
 * README_TIMES=1 prints each command's time on stderr (the whole file should take well under a
 * minute on an idle machine).
 */
import { chmodSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/build.js';
import {
  MASKS,
  mask,
  PortMap,
  parseConsoleBlocks,
  rewriteOutputs,
  ShellSession,
  type Step,
  unifiedDiff,
  waitForLines,
} from './support/readme.js';
import { cleanupTempDirs, tempDir } from './support/tmp.js';
import { haveTools } from './support/tools.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README = join(root, 'README.md');
const UPDATE = process.env.README_UPDATE === '1';
/**
 * The fixed ports the README's commands name: the demo registry, the registry with Basic auth, the
 * webhook, and the "air-gapped" registry that copy, relocate and mirror write to.
 */
const README_PORTS = [5000, 5001, 8443, 5002];
const TOOLS = ['skopeo', 'podman', 'kpt', 'kubectl', 'curl', 'jq', 'htpasswd', 'sha256sum', 'base64'];

/** HOME, XDG folders, docker and podman configuration of the test's own, and the `imgdigest` shim. */
async function environment(envDir: string): Promise<NodeJS.ProcessEnv> {
  const dirs = {
    bin: join(envDir, 'bin'),
    home: join(envDir, 'home'),
    config: join(envDir, 'config'),
    cache: join(envDir, 'cache'),
    data: join(envDir, 'data'),
    runtime: join(envDir, 'runtime'),
    docker: join(envDir, 'docker'),
    podman: join(envDir, 'podman'),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const shim = join(dirs.bin, 'imgdigest');
  await writeFile(
    shim,
    `#!/bin/sh\nexec '${process.execPath}' '${join(root, 'bin', 'imgdigest.js')}' "$@"\n`,
  );
  chmodSync(shim, 0o755);
  // podman and skopeo: vfs storage in the test's folder, no cgroups, events to a file.
  const storage = join(dirs.podman, 'storage.conf');
  await writeFile(
    storage,
    `[storage]\ndriver = "vfs"\ngraphroot = "${join(dirs.podman, 'graph')}"\nrunroot = "${join(dirs.podman, 'run')}"\n`,
  );
  const containers = join(dirs.podman, 'containers.conf');
  await writeFile(
    containers,
    `[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\ntmp_dir = "${join(dirs.podman, 'tmp')}"\n`,
  );
  // An empty docker config (podman refuses a DOCKER_CONFIG folder without one).
  await writeFile(join(dirs.docker, 'config.json'), '{"auths":{}}\n');
  const registries = join(dirs.podman, 'registries.conf');
  await writeFile(registries, 'unqualified-search-registries = []\n');
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'LANG', 'LC_ALL', 'CI', 'TMPDIR', 'USER', 'LOGNAME']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return {
    ...env,
    PATH: `${dirs.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_CACHE_HOME: dirs.cache,
    XDG_DATA_HOME: dirs.data,
    XDG_RUNTIME_DIR: dirs.runtime,
    DOCKER_CONFIG: dirs.docker,
    KUBECONFIG: join(dirs.home, 'kubeconfig'),
    CONTAINERS_STORAGE_CONF: storage,
    CONTAINERS_CONF: containers,
    CONTAINERS_REGISTRIES_CONF: registries,
    TZ: 'UTC',
    NO_COLOR: '1',
    TERM: 'dumb',
  };
}

describe.skipIf(!haveTools(...TOOLS))('README.md', () => {
  let session: ShellSession | undefined;
  let envDir: string;
  let work: string;
  let ports: PortMap;

  beforeAll(async () => {
    await ensureBuilt();
    work = await tempDir('readme');
    envDir = await tempDir('readme-env');
    ports = await PortMap.allocate(README_PORTS);
    session = new ShellSession({ cwd: work, env: await environment(envDir) });
  }, 180_000);

  afterAll(async () => {
    await session?.close();
    await cleanupTempDirs();
  });

  it('shows no elided output: every console line is real', async () => {
    const blocks = parseConsoleBlocks(await readFile(README, 'utf8'));
    expect(blocks.length).toBeGreaterThan(20);
    const elided = blocks.flatMap((b) =>
      b.steps.flatMap((s) =>
        s.expected.filter((l) => l.includes('…')).map((l) => `README.md:${s.line}: ${l}`),
      ),
    );
    expect(elided).toEqual([]);
  });

  it('runs every console block in order and prints what README.md shows', async () => {
    const markdown = await readFile(README, 'utf8');
    const steps: Step[] = parseConsoleBlocks(markdown).flatMap((b) => b.steps);
    const failures: string[] = [];
    const updates: Array<{ step: Step; lines: string[] }> = [];
    let job = 0;
    for (const step of steps) {
      const command = ports.command(step.command);
      let actual: string[];
      const began = Date.now();
      try {
        if (step.background) {
          const log = join(envDir, `job-${++job}.log`);
          const pgid = await session!.start(command, log);
          actual = await waitForLines(log, pgid, step.expected.length, {
            timeoutMs: 30_000,
            ...(UPDATE ? { settleMs: 1500 } : {}),
          });
        } else {
          actual = (await session!.run(command, 120_000)).lines;
        }
      } catch (error) {
        failures.push(`README.md:${step.line}: $ ${step.command}\n${(error as Error).message}`);
        break; // the session's state is unknown now
      }
      if (process.env.README_TIMES)
        process.stderr.write(`${Date.now() - began}ms ${step.command.split('\n')[0]}\n`);
      actual = actual.map((l) => ports.output(l));
      const same =
        actual.length === step.expected.length && actual.every((l, i) => mask(l) === mask(step.expected[i]!));
      if (!same) {
        failures.push(
          `README.md:${step.line}: $ ${step.command}\n${unifiedDiff(step.expected.map(mask), actual.map(mask))}`,
        );
        updates.push({ step, lines: actual });
      }
    }
    await session!.close();
    session = undefined;
    if (UPDATE && updates.length > 0) {
      await writeFile(README, rewriteOutputs(markdown, updates));
      process.stderr.write(`README_UPDATE: rewrote ${updates.length} output(s) in README.md\n`);
    }
    const header = [
      `${failures.length} command(s) of README.md print something else (README "-", real run "+", masked: ${MASKS.map((m) => m.name).join('; ')}).`,
      `Ports: ${ports.entries.map(([a, b]) => `${a} -> ${b}`).join(', ')}. To take the real outputs: README_UPDATE=1 npx vitest run test/readme.test.ts`,
    ].join('\n');
    if (failures.length > 0 && !(UPDATE && failures.length === updates.length)) {
      throw new Error(`${header}\n\n${failures.join('\n\n')}`);
    }
  }, 300_000);
});
