/**
 * @module cli/commands/relocate
 * `imgdigest relocate -f PATH... --to REGISTRY[/PREFIX]`: copy every image the manifests use into
 * another registry by digest and rewrite the manifests to the new place (kbld relocate; the
 * air-gapped workflow). The Kubernetes side (k8s/relocate.ts) is handed the copy engine here.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { FileChange } from '../../core/write.js';
import type { RelocateResult } from '../../k8s/relocate.js';
import type { CopyResult } from '../../sources/copy/index.js';
import type { CliContext } from '../context.js';
import { addCopyOptions, type CopyFlags, copyKit, copyProgress, copySummary } from '../copying.js';
import {
  addFileOptions,
  addRuleOptions,
  type FileOptions,
  pathsFromOptions,
  type RuleOptions,
  readManifests,
  rulesFromOptions,
} from '../flags.js';
import { addRegistryOptions } from '../options.js';

interface RelocateFlags extends RuleOptions, FileOptions, CopyFlags {
  to?: string;
  write?: boolean;
  diff?: boolean;
  json?: boolean;
  dryRun?: boolean;
  referrers?: boolean;
  lockFile?: string;
}

export function registerRelocate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('relocate')
    .description(
      'copy every image of Kubernetes manifests to another registry and rewrite them to it, by digest',
    );
  addFileOptions(cmd);
  cmd.option(
    '--to <registry[/prefix]>',
    'where the images go: each keeps its repository path under it (localhost:5001/mirror)',
  );
  addRuleOptions(cmd)
    .option('--drop-tag', 'write REGISTRY/PREFIX/PATH@digest instead of …:tag@digest')
    .option(
      '-p, --platform <os/arch[/variant]>',
      'copy and name only this platform manifest of each index (its digest as the index lists it)',
    )
    .option('--referrers', 'copy the referrers too (signatures, SBOMs, attestations)')
    .option('-w, --write', 'rewrite the files in place (atomically, mode kept)')
    .option('--diff', 'print a unified diff instead of the files (with --write: write and print the diff)')
    .option('--json', 'print a JSON record of the relocation instead of the files')
    .option('--dry-run', 'copy nothing and write nothing; say what would be sent and changed')
    .option(
      '--lock-file <file>',
      'record each image, its digest and where it went (relocatedTo) in this ImageLock',
    );
  addCopyOptions(cmd);
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
HOST/PATH:TAG moves to REGISTRY/PREFIX/PATH:TAG@DIGEST: each unique reference is resolved once, the
image is copied by that digest (blobs the target has are skipped, blobs of the same registry
mounted) and tagged there, then the image values are rewritten in place of the old ones, nothing
else in the files changing. Images pinned by digest move too; images already under the target and
exempt images are left alone, so running again on relocated manifests changes nothing.

All or nothing: if any image cannot be resolved or copied, no file and no lock is written and
every failure is listed as FILE:LINE: IMAGE: REASON (exit 3; 2 for invalid YAML or two images that
would share one tag with different digests). Images copied before the failure stay in the target
registry; a run again skips them.

Examples:
  $ imgdigest relocate -f deploy/ --to localhost:5001/airgap --dry-run --diff
  $ imgdigest relocate -f deploy/ --to localhost:5001/airgap --write --lock-file relocated.lock
  $ imgdigest relocate -f deploy/web.yaml --to registry.internal --platform linux/amd64 --json`,
  );
  cmd.action(async (flags: RelocateFlags) => {
    if (!flags.to) throw new ImgdigestError('USAGE', 'relocate needs --to REGISTRY[/PREFIX]');
    if (flags.dryRun && flags.write) {
      throw new ImgdigestError('USAGE', '--dry-run writes nothing; it cannot be combined with --write');
    }
    if (flags.json && flags.diff) {
      throw new ImgdigestError('USAGE', '--json prints the record instead of a diff; use one of them');
    }
    const { parseRelocationTarget } = await import('../../k8s/relocate.js');
    const to = parseRelocationTarget(flags.to);
    const paths = pathsFromOptions(flags);
    const rules = await rulesFromOptions(flags);
    const { files, roots } = await readManifests(ctx, paths, { consequence: ', nothing copied or written' });
    const { formatFailure } = await import('../../k8s/pin.js');
    const { formatRelocationTarget, relocateFiles, relocationError } = await import('../../k8s/relocate.js');
    const { registryDestination } = await import('../../sources/copy/index.js');
    const { openResolver } = await import('../../resolver/open.js');
    const kit = await copyKit(flags, ctx);
    const progress = copyProgress(ctx, 'relocating');
    const copies = new Map<string, CopyResult>();
    let result: RelocateResult;
    try {
      const resolver = await openResolver({ client: kit.client, concurrency: kit.concurrency });
      try {
        result = await relocateFiles(files, {
          rules,
          to,
          resolver,
          transfer: {
            async copy(from, target, options) {
              const copied = await kit.copier.copy(
                kit.client.openSource(from),
                registryDestination(kit.client, target, kit.upload),
                {
                  referrers: flags.referrers,
                  dryRun: flags.dryRun,
                  onEvent: progress.onEvent,
                  signal: options.signal,
                },
              );
              copies.set(target.canonical, copied);
            },
          },
        });
      } finally {
        await resolver.close();
      }
    } finally {
      progress.finish();
      await kit.close();
    }
    const quiet = ctx.globals().quiet;
    if (!quiet) for (const n of result.notes) ctx.err(`imgdigest: note: ${formatFailure(n)}`);
    if (result.failures.length > 0) {
      for (const f of result.failures) ctx.err(formatFailure(f));
      throw relocationError(result.failures);
    }
    await writeOutputs(ctx, flags, result, copies, roots);
    if (!quiet) {
      const dry = flags.dryRun === true;
      for (const r of result.relocations) ctx.err(`${r.from} -> ${r.to}`);
      const changed = result.files.filter((f) => f.changed).length;
      const target = formatRelocationTarget(to);
      const already =
        result.alreadyThere.length > 0
          ? `; ${result.alreadyThere.length} image(s) already under ${target}`
          : '';
      ctx.err(
        `${dry ? 'would relocate' : 'relocated'} ${result.relocations.length} image(s) to ${target}, ` +
          `${dry ? 'would rewrite' : 'rewrote'} ${result.changes.length} in ${changed} file(s)${already}`,
      );
      if (copies.size > 0) ctx.err(copySummary([...copies.values()], dry));
    }
  });
}

async function writeOutputs(
  ctx: CliContext,
  flags: RelocateFlags,
  result: RelocateResult,
  copies: ReadonlyMap<string, CopyResult>,
  roots: readonly string[],
): Promise<void> {
  // The manifests and the lock as one all-or-nothing write (as pin --write does).
  const changes: FileChange[] = [];
  if (flags.write) {
    const { pinnedChanges } = await import('../../k8s/pin.js');
    changes.push(...pinnedChanges(result.files, { cwd: ctx.io.cwd, within: roots }));
  }
  if (flags.lockFile && !flags.dryRun && result.relocations.length > 0) {
    const { relocatedLockText } = await import('../../k8s/lock.js');
    const path = resolve(ctx.io.cwd, flags.lockFile);
    changes.push({
      path,
      data: await relocatedLockText(path, result.relocations, flags.lockFile),
      name: flags.lockFile,
    });
  }
  if (changes.length > 0) {
    const { writeTogether } = await import('../pin-write.js');
    await writeTogether(ctx, changes);
  }
  if (flags.json) {
    ctx.json(relocationRecord(flags, result, copies));
    return;
  }
  if (flags.diff) {
    const { unifiedDiff } = await import('../../k8s/diff.js');
    for (const f of result.files) if (f.changed) ctx.io.stdout.write(unifiedDiff(f.path, f.original, f.text));
    return;
  }
  const shown = flags.write ? result.files.filter((f) => f.path === '-') : result.files;
  shown.forEach((f, i) => {
    if (i > 0 && !f.text.replace(/^\uFEFF/, '').startsWith('---')) ctx.io.stdout.write('---\n');
    ctx.io.stdout.write(f.text.endsWith('\n') || f.text === '' ? f.text : `${f.text}\n`);
  });
}

/** `--json`: every image moved (with what its copy sent), every value rewritten, every file. */
function relocationRecord(
  flags: RelocateFlags,
  result: RelocateResult,
  copies: ReadonlyMap<string, CopyResult>,
) {
  const site = (s: { file: string; line: number }) => `${s.file}:${s.line}`;
  return {
    to: flags.to,
    dryRun: flags.dryRun === true,
    relocations: result.relocations.map((r) => {
      const copy = copies.get(r.copiedTo);
      return {
        from: r.from,
        to: r.to,
        digest: r.digest,
        kind: r.resolution.kind,
        ...(r.resolution.platform ? { platform: r.resolution.platform } : {}),
        foundIn: r.sites.map(site),
        ...(copy ? { blobs: copy.blobs, manifests: copy.manifests, referrers: copy.referrers } : {}),
      };
    }),
    changes: result.changes.map((c) => ({ at: site(c), image: c.image, to: c.to })),
    alreadyThere: result.alreadyThere.map((s) => ({ at: site(s), image: s.image })),
    notes: result.notes.map((n) => ({ at: site(n), image: n.image, reason: n.reason })),
    files: result.files.map((f) => ({ path: f.path, changed: f.changed })),
  };
}
