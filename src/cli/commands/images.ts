/**
 * @module cli/commands/images
 * `imgdigest images`: the local engine's images with their registry digests, like
 * `docker images --digests` (REPOSITORY TAG DIGEST IMAGE ID CREATED SIZE, one row per recorded
 * digest), over DOCKER_HOST.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { baselineWasmOnly } from '../options.js';
import { humanSize, table } from '../table.js';

interface ImagesFlags {
  json?: boolean;
  dockerHost?: string;
}

/** `2024-01-01T00:00:00Z` -> `3 weeks ago`, as `docker images` shows ages. */
export function ageOf(iso: string | null, now = Date.now()): string {
  if (iso === null) return '<unknown>';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const steps: Array<[number, string]> = [
    [60 * 60 * 24 * 365, 'year'],
    [60 * 60 * 24 * 30, 'month'],
    [60 * 60 * 24 * 7, 'week'],
    [60 * 60 * 24, 'day'],
    [60 * 60, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [unit, name] of steps) {
    const n = Math.floor(seconds / unit);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return 'less than a second ago';
}

export function registerImages(program: Command, ctx: CliContext): void {
  program
    .command('images')
    .description("list the local engine's images with their registry digests (like docker images --digests)")
    .option(
      '--json',
      'print [{repository, tag, digest, kind, id, created, size}] (full IDs, ISO dates, bytes; kind: index, manifest or unknown)',
    )
    .option(
      '--docker-host <url>',
      'the engine to ask: unix:///path or tcp://HOST:PORT (default $DOCKER_HOST, else unix:///var/run/docker.sock)',
    )
    .addHelpText(
      'after',
      `
DIGEST is a registry digest the engine recorded when it pulled or pushed the image for that
repository; <none> means it never did (built or loaded locally). One row per (repository, tag,
digest), as docker images --digests prints them: Podman records both the index digest and the
platform manifest's after pulling a multi-platform tag, so such a tag has two rows (the one the
tag named first). With --json, kind says which digest is the index when the engine tells (Docker's
image descriptor, Podman's pulled digest), else unknown. Works with dockerd and with Podman's API
service (podman system service).

Examples:
  $ imgdigest images
  REPOSITORY                 TAG     DIGEST                                                                   IMAGE ID      CREATED      SIZE
  localhost:5000/sample/app  latest  sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16  d203fa05ac5f  2 years ago  11.0 KiB
  localhost:5000/sample/app  latest  sha256:e889e8f03e8b8b23332712d0f352cc97844df01ba7f31b234354409882674430  d203fa05ac5f  2 years ago  11.0 KiB
  $ DOCKER_HOST=unix:///run/podman/podman.sock imgdigest images --json`,
    )
    .action(async (flags: ImagesFlags) => {
      baselineWasmOnly();
      const { listDaemonImages } = await import('../../sources/local/docker-daemon.js');
      const dockerHost = flags.dockerHost ?? ctx.io.env.DOCKER_HOST;
      const rows = await listDaemonImages(dockerHost ? { dockerHost } : {});
      if (flags.json) {
        ctx.json(rows);
        return;
      }
      const none = '<none>';
      ctx.out(
        table(
          ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'],
          rows.map((r) => [
            r.repository ?? none,
            r.tag ?? none,
            r.digest ?? none,
            r.id.replace(/^sha256:/, '').slice(0, 12),
            ageOf(r.created),
            r.size === null ? none : humanSize(r.size),
          ]),
        ),
      );
    });
}
