/**
 * @module cli/commands/tag
 * `imgdigest tag SRC NEWTAG`: point another tag of the same repository at what SRC names, as
 * `crane tag` does: the manifest or index is read (exact bytes and media type) and PUT under the
 * new tag; no blob moves, so the digest stays the same.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';

interface TagFlags extends RegistryFlags {
  json?: boolean;
}

export function registerTag(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('tag')
    .description('point a new tag at the manifest or index SRC names, in the same repository (no blob moves)')
    .argument('<source>', 'registry reference by tag or digest (localhost:5000/sample/app:1.1)')
    .argument('<tag>', 'the tag to set in the same repository (1.0)')
    .option('--json', 'print {source, reference, digest, mediaType, size} as JSON');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
The manifest or index is read with its exact bytes and media type and PUT under the new tag, so the
new tag names the same digest. An existing tag is moved: what it named before stays reachable by
digest. Registries only: local sources cannot be written.

Examples:
  $ imgdigest tag localhost:5000/sample/app:1.1 1.0
  localhost:5000/sample/app:1.0@sha256:f8956dd9ac6fd1aeba2cf9f499b515b9b58b19c4a5e309fe09ab5467cccad27a
  $ imgdigest tag localhost:5000/sample/app@sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16 1.0`,
  );
  cmd.action(async (input: string, tag: string, flags: TagFlags) => {
    const { parseSourceSpec } = await import('../../sources/open.js');
    const { ANCHORED_TAG_REGEXP } = await import('../../core/reference.js');
    const spec = parseSourceSpec(input);
    if (spec.transport !== 'registry') {
      throw new ImgdigestError(
        'USAGE',
        `tag writes to registries only; "${input}" is a ${spec.transport} source`,
      );
    }
    if (!ANCHORED_TAG_REGEXP.test(tag)) {
      throw new ImgdigestError(
        'USAGE',
        `invalid tag "${tag}": a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or - (the repository is SOURCE's)`,
      );
    }
    const { RegistryClient } = await import('../../sources/registry/index.js');
    const client = new RegistryClient(await registryOptions(flags, ctx, 'node'));
    try {
      const source = spec.reference;
      const manifest = await client.getManifest(source);
      const target = source.repositoryOnly().withTag(tag);
      const pushed = await client.pushManifest(target, manifest.raw, { mediaType: manifest.mediaType });
      if (flags.json) {
        ctx.json({
          source: input,
          reference: `${target.repository}:${tag}`,
          digest: pushed.digest,
          mediaType: pushed.mediaType,
          size: pushed.size,
        });
      } else ctx.out(`${target.repository}:${tag}@${pushed.digest}`);
    } finally {
      await client.close();
    }
  });
}
