/**
 * @module test/support/registry-pairs
 * Two registries and a working folder for the tests of the commands that copy between registries
 * (mirror, relocate): the embedded registry with the demo images as source and an empty one whose
 * access log the test reads ({@link startEmbeddedPair}), or two CNCF registries, the first seeded
 * by skopeo ({@link startCncfPair}). The CLI runs in-process in the working folder with no
 * credentials and a cache folder of its own (upload state of resumable copies). skopeo reads back
 * what was written ({@link skopeoSees}).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { type CliResult, runCli } from './cli.js';
import { type Distribution, startDistribution } from './distribution.js';
import { type SeededImages, seedRegistry } from './images.js';
import { sha256 } from './sha256.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** An access-log line (or `METHOD ` of a logged request) that writes to the registry. */
export const WRITES = /^(PUT|POST|PATCH|DELETE) /;

/**
 * What skopeo finds at `ref` (with its transport: `docker://HOST/REPO:TAG`, `oci:DIR:TAG`): the
 * digest of the raw manifest bytes and the digest it reports.
 */
export async function skopeoSees(ref: string): Promise<{ raw: string; digest: string }> {
  const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', ref], { encoding: 'buffer' });
  const digest = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', ref]);
  return { raw: sha256(raw.stdout), digest: digest.stdout.trim() };
}

interface Workspace {
  /** The folder the CLI runs in. */
  readonly work: string;
  /** Run `imgdigest ARGS` in {@link work}, without credentials, with its own cache folder. */
  cli(args: string[], stdin?: string): Promise<CliResult>;
  /** Write `text` to `name` in {@link work}; returns `name`. */
  file(name: string, text: string): Promise<string>;
}

async function workspace(name: string, before?: () => void): Promise<Workspace> {
  const work = await tempDir(name);
  const cache = await tempDir(`${name}-cache`);
  const env = { ...process.env, DOCKER_CONFIG: '/nonexistent-imgdigest-test', XDG_CACHE_HOME: cache };
  return {
    work,
    cli(args, stdin) {
      before?.();
      return runCli(args, { env, cwd: work, ...(stdin !== undefined ? { stdin } : {}) });
    },
    async file(file, text) {
      await writeFile(join(work, file), text);
      return file;
    },
  };
}

export interface EmbeddedPair extends Workspace {
  /** The embedded registry with the demo images (`registry serve --demo`). */
  readonly src: RunningRegistry;
  /** An empty embedded registry; what it is asked is in {@link logged}. */
  readonly dst: RunningRegistry;
  /** The access log of {@link dst} since the last {@link cli} run started (each run clears it). */
  readonly logged: string[];
  /** The lines of {@link logged} that write. */
  writes(): string[];
  /** The digest of a demo image, as the source registry loaded it. */
  demo(repository: string, tag: string): string;
  close(): Promise<void>;
}

/** The demo registry and an empty one with an access log; `close()` in `afterAll`. */
export async function startEmbeddedPair(name: string): Promise<EmbeddedPair> {
  const logged: string[] = [];
  const [src, dst] = await Promise.all([
    startRegistry({ addr: '127.0.0.1:0', memory: true, demo: true }),
    startRegistry({
      addr: '127.0.0.1:0',
      memory: true,
      accessLog: true,
      logger: { info: (m) => logged.push(m), warn() {}, error() {} },
    }),
  ]);
  const ws = await workspace(name, () => {
    logged.length = 0;
  });
  return {
    ...ws,
    src,
    dst,
    logged,
    writes: () => logged.filter((l) => WRITES.test(l)),
    demo(repository, tag) {
      const image = src.loaded.find((i) => i.repository === repository && i.tag === tag);
      if (!image) throw new Error(`no demo image ${repository}:${tag}`);
      return image.digest;
    },
    async close() {
      await Promise.all([src.close(), dst.close()]);
    },
  };
}

export interface CncfPair extends Workspace {
  /** A CNCF registry seeded with test/support/images.ts's images. */
  readonly a: Distribution;
  /** An empty CNCF registry (its counting proxy logs what it is asked). */
  readonly b: Distribution;
  readonly seeded: SeededImages;
  close(): Promise<void>;
}

/** Two CNCF registries, the first seeded; `close()` in `afterAll`. */
export async function startCncfPair(name: string): Promise<CncfPair> {
  const [a, b] = await Promise.all([startDistribution(), startDistribution()]);
  const seeded = await seedRegistry(a);
  return {
    ...(await workspace(name)),
    a,
    b,
    seeded,
    async close() {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}
