/**
 * @module cli/commands/tags
 * `imgdigest tags REPO`: one tag a line; with `--digest`, only the tags that point at that digest.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import { escapeText } from '../../core/terminal-text.js';
import type { SourceSpec } from '../../sources/open.js';
import type { CliContext } from '../context.js';
import { wholeNumber, withListLimitHint } from '../flags.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';

interface TagsFlags extends RegistryFlags {
  digest?: string;
  json?: boolean;
  concurrency: string;
  maxTags: string;
}

export function registerTags(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('tags')
    .description('list the tags of a repository, or the tags that point at a digest (--digest)')
    .argument('<repository>', 'a repository (localhost:5000/sample/app) or oci:DIR')
    .option('--digest <digest>', 'only tags whose manifest digest is this (reverse look-up)')
    .option('--json', 'print {reference, repository, tags: [...]} as JSON')
    .option('--concurrency <n>', 'parallel HEAD requests for --digest', '8')
    .option('--max-tags <n>', 'refuse a tag list longer than this (exit 3) rather than read on', '1000000');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Tags are read with the registry's pagination (n, last and Link) until the list ends; a list
longer than --max-tags (or over 256 MiB) is refused as cut, with exit code 3.
--digest HEADs every tag (HEAD requests do not count as pulls on Docker Hub). A tag or digest on
REPOSITORY would be ignored, so it is refused (exit 2).

Examples:
  $ imgdigest tags localhost:5000/sample/app
  1.0
  1.1
  latest
  single
  $ imgdigest tags localhost:5000/sample/app --digest sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16
  1.0
  latest`,
  );
  cmd.action(async (input: string, flags: TagsFlags) => {
    const { parseSourceSpec } = await import('../../sources/open.js');
    refuseTagOrDigest(input, parseSourceSpec(input));
    const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1);
    const maxItems = wholeNumber(flags.maxTags, '--max-tags', 1);
    await withSource(
      input,
      flags,
      ctx,
      async (source, spec) => {
        let tags: string[];
        if (flags.digest) {
          const { parseDigest } = await import('../../core/digest.js');
          const { tagsForDigest } = await import('../../sources/reverse.js');
          const digest = parseDigest(flags.digest).digest;
          tags = await tagsForDigest(source, digest, { concurrency, maxItems }).catch((e: unknown) => {
            throw withListLimitHint(e, '--max-tags');
          });
        } else {
          tags = await source.tags({ maxItems }).catch((e: unknown) => {
            throw withListLimitHint(e, '--max-tags');
          });
        }
        if (flags.json) {
          const repository = spec.transport === 'registry' ? spec.reference.repository : source.name;
          ctx.json(
            flags.digest
              ? { reference: input, repository, digest: flags.digest, tags }
              : { reference: input, repository, tags },
          );
        } else if (tags.length > 0) ctx.out(tags.map(escapeText).join('\n'));
        // --digest reads every tag's manifest: many requests, undici's strength.
      },
      flags.digest ? 'undici' : 'node',
    );
  });
}

/**
 * `tags` lists a repository: a tag or digest on the argument would be ignored, so it is refused,
 * naming what to drop (and --digest, for the tags that point at a digest).
 */
function refuseTagOrDigest(input: string, spec: SourceSpec): void {
  let extra: string | null = null;
  if (spec.transport === 'registry') {
    const ref = spec.reference;
    extra = ref.digest ? `@${ref.digest}` : ref.tag ? `:${ref.tag}` : null;
  } else if (spec.transport === 'oci' && spec.tag) {
    extra = `:${spec.tag}`;
  }
  if (extra === null) return;
  const hint = extra.startsWith('@') ? ` (--digest ${extra.slice(1)} lists the tags that point at it)` : '';
  throw new ImgdigestError('USAGE', `tags lists a repository's tags: drop ${extra} from "${input}"${hint}`);
}
