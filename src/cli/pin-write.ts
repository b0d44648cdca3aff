/**
 * @module cli/pin-write
 * How `pin --write`, `pin --lock-file` and `outdated --write` put a pin result on disk: the
 * changed manifests and the lock file as one all-or-nothing write (src/core/write.ts), each file
 * that cannot be replaced safely listed on its own line with what to do about it.
 */
import { resolve } from 'node:path';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import type { FileChange, Refusal } from '../core/write.js';
import type { PinResult } from '../k8s/pin.js';
import type { CliContext } from './context.js';

export interface PinWriteOptions {
  /** Rewrite the changed manifests (not stdin). */
  write?: boolean;
  /** Record the resolutions in this lock file (relative to the working directory). */
  lockFile?: string;
  /** Edit files whose real path is outside `roots` (symlinks followed out of the tree). */
  followSymlinks?: boolean;
  /** The tree the `-f` paths name (see `readInputs`). */
  roots: readonly string[];
}

/** Write what a pin run changed (manifests with `write`, the lock with `lockFile`): all or nothing. */
export async function writePinResult(
  ctx: CliContext,
  result: PinResult,
  options: PinWriteOptions,
): Promise<void> {
  const changes: FileChange[] = [];
  if (options.write) {
    const { pinnedChanges } = await import('../k8s/pin.js');
    const within = options.followSymlinks ? undefined : options.roots;
    changes.push(...pinnedChanges(result.files, { cwd: ctx.io.cwd, within }));
  }
  if (options.lockFile) {
    const { updatedLockText } = await import('../resolver/lock.js');
    const { lockedResolutions } = await import('../k8s/lock.js');
    const path = resolve(ctx.io.cwd, options.lockFile);
    const data = await updatedLockText(path, lockedResolutions(result.resolutions), {
      name: options.lockFile,
    });
    changes.push({ path, data, name: options.lockFile });
  }
  if (changes.length > 0) await writeTogether(ctx, changes);
}

/**
 * Write the files as one transaction; a refusal is listed one file per line, with what to do
 * about it, before the error that ends the run (INPUT_INVALID, exit 2).
 */
export async function writeTogether(ctx: CliContext, changes: readonly FileChange[]): Promise<void> {
  const { writeFilesAtomically } = await import('../core/write.js');
  try {
    await writeFilesAtomically(changes);
  } catch (e) {
    const refused = isImgdigestError(e) ? (e.details.refused as Refusal[] | undefined) : undefined;
    if (!refused) throw e;
    for (const r of refused) {
      const advice = r.kind === 'outside' ? ' (a symlink: --follow-symlinks edits it through the link)' : '';
      ctx.err(`imgdigest: ${r.name}: ${r.reason}${advice}`);
    }
    const what = refused.length === 1 ? '1 file cannot' : `${refused.length} files cannot`;
    throw new ImgdigestError('INPUT_INVALID', `${what} be replaced safely (listed above), nothing written`, {
      details: { refused },
    });
  }
}
