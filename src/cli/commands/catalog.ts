/**
 * @module cli/commands/catalog
 * `imgdigest catalog REGISTRY`: the repositories of a registry (`/v2/_catalog`), one a line.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { parseReference as ParseReference } from '../../core/reference.js';
import { escapeText } from '../../core/terminal-text.js';
import type { CliContext } from '../context.js';
import { wholeNumber, withListLimitHint } from '../flags.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';

interface CatalogFlags extends RegistryFlags {
  json?: boolean;
  fullRef?: boolean;
  maxRepositories: string;
}

export function registerCatalog(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('catalog')
    .description('list the repositories of a registry (where the registry allows it)')
    .argument('<registry>', 'a registry host, e.g. localhost:5000 or ghcr.io')
    .option('--full-ref', 'print REGISTRY/REPOSITORY instead of the repository path')
    .option('--json', 'print {registry, repositories: [...]} as JSON')
    .option(
      '--max-repositories <n>',
      'refuse a catalog longer than this (exit 3) rather than read on',
      '1000000',
    );
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
The list is read page by page (n, last and Link) until it ends; a catalog longer than
--max-repositories (or over 256 MiB) is refused as cut, with exit code 3. Many public registries refuse the
catalog to anonymous users (Docker Hub always does). REGISTRY is a host: a path (HOST/REPO) is
refused rather than ignored (exit 2), and so is a word without a dot, a port or localhost.

Example:
  $ imgdigest catalog localhost:5000
  sample/app
  sample/worker`,
  );
  cmd.action(async (host: string, flags: CatalogFlags) => {
    const { parseReference } = await import('../../core/reference.js');
    const { RegistryClient } = await import('../../sources/registry/index.js');
    const domain = registryHost(host, parseReference);
    const maxItems = wholeNumber(flags.maxRepositories, '--max-repositories', 1);
    const client = new RegistryClient(await registryOptions(flags, ctx, 'node'));
    try {
      const repositories = await client.catalog(domain, { maxItems }).catch((e: unknown) => {
        throw withListLimitHint(e, '--max-repositories');
      });
      if (flags.json) ctx.json({ registry: domain, repositories });
      else if (repositories.length > 0) {
        ctx.out(repositories.map((r) => escapeText(flags.fullRef ? `${domain}/${r}` : r)).join('\n'));
      }
    } finally {
      await client.close();
    }
  });
}

/**
 * The registry host `input` names, normalised as references normalise it (`index.docker.io` is
 * `docker.io`). Anything more than a host is refused rather than ignored: a path (`host/repo`
 * would list the whole registry, not the repository), or a word that is not a host by Docker's
 * rule (a dot, a port or `localhost`): `catalog nginx` is not Docker Hub's catalog.
 */
function registryHost(input: string, parseReference: typeof ParseReference): string {
  const host = input.replace(/\/+$/, '');
  const slash = host.indexOf('/');
  if (slash !== -1) {
    throw new ImgdigestError(
      'USAGE',
      `catalog takes a registry host, not "${input}": it would list all of ${host.slice(0, slash)} (imgdigest tags ${host} lists that repository's tags)`,
    );
  }
  if (!/[.:]/.test(host) && host !== 'localhost') {
    throw new ImgdigestError(
      'USAGE',
      `"${input}" is not a registry host: a host has a dot or a port, or is localhost (docker.io for Docker Hub)`,
    );
  }
  // The reference grammar checks the host and normalises it, through a dummy repository.
  return parseReference(`${host}/x`).domain;
}
