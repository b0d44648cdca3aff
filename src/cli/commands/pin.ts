/**
 * @module cli/commands/pin
 * `imgdigest pin -f PATH...`: add digests to images in Kubernetes manifests, changing nothing but
 * the image values (comments, quoting, anchors, CRLF and BOM stay byte for byte).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import {
  addFileOptions,
  addRuleOptions,
  collect,
  type FileOptions,
  pathsFromOptions,
  type RuleOptions,
  readManifests,
  rulesFromOptions,
  wholeNumber,
} from '../flags.js';
import { addRegistryOptions, type RegistryFlags, refuseStdinConflict, resolverOptions } from '../options.js';

interface PinFlags extends RuleOptions, FileOptions, RegistryFlags {
  write?: boolean;
  diff?: boolean;
  check?: boolean;
  lockFile?: string;
  fromLock?: string[];
  concurrency: string;
}

export function registerPin(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('pin')
    .description('add image digests to Kubernetes manifests (name:tag@sha256:...)');
  addFileOptions(cmd);
  addRuleOptions(cmd)
    .option('--drop-tag', 'write repo@digest instead of repo:tag@digest')
    .option(
      '-p, --platform <os/arch[/variant]>',
      'pin the platform manifest instead of the index (its digest as the index lists it)',
    )
    .option('-w, --write', 'rewrite the files in place (atomically, mode kept)')
    .option('--diff', 'print a unified diff instead of the files (with --write: write and print the diff)')
    .option('--check', 'change nothing; exit 1 and list what would change')
    .option('--lock-file <file>', 'record every resolution in this ImageLock file')
    .option(
      '--from-lock <file>',
      'pin offline from a lock or build output (REF@DIGEST lines, gcloud JSON); repeatable',
      collect,
    )
    .option('--concurrency <n>', 'lookups in flight at once, per registry', '8');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Each unique reference is resolved once. On any failure nothing is written and every failure is
listed as FILE:LINE: IMAGE: REASON (exit 3; 2 for invalid YAML). Templated values ({{ }}, \${VAR},
$(VAR)) and block scalars are reported and left alone. Already pinned images are left alone.

Examples:
  $ imgdigest pin -f deploy/web.yaml                  # print the pinned file
  $ imgdigest pin -f deploy/ --write --lock-file images.lock
  $ imgdigest pin -f deploy/ --diff --platform linux/arm64
  $ imgdigest pin -f deploy/ --from-lock images.lock --check
  $ pack build app --quiet > built.txt && imgdigest pin -f deploy/ --from-lock built.txt -w`,
  );
  cmd.action(async (flags: PinFlags) => {
    if (flags.check && (flags.write || flags.diff)) {
      throw new ImgdigestError(
        'USAGE',
        '--check changes nothing; it cannot be combined with --write or --diff',
      );
    }
    const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1);
    const paths = pathsFromOptions(flags);
    if (paths.includes('-')) refuseStdinConflict(flags, '-f -');
    const rules = await rulesFromOptions(flags);
    const files = await readManifests(ctx, paths, ', nothing written');
    const { failureError, formatFailure, pinFiles } = await import('../../k8s/pin.js');
    const { openResolver } = await import('../../resolver/open.js');
    const resolver = await openResolver(await resolverOptions({ ...flags, concurrency }, ctx));
    const tty = Boolean(ctx.io.stderr.isTTY) && !ctx.globals().quiet;
    let result: Awaited<ReturnType<typeof pinFiles>>;
    try {
      result = await pinFiles(files, {
        rules,
        resolver,
        onProgress: tty ? (done, total) => ctx.io.stderr.write(`\rresolving ${done}/${total}`) : undefined,
      });
    } finally {
      if (tty) ctx.io.stderr.write('\r\x1b[K');
      await resolver.close();
    }
    if (!ctx.globals().quiet) for (const n of result.notes) ctx.err(`imgdigest: note: ${formatFailure(n)}`);
    if (result.failures.length > 0) {
      for (const f of result.failures) ctx.err(formatFailure(f));
      throw failureError(result.failures);
    }
    if (flags.lockFile) {
      // The lock first: when it cannot be written, no manifest has been changed yet.
      const { updateLockFile } = await import('../../resolver/lock.js');
      const { lockedResolutions } = await import('../../k8s/lock.js');
      await updateLockFile(resolve(ctx.io.cwd, flags.lockFile), lockedResolutions(result.resolutions), {
        name: flags.lockFile,
      });
    }
    await writeOutputs(ctx, flags, result);
    if (!ctx.globals().quiet) {
      const changedFiles = result.files.filter((f) => f.changed).length;
      const verb = flags.check ? 'would pin' : 'pinned';
      ctx.err(
        `${verb} ${result.changes.length} image(s) in ${changedFiles} file(s); ${result.resolutions.length} unique reference(s) resolved`,
      );
    }
  });
}

async function writeOutputs(
  ctx: CliContext,
  flags: PinFlags,
  result: Awaited<ReturnType<typeof import('../../k8s/pin.js').pinFiles>>,
): Promise<void> {
  if (flags.check) {
    const { formatSite } = await import('../../k8s/sites.js');
    for (const c of result.changes) ctx.out(`${formatSite(c, 'file:line')}: ${c.image} -> ${c.to}`);
    if (result.changes.length > 0) ctx.setExitCode(1);
    return;
  }
  if (flags.diff) {
    const { unifiedDiff } = await import('../../k8s/diff.js');
    for (const f of result.files) if (f.changed) ctx.io.stdout.write(unifiedDiff(f.path, f.original, f.text));
    if (!flags.write) return;
  }
  if (flags.write) {
    const { writeAtomic } = await import('../../core/write.js');
    for (const f of result.files) {
      if (f.path === '-' && !flags.diff) ctx.io.stdout.write(f.text);
      else if (f.changed) {
        await writeAtomic(resolve(ctx.io.cwd, f.path), f.text, f.mode === undefined ? {} : { mode: f.mode });
      }
    }
    return;
  }
  result.files.forEach((f, i) => {
    if (i > 0 && !f.text.replace(/^\uFEFF/, '').startsWith('---')) ctx.io.stdout.write('---\n');
    ctx.io.stdout.write(f.text.endsWith('\n') || f.text === '' ? f.text : `${f.text}\n`);
  });
}
