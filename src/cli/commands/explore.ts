/**
 * @module cli/commands/explore
 * `imgdigest explore [REF|SOURCE]`: serve the web explorer until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';
import { untilSignal } from '../signals.js';

interface ExploreFlags extends RegistryFlags {
  addr: string;
  allowRemote?: boolean;
  registry: string[];
  rules?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerExplore(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('explore [ref]')
    .description('browse images in a web explorer: tags, indexes, manifests, configs, layers, files, compare')
    .option('--addr <host:port>', 'address to listen on; port 0 picks a free port', '127.0.0.1:8080')
    .option('--allow-remote', 'allow a non-loopback --addr (needs --registry)')
    .option(
      '--registry <host>',
      'a registry (or token or storage host) the explorer may contact; with it, no other host is contacted (repeatable)',
      collect,
      [],
    )
    .option('--rules <file>', 'rules file for the Kubernetes page (as check and pin use)');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Prints the URL to open. Every page has a stable URL; the same URLs answer JSON with
Accept: application/json. Loopback only unless --allow-remote; a remote explorer contacts only the
--registry hosts (redirects and token realms included), sends credentials only to them and does not
open local sources other than the one named on the command line.

Examples:
  $ imgdigest explore localhost:5000/sample/app:1.0
  imgdigest explore: open http://127.0.0.1:8080/image/localhost:5000/sample/app:1.0
  $ imgdigest explore --addr 127.0.0.1:0 oci:./layout
  $ imgdigest explore --addr 0.0.0.0:8080 --allow-remote --registry registry.internal:5000`,
  );
  cmd.action(async (ref: string | undefined, flags: ExploreFlags) => {
    const { startExplorer, destination } = await import('../../explorer/index.js');
    const { resolve } = await import('node:path');
    const running = await startExplorer({
      addr: flags.addr,
      allowRemote: Boolean(flags.allowRemote),
      ...(flags.registry.length > 0 ? { allowedRegistries: flags.registry } : {}),
      registry: await registryOptions(flags, ctx),
      ...(flags.rules ? { rulesFile: resolve(ctx.io.cwd, flags.rules) } : {}),
      ...(ctx.io.env.DOCKER_HOST ? { dockerHost: ctx.io.env.DOCKER_HOST } : {}),
      ...(ref ? { initial: ref } : {}),
      env: ctx.io.env,
    });
    const url = ref ? new URL(destination(ref), running.url).href : running.url;
    ctx.err(`imgdigest explore: open ${url}`);
    await untilSignal();
    await running.close();
  });
}
