/**
 * @module cli/commands/pin
 * `imgdigest pin -f PATH...`: add digests to images in Kubernetes manifests, changing nothing but
 * the image values (comments, quoting, anchors, CRLF and BOM stay byte for byte).
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { PinChange, PinnedFileEdits, PinResult } from '../../k8s/pin.js';
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
  update?: boolean;
  json?: boolean;
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
    .option(
      '-w, --write',
      'rewrite the files in place: all or none, through symlinks, owner and mode kept (see below)',
    )
    .option('--diff', 'print a unified diff instead of the files (with --write: write and print the diff)')
    .option('--check', 'change nothing; exit 1 and list what would change')
    .option(
      '--update',
      'also replace the digest of name:tag@digest images whose tag now resolves to another one',
    )
    .option('--json', 'print {changes, notes, files, resolved} as JSON instead of the files')
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
$(VAR)) and block scalars are reported and left alone. Already pinned images are left alone, unless
--update: then a name:tag@digest whose tag now resolves to another digest gets the new one (only
the digest bytes change), reported FILE:LINE: TAG moved OLD -> NEW.

Besides workloads, kustomize images: entries (newTag -> digest) and Helm values
(image: {registry, repository, tag, digest}) are pinned by filling or adding their digest key;
--rules names other paths (imageLocations with files). Files with no Kubernetes object or image
path (Chart.yaml, random YAML) are skipped with a note and not printed. stdin is <stdin> in
messages.

--write changes every file or none (the --lock-file too): each new file is written beside its
original and flushed, then all are renamed into place; if one rename fails, the files already
replaced are put back (exit 3). A symlink is edited through: its target changes, the link stays;
symlinks that lead out of the directories given are skipped, and not edited, unless
--follow-symlinks. Files are refused before anything is written (exit 2, each one listed) when
replacing them would lose something: other hard links to them, read-only (no write bit for the
owner, even as root), another user's file (unless root), changed since they were read. Owner, group
and mode are kept.

Examples:
  $ imgdigest pin -f deploy/web.yaml                  # print the pinned file
  $ imgdigest pin -f deploy/ --write --lock-file images.lock
  $ imgdigest pin -f deploy/ --diff --platform linux/arm64
  $ imgdigest pin -f deploy/ --from-lock images.lock --check
  $ imgdigest pin -f deploy/ --update --write --lock-file images.lock   # keep pins current
  $ imgdigest pin -f chart/values.yaml -f overlays/prod/kustomization.yaml --write
  $ imgdigest pin -f deploy/ --update --check --json | jq '.changes[] | {file, line, previous, digest}'
  $ pack build app --quiet > built.txt && imgdigest pin -f deploy/ --from-lock built.txt -w`,
  );
  cmd.action(async (flags: PinFlags) => {
    if (flags.check && (flags.write || flags.diff)) {
      throw new ImgdigestError(
        'USAGE',
        '--check changes nothing; it cannot be combined with --write or --diff',
      );
    }
    if (flags.json && flags.diff)
      throw new ImgdigestError('USAGE', '--json and --diff both print to stdout: pick one');
    const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1);
    const paths = pathsFromOptions(flags);
    if (paths.includes('-')) refuseStdinConflict(flags, '-f -');
    const rules = await rulesFromOptions(flags);
    const { files, roots } = await readManifests(ctx, paths, {
      consequence: ', nothing written',
      followSymlinks: flags.followSymlinks,
    });
    const { failureError, formatFailure, pinEach } = await import('../../k8s/pin.js');
    const { byFileAndLine, formatSite } = await import('../../k8s/sites.js');
    const { openResolver } = await import('../../resolver/open.js');
    const resolver = await openResolver(await resolverOptions({ ...flags, concurrency }, ctx));
    const tty = Boolean(ctx.io.stderr.isTTY) && !ctx.globals().quiet;
    // Printed file by file as each is pinned, unless something is written first (the files, the
    // lock) or --json prints one document: then the changes it needs are kept.
    const stream = !flags.json && !flags.write && !flags.lockFile;
    const keepChanges = Boolean(flags.json || (flags.check && !stream));
    const kept: PinChange[] = [];
    const print = stream ? await streamedOutput(ctx, flags) : undefined;
    let progress = tty;
    let summary: Awaited<ReturnType<typeof pinEach>>;
    try {
      summary = await pinEach(files, {
        rules,
        resolver,
        ...(flags.update ? { update: 'update' as const } : {}),
        onProgress: tty ? (done, total) => ctx.io.stderr.write(`\rresolving ${done}/${total}`) : undefined,
        // --check lists changes in the order pinFiles sorts them in: by file, then line.
        order: flags.check ? 'path' : 'input',
        keepSites: Boolean(flags.lockFile),
        keepEdits: !stream,
        onFile: (edits) => {
          if (progress && print) ctx.io.stderr.write('\r\x1b[K'); // before the first output
          progress = false;
          for (const c of edits.changes) if (keepChanges || c.previous) kept.push(c);
          print?.(edits);
        },
      });
    } finally {
      if (tty) ctx.io.stderr.write('\r\x1b[K');
      await resolver.close();
    }
    kept.sort(byFileAndLine);
    const result: PinResult = { ...summary, changes: keepChanges ? kept : [] };
    if (!ctx.globals().quiet) {
      const { skippedNote } = await import('../../k8s/check.js');
      for (const f of result.files) if (f.skipped) ctx.err(skippedNote(f.path));
      for (const n of result.notes) ctx.err(`imgdigest: note: ${formatFailure(n)}`);
    }
    if (result.failures.length > 0) {
      if (flags.json) ctx.json(pinJson(result));
      for (const f of result.failures) ctx.err(formatFailure(f));
      throw failureError(result.failures);
    }
    if (!stream) {
      // The manifests and the lock change together or not at all, before anything is printed.
      // A diff is made before --write replaces the files it compares: a result's texts are read
      // again from disk when asked for, and after the write the originals are no longer there.
      const diff = flags.diff && !flags.json && !flags.check ? await diffOf(result) : undefined;
      const { writePinResult } = await import('../pin-write.js');
      await writePinResult(ctx, result, { ...flags, roots });
      await writeOutputs(ctx, flags, result, diff);
    } else if (flags.check && summary.changed.images > 0) ctx.setExitCode(1);
    if (!ctx.globals().quiet) {
      if (!flags.check && !flags.json) {
        for (const c of kept)
          if (c.previous)
            ctx.err(`${formatSite(c, 'file:line')}: ${tagOf(c)} moved ${c.previous} -> ${c.digest}`);
      }
      const changedFiles = result.files.filter((f) => f.changed).length;
      const { images, updated } = summary.changed;
      const [pin, update] = flags.check ? ['would pin', 'update'] : ['pinned', 'updated'];
      const updates = flags.update ? `, ${update} ${updated}` : '';
      ctx.err(
        `${pin} ${images - updated} image(s)${updates} in ${changedFiles} file(s); ${result.resolutions.length} unique reference(s) resolved`,
      );
    }
  });
}

/**
 * What goes to stdout file by file, when nothing is written first: what --check found, a diff,
 * or the pinned files (those skipped are not printed).
 */
