/**
 * @module cli/commands/delete
 * `imgdigest delete REPOSITORY@DIGEST`: delete a manifest or index from a registry (`crane
 * delete`, `regctl manifest delete`). Registries delete manifests by digest, and every tag that
 * names the digest goes with it, so the reference must carry the digest: a tag alone is refused,
 * never resolved behind the user's back. On a terminal the user confirms; elsewhere `--yes` is
 * required. A registry that refuses deletes (the CNCF registry unless `storage.delete.enabled`) is
 * reported with its own answer.
 */
import type { Command } from 'commander';
import type { Digest } from '../../core/digest.js';
import { ImgdigestError, isImgdigestError } from '../../core/errors.js';
import type { Reference } from '../../core/reference.js';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';

interface DeleteFlags extends RegistryFlags {
  yes?: boolean;
  json?: boolean;
}

export function registerDelete(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('delete')
    .description('delete a manifest or index from a registry, by digest (every tag naming it goes too)')
    .argument('<reference>', 'REPOSITORY@DIGEST (REPOSITORY:TAG@DIGEST also works; the digest counts)')
    .option('-y, --yes', 'delete without asking (required when stdin is not a terminal)')
    .option(
      '--json',
      'print {reference, repository, digest, mediaType, deleted, referrersTagUpdated} as JSON',
    );
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Registries delete manifests by digest, and every tag that names that digest goes with it: the
manifest is gone, not only a tag. So the reference must carry the digest; a tag alone is refused
(exit 2) with the digest form to use (imgdigest digest --full-ref REF prints it). To move a tag
instead, use imgdigest tag.

On a terminal the question "delete REPOSITORY@DIGEST (MEDIA TYPE)? [y/N]" comes first, and only
y or yes deletes. When stdin is not a terminal (scripts, CI) --yes is required; without it
nothing is sent (exit 2). A digest the registry does not have is an error (exit 3) before any
question. Blobs stay until the registry's garbage collection removes them.

A registry may refuse: the CNCF registry (distribution) answers 405 UNSUPPORTED unless its
configuration sets storage.delete.enabled: true (REGISTRY_STORAGE_DELETE_ENABLED=true); the
message shows the registry's own answer (exit 3). Deleting a referrer (a manifest with a
subject) from a registry without the referrers API also removes it from the subject's referrers
tag (sha256-<hex>), as the OCI distribution spec asks of clients.

Examples:
  $ imgdigest delete localhost:5000/sample/app@sha256:5d7188d6c967aa300729fad3929f8db8bae5fec3fd76024b0af55f833511d5b3
  delete localhost:5000/sample/app@sha256:5d7188d6c967aa300729fad3929f8db8bae5fec3fd76024b0af55f833511d5b3 (application/vnd.oci.image.manifest.v1+json)? [y/N] y
  deleted localhost:5000/sample/app@sha256:5d7188d6c967aa300729fad3929f8db8bae5fec3fd76024b0af55f833511d5b3
  $ imgdigest delete --yes "$(imgdigest digest --full-ref localhost:5000/sample/app:single)"`,
  );
  cmd.action(async (input: string, flags: DeleteFlags) => {
    const { parseSourceSpec } = await import('../../sources/open.js');
    const spec = parseSourceSpec(input);
    if (spec.transport !== 'registry') {
      throw new ImgdigestError(
        'USAGE',
        `delete works on registries only; "${input}" is a ${spec.transport} source`,
      );
    }
    const ref = spec.reference;
    const digest = ref.digest;
    if (!digest) {
      throw new ImgdigestError(
        'USAGE',
        `delete needs a digest: give ${ref.repository}@sha256:<hex>, not the tag ${ref.identifier} (registries delete by digest, and every tag naming it goes too; imgdigest digest --full-ref ${input} prints it)`,
      );
    }
    const { isInteractive, confirm } = await import('../prompt.js');
    // Decided before any request: without a way to ask, nothing is read or sent.
    if (!flags.yes) {
      if (flags.passwordStdin) {
        throw new ImgdigestError(
          'USAGE',
          'delete cannot ask for confirmation when --password-stdin takes stdin: add --yes',
        );
      }
      if (!isInteractive(ctx)) {
        throw new ImgdigestError(
          'USAGE',
          `delete asks before deleting and stdin is not a terminal: add --yes to delete ${input} without asking`,
        );
      }
    }
    const { RegistryClient } = await import('../../sources/registry/index.js');
    const client = new RegistryClient(await registryOptions(flags, ctx, 'node'));
    try {
      const target = ref.repositoryOnly().withDigest(digest);
      const shown = `${target.repository}@${digest}`;
      const { mediaType, subject } = await readBeforeDelete(client, target);
      if (!flags.yes && !(await confirm(ctx, `delete ${shown} (${mediaType ?? 'unknown type'})?`))) {
        ctx.err('imgdigest: nothing deleted');
        return;
      }
      let referrersTagUpdated: boolean;
      try {
        ({ referrersTagUpdated } = await client.deleteManifest(target, subject ? { subject } : {}));
      } catch (error) {
        throw refusal(error, target);
      }
      if (flags.json) {
        ctx.json({
          reference: input,
          repository: target.repository,
          digest,
          mediaType,
          deleted: true,
          referrersTagUpdated,
        });
        return;
      }
      ctx.out(`deleted ${shown}`);
      if (referrersTagUpdated && !ctx.globals().quiet) {
        ctx.err(`imgdigest: removed it from the referrers tag of its subject ${subject}`);
      }
    } finally {
      await client.close();
    }
  });
}

/**
 * The manifest about to go: it must exist (a 404 stops here, before the question), and its
 * `subject`, if any, tells the client which referrers tag to update. A manifest imgdigest cannot
 * parse can still be deleted.
 */
async function readBeforeDelete(
  client: import('../../sources/registry/index.js').RegistryClient,
  target: Reference,
): Promise<{ mediaType: string | null; subject: Digest | null }> {
  try {
    const manifest = await client.getManifest(target);
    return { mediaType: manifest.mediaType, subject: manifest.value.subject?.digest ?? null };
  } catch (error) {
    if (isImgdigestError(error) && error.code.startsWith('MANIFEST_'))
      return { mediaType: null, subject: null };
    throw error;
  }
}

/** A registry that does not delete says so with 405 (distribution-spec end-9: "MAY respond 405"). */
function refusal(error: unknown, target: Reference): unknown {
  if (!isImgdigestError(error)) return error;
  const status = error.details.status;
  if (status !== 405 && error.details.registryCode !== 'UNSUPPORTED') return error;
  return new ImgdigestError(
    'REGISTRY_ERROR',
    `registry ${target.domain} refuses to delete: ${error.message}; the CNCF registry deletes only with storage.delete.enabled: true in its configuration (REGISTRY_STORAGE_DELETE_ENABLED=true)`,
    { details: error.details, cause: error },
  );
}
