/**
 * @module cli/copying
 * What `copy`, `relocate` and `mirror` share: their flags (concurrency, chunk size), one registry
 * client and one copier for the whole command, where interrupted uploads keep their place, the
 * progress line, and the summary of what was sent.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../core/errors.js';
import type { Copier, CopyEvent, CopyResult } from '../sources/copy/index.js';
import type { RegistryClient, UploadStateStore } from '../sources/registry/index.js';
import type { ImageSource } from '../sources/source.js';
import type { CliContext } from './context.js';
import { wholeNumber } from './flags.js';
import { type RegistryFlags, registryOptions } from './options.js';
import { humanSize } from './table.js';

export interface CopyFlags extends RegistryFlags {
  concurrency: string;
  chunkSize: string;
  chunkedAbove: string;
}

/** `--concurrency`, `--chunk-size` and `--chunked-above`. */
export function addCopyOptions(cmd: Command): Command {
  return cmd
    .option(
      '--concurrency <n>',
      'requests in flight per registry (at least 2; blob copies are half of it)',
      '8',
    )
    .option(
      '--chunked-above <size>',
      'upload blobs larger than this in chunks, which an interrupted copy resumes (off: never)',
      '64MiB',
    )
    .option('--chunk-size <size>', 'bytes per chunk of a chunked upload', '16MiB');
}

/** `16MiB`, `512KiB`, `1GiB`, `1048576` -> bytes (at least 1 KiB). */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(value.trim());
  const unit = (m?.[2] ?? 'B').toLowerCase();
  const factor = unit.startsWith('k')
    ? 1024
    : unit.startsWith('m')
      ? 1024 ** 2
      : unit.startsWith('g')
        ? 1024 ** 3
        : 1;
  const n = m ? Number(m[1]) * factor : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1024) {
    throw new ImgdigestError(
      'USAGE',
      `${flag} must be a size of at least 1KiB (such as 16MiB), got "${value}"`,
    );
  }
  return n;
}

/** Where chunked uploads record their place: `$XDG_CACHE_HOME/imgdigest/uploads` (or `~/.cache/...`). */
export function uploadStateDir(env: NodeJS.ProcessEnv): string {
  const cache = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(cache, 'imgdigest', 'uploads');
}

/** What a copying command works with: one client, one copier, the upload settings. */
export interface CopyKit {
  client: RegistryClient;
  /** `--concurrency`: requests in flight per registry. */
  concurrency: number;
  copier: Copier;
  /** Upload settings for registry destinations. */
  upload: { chunkSize: number; chunkedAbove?: number; state: UploadStateStore };
  /** A registry reference through the shared client, or a local source. */
  openSource(input: string): Promise<ImageSource>;
  close(): Promise<void>;
}

export async function copyKit(flags: CopyFlags, ctx: CliContext): Promise<CopyKit> {
  const concurrency = wholeNumber(flags.concurrency, '--concurrency', 2);
  const chunkSize = parseSize(flags.chunkSize, '--chunk-size');
  const chunkedAbove =
    flags.chunkedAbove === 'off' ? undefined : parseSize(flags.chunkedAbove, '--chunked-above');
  const { RegistryClient, directoryStateStore } = await import('../sources/registry/index.js');
  const { Copier } = await import('../sources/copy/index.js');
  const { openSource, parseSourceSpec } = await import('../sources/open.js');
  const client = new RegistryClient({ ...(await registryOptions(flags, ctx)), concurrency });
  return {
    client,
    concurrency,
    copier: new Copier({ concurrency }),
    upload: {
      chunkSize,
      ...(chunkedAbove !== undefined ? { chunkedAbove } : {}),
      state: directoryStateStore(uploadStateDir(ctx.io.env)),
    },
    async openSource(input) {
      const spec = parseSourceSpec(input);
      if (spec.transport === 'registry') return client.openSource(spec.reference);
      return openSource(input, {
        cwd: ctx.io.cwd,
        ...(ctx.io.env.DOCKER_HOST ? { dockerHost: ctx.io.env.DOCKER_HOST } : {}),
      });
    },
    close: () => client.close(),
  };
}

/**
 * A progress line on stderr while blobs move (a terminal only, not with --quiet): blobs done and
 * bytes, redrawn at most ten times a second. `finish()` clears it.
 */
export function copyProgress(
  ctx: CliContext,
  label: string,
): { onEvent(event: CopyEvent): void; finish(): void } {
  const stderr = ctx.io.stderr;
  if (!stderr.isTTY || ctx.globals().quiet) return { onEvent() {}, finish() {} };
  const done = new Map<string, number>();
  const sizes = new Map<string, number>();
  let blobs = 0;
  let finished = 0;
  let last = 0;
  let drawn = false;
  const draw = () => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    let have = 0;
    let total = 0;
    for (const [digest, size] of sizes) {
      total += size;
      have += Math.min(size, done.get(digest) ?? 0);
    }
    const pct = total > 0 ? ` (${Math.floor((have / total) * 100)}%)` : '';
    stderr.write(
      `\r\x1b[K${label}: ${finished}/${blobs} blobs, ${humanSize(have)} / ${humanSize(total)}${pct}`,
    );
    drawn = true;
  };
  return {
    onEvent(event) {
      if (event.type === 'plan') {
        blobs += event.plan.blobs.length;
        for (const b of event.plan.blobs) sizes.set(b.digest, b.size);
      } else if (event.type === 'blob-progress') done.set(event.digest, event.done);
      else if (event.type === 'blob') {
        finished++;
        done.set(event.descriptor.digest, event.descriptor.size);
      } else return;
      draw();
    },
    finish() {
      if (drawn) stderr.write('\r\x1b[K');
    },
  };
}

/** `3 blobs sent (1.2 KiB), 1 mounted, 2 already there; 2 manifests written, 0 already there`. */
export function copySummary(results: readonly CopyResult[], dryRun: boolean): string {
  const sum = (f: (r: CopyResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const sent = sum((r) => r.blobs.sent);
  const bytes = sum((r) => r.blobs.bytesSent);
  const mounted = sum((r) => r.blobs.mounted);
  const existing = sum((r) => r.blobs.existing);
  const written = sum((r) => r.manifests.written);
  const there = sum((r) => r.manifests.existing);
  const [send, mount, write] = dryRun ? ['to send', 'to mount', 'to write'] : ['sent', 'mounted', 'written'];
  return `${sent} blob(s) ${send} (${humanSize(bytes)}), ${mounted} ${mount}, ${existing} already there; ${written} manifest(s) ${write}, ${there} already there`;
}