async function streamedOutput(ctx: CliContext, flags: PinFlags): Promise<(edits: PinnedFileEdits) => void> {
  const { formatSite } = await import('../../k8s/sites.js');
  if (flags.check) {
    return ({ changes }) => {
      for (const c of changes) ctx.out(`${formatSite(c, 'file:line')}: ${c.image} -> ${c.to}`);
    };
  }
  if (flags.diff) {
    const { unifiedDiff } = await import('../../k8s/diff.js');
    return ({ file, original, text }) => {
      if (file.changed) ctx.io.stdout.write(unifiedDiff(file.path, original, text));
    };
  }
  let printed = 0;
  return ({ file, text }) => {
    if (file.skipped) return;
    if (printed++ > 0 && !text.replace(/^\uFEFF/, '').startsWith('---')) ctx.io.stdout.write('---\n');
    ctx.io.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  };
}

/** `name:tag` of an updated image: the value as written, without its old digest. */
function tagOf(c: { image: string; previous?: string }): string {
  return c.previous ? c.image.slice(0, c.image.lastIndexOf(`@${c.previous}`)) : c.image;
}

/** What `pin --json` prints: each change and note with its place, each file and whether it changed. */
export function pinJson(result: PinResult): unknown {
  const place = (s: PinResult['changes'][number] | PinResult['notes'][number]) => ({
    file: s.file,
    line: s.line,
    column: s.column,
    object: s.object,
    fieldPath: s.fieldPath,
    image: s.image,
  });
  return {
    changes: result.changes.map((c) => ({
      ...place(c),
      to: c.to,
      digest: c.digest,
      ...(c.previous ? { previous: c.previous } : {}),
      shared: c.shared,
    })),
    notes: result.notes.map((n) => ({ ...place(n), reason: n.reason })),
    failures: result.failures.map((f) => ({ ...place(f), reason: f.reason, code: f.code })),
    files: result.files.map((f) => ({ path: f.path, changed: f.changed })),
    resolved: result.resolutions.length,
  };
}

/** The unified diff of every changed file, one file's texts at a time. */
async function diffOf(result: PinResult): Promise<string> {
  const { unifiedDiff } = await import('../../k8s/diff.js');
  let out = '';
  for (const f of result.files) if (f.changed) out += unifiedDiff(f.path, f.original, f.text);
  return out;
}

/** What goes to stdout: the files (with --write, only stdin's), a diff, or what --check found. */
async function writeOutputs(
  ctx: CliContext,
  flags: PinFlags,
  result: PinResult,
  diff: string | undefined,
): Promise<void> {
  if (flags.json) {
    ctx.json(pinJson(result));
    if (flags.check && result.changes.length > 0) ctx.setExitCode(1);
    return;
  }
  if (flags.check) {
    const { formatSite } = await import('../../k8s/sites.js');
    for (const c of result.changes) ctx.out(`${formatSite(c, 'file:line')}: ${c.image} -> ${c.to}`);
    if (result.changes.length > 0) ctx.setExitCode(1);
    return;
  }
  if (diff !== undefined) {
    ctx.io.stdout.write(diff);
    return;
  }
  if (flags.write) {
    for (const f of result.files) if (f.stdin) ctx.io.stdout.write(f.text);
    return;
  }
  result.files
    .filter((f) => !f.skipped)
    .forEach((f, i) => {
      const text = f.text; // made from the file again at each read
      if (i > 0 && !text.replace(/^\uFEFF/, '').startsWith('---')) ctx.io.stdout.write('---\n');
      ctx.io.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
    });
}
