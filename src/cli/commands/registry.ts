/**
 * @module cli/commands/registry
 * `imgdigest registry serve`: run the embedded OCI registry until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { collect, wholeNumber } from '../flags.js';
import { untilSignal } from '../signals.js';

interface ServeFlags {
  addr: string;
  root?: string;
  memory?: boolean;
  htpasswd?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowAnonymous?: boolean;
  load: string[];
  demo?: boolean;
  bodyMinRate: number;
  bodyGrace: number;
  maxUnauthenticated: number;
  authMaxFailures: number;
  authFailureWindow: number;
  maxUploads: number;
  maxUploadsPerClient: number;
  uploadIdle: number;
}

/** A commander parser for a whole-number flag of at least `min`. */
const number = (flag: string, min: number) => (value: string) => wholeNumber(value, flag, min);

export function registerRegistry(program: Command, ctx: CliContext): void {
  const registry = program
    .command('registry')
    .description('run an OCI registry (pull, push, tags, referrers)');
  registry
    .command('serve')
    .description('serve an OCI Distribution 1.1 registry until SIGINT or SIGTERM')
    .option('--addr <host:port>', 'address to listen on; port 0 picks a free port', '127.0.0.1:5000')
    .option(
      '--root <dir>',
      'storage folder (default $XDG_CACHE_HOME/imgdigest/registry or ~/.cache/imgdigest/registry)',
    )
    .option('--memory', 'keep everything in memory (gone when the registry stops)')
    .option('--htpasswd <file>', 'require HTTP Basic auth with the bcrypt entries of this file (htpasswd -B)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (needs --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--allow-anonymous', 'allow a non-loopback --addr without --htpasswd')
    .option('--load <oci:DIR>', 'also serve the images of an OCI layout (repeatable)', collect, [])
    .option('--demo', 'also serve the demo images (sample/app:1.0, :1.1, :latest, :single, sample/worker:2)')
    .option(
      '--body-min-rate <KiB/s>',
      'a request body slower than this over a whole --body-grace window is cut (408); 0: no minimum',
      number('--body-min-rate', 0),
      1,
    )
    .option('--body-grace <seconds>', 'the window of --body-min-rate', number('--body-grace', 1), 60)
    .option(
      '--max-unauthenticated <n>',
      'with --htpasswd, connections without valid credentials yet; a new one closes the oldest',
      number('--max-unauthenticated', 1),
      256,
    )
    .option(
      '--auth-max-failures <n>',
      'failed logins per client address in --auth-failure-window, then 429 with Retry-After',
      number('--auth-max-failures', 1),
      10,
    )
    .option(
      '--auth-failure-window <seconds>',
      'see --auth-max-failures',
      number('--auth-failure-window', 1),
      60,
    )
    .option('--max-uploads <n>', 'open upload sessions in total, then 503', number('--max-uploads', 1), 1000)
    .option(
      '--max-uploads-per-client <n>',
      'open upload sessions per client address, then 429',
      number('--max-uploads-per-client', 1),
      100,
    )
    .option(
      '--upload-idle <seconds>',
      'an upload session unused this long is dropped with its data',
      number('--upload-idle', 1),
      600,
    )
    .addHelpText(
      'after',
      `
Images of --load oci:DIR: an index.json entry whose org.opencontainers.image.ref.name is a full
repo:tag is served as that repository and tag; any other ref.name is a tag of the repository named
after DIR's basename. Every blob is verified against its digest while it is loaded.

--demo serves the demo images (what imgdigest demo and the README use), built in memory, the
same bytes on every run.

Limits against hostile clients (defaults never cut a real client, a 1 GiB push over a slow link
included): a request body must average --body-min-rate KiB/s over each --body-grace window; with
--htpasswd a request without valid credentials is answered 401 before its body is read and its
connection closed, and password guessing is limited per client address. Manifests are accepted
only as OCI or Docker manifest and index types that agree with the document.

Examples:
  $ imgdigest registry serve --addr 127.0.0.1:0 --memory
  imgdigest registry listening on http://127.0.0.1:41234 (memory)
  $ imgdigest registry serve --memory --demo
  imgdigest registry: serving sample/app:1.0@sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16
  imgdigest registry: serving sample/app:1.1@sha256:f8956dd9ac6fd1aeba2cf9f499b515b9b58b19c4a5e309fe09ab5467cccad27a
  imgdigest registry: serving sample/app:latest@sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16
  imgdigest registry: serving sample/app:single@sha256:5d7188d6c967aa300729fad3929f8db8bae5fec3fd76024b0af55f833511d5b3
  imgdigest registry: serving sample/worker:2@sha256:ece31a971c6ed05f0ff084b1a11b61eb9d75f50e9f8aa11f712d0651e742db69
  imgdigest registry listening on http://127.0.0.1:5000 (memory)
  $ imgdigest registry serve --root ./registry-data --load oci:./layout
  imgdigest registry listening on http://127.0.0.1:5000 (root /home/me/registry-data)
  $ htpasswd -Bbn alice secret > users && imgdigest registry serve --addr 0.0.0.0:5000 --htpasswd users`,
    )
    .action(async (flags: ServeFlags) => {
      if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) {
        throw new ImgdigestError('USAGE', '--tls-cert and --tls-key go together');
      }
      if (flags.memory && flags.root)
        throw new ImgdigestError('USAGE', '--memory and --root exclude each other');
      const { startRegistry } = await import('../../registry-server/index.js');
      const { resolve } = await import('node:path');
      // Paths are relative to the CLI's working directory (in-process callers pass their own).
      const path = (p: string | undefined) => (p === undefined ? undefined : resolve(ctx.io.cwd, p));
      const globals = ctx.globals();
      const say = (line: string) => ctx.err(`imgdigest registry: ${line}`);
      const running = await startRegistry({
        addr: flags.addr,
        root: path(flags.root),
        memory: flags.memory,
        htpasswd: path(flags.htpasswd),
        tls:
          flags.tlsCert && flags.tlsKey
            ? { cert: path(flags.tlsCert)!, key: path(flags.tlsKey)! }
            : undefined,
        allowAnonymous: flags.allowAnonymous,
        load: flags.load.map((spec) => (spec.startsWith('oci:') ? `oci:${path(spec.slice(4))}` : spec)),
        demo: flags.demo,
        env: ctx.io.env,
        limits: {
          bodyMinBytesPerSecond: flags.bodyMinRate * 1024,
          bodyGraceMs: flags.bodyGrace * 1000,
          maxUnauthenticatedConnections: flags.maxUnauthenticated,
          authMaxFailures: flags.authMaxFailures,
          authFailureWindowMs: flags.authFailureWindow * 1000,
          maxUploads: flags.maxUploads,
          maxUploadsPerClient: flags.maxUploadsPerClient,
          uploadIdleMs: flags.uploadIdle * 1000,
        },
        accessLog: globals.verbose,
        logger: {
          info: globals.verbose ? say : () => {},
          warn: globals.quiet ? () => {} : say,
          error: say,
        },
      });
      // With --demo the served images are listed (the README names them); otherwise only with -v.
      if (globals.verbose || flags.demo) {
        for (const image of running.loaded) {
          say(`serving ${image.repository}${image.tag ? `:${image.tag}` : ''}@${image.digest}`);
        }
      }
      const where = running.root === 'memory' ? 'memory' : `root ${running.root}`;
      ctx.err(`imgdigest registry listening on ${running.url} (${where})`);
      const signal = await untilSignal();
      if (globals.verbose) say(`${signal}: stopping`);
      await running.close();
    });
}
