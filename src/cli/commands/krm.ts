/**
 * @module cli/commands/krm
 * `imgdigest krm check|pin`: run as a KRM function (kpt, kustomize): a ResourceList on stdin, a
 * ResourceList on stdout, results for what was found.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addRuleOptions, collect, type RuleOptions, rulesFromOptions } from '../flags.js';
import {
  addRegistryOptions,
  type RegistryFlags,
  readStdin,
  refuseStdinConflict,
  resolverOptions,
} from '../options.js';

export function registerKrm(program: Command, ctx: CliContext): void {
  const krm = program
    .command('krm')
    .description('run as a KRM function (kpt fn eval --exec, kustomize): ResourceList in, ResourceList out');
  krm.addHelpText(
    'after',
    `
The functionConfig may be a ConfigMap (data: exemptImages, kinds, namespaces, excludedNamespaces,
defaultNamespace, platform, dropTag; lists comma-separated) or an ImageDigestRules object.

Examples:
  $ kpt fn eval deploy/ --exec "imgdigest krm check"
  $ kpt fn eval deploy/ --exec "imgdigest krm pin" -- exemptImages='registry.k8s.io/pause*'`,
  );
  const check = krm
    .command('check')
    .description('add an error result for every image without a digest (exit 1 if any)');
  addRuleOptions(check).action(async (flags: RuleOptions) => {
    const rules = await rulesFromOptions(flags);
    const { krmCheck } = await import('../../k8s/krm.js');
    const out = krmCheck(await readStdin(ctx), rules);
    ctx.io.stdout.write(out.output);
    ctx.setExitCode(out.exitCode);
  });
  const pin = krm
    .command('pin')
    .description('pin the images of the items (all or nothing; failures become results)');
  addRuleOptions(pin)
    .option('--drop-tag', 'write repo@digest instead of repo:tag@digest')
    .option('-p, --platform <os/arch[/variant]>', 'pin the platform manifest instead of the index')
    .option(
      '--from-lock <file>',
      'pin offline from a lock or build output (no network); repeatable',
      collect,
    );
  addRegistryOptions(pin).action(async (flags: RuleOptions & RegistryFlags & { fromLock?: string[] }) => {
    refuseStdinConflict(flags, 'krm pin (the ResourceList comes on stdin)');
    const rules = await rulesFromOptions(flags);
    const text = await readStdin(ctx);
    const { krmPin } = await import('../../k8s/krm.js');
    const { openResolver } = await import('../../resolver/open.js');
    const resolver = await openResolver(await resolverOptions(flags, ctx));
    try {
      const out = await krmPin(text, rules, resolver);
      ctx.io.stdout.write(out.output);
      ctx.setExitCode(out.exitCode);
    } finally {
      await resolver.close();
    }
  });
}
