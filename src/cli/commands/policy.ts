/**
 * @module cli/commands/policy
 * `imgdigest policy export --gatekeeper|--kyverno`: the digest rule as cluster policy, with the
 * same exemptions, kinds and namespaces as `check`.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { addRuleOptions, type RuleOptions, rulesFromOptions } from '../flags.js';

interface ExportFlags extends RuleOptions {
  gatekeeper?: boolean;
  kyverno?: boolean;
  name?: string;
  action?: string;
}

export function registerPolicy(program: Command, ctx: CliContext): void {
  const policy = program
    .command('policy')
    .description('export the digest rule as a Gatekeeper or Kyverno policy');
  const exp = policy
    .command('export')
    .description('print a Gatekeeper ConstraintTemplate + Constraint, or a Kyverno ClusterPolicy')
    .option(
      '--gatekeeper',
      'Gatekeeper ConstraintTemplate k8simagedigestsstrict and a K8sImageDigestsStrict Constraint',
    )
    .option('--kyverno', 'Kyverno ClusterPolicy with one validate rule per workload kind and image field')
    .option('--name <name>', 'metadata.name of the Constraint or ClusterPolicy')
    .option(
      '--action <action>',
      'Gatekeeper enforcementAction (deny|warn|dryrun) or Kyverno failure action (Enforce|Audit)',
    );
  addRuleOptions(exp)
    .addHelpText(
      'after',
      `
The exported rule is the one check uses: the digest must end the reference, registered algorithms
need their exact length (sha256: 64, sha512: 128 lowercase hex), every workload's pod spec and image
volumes are covered. Custom image locations from --rules are not exported (a warning says so).

Examples:
  $ imgdigest policy export --gatekeeper --exempt-image 'registry.k8s.io/pause*' | kubectl apply -f -
  $ imgdigest policy export --kyverno --exclude-namespaces kube-system --action Audit`,
    )
    .action(async (flags: ExportFlags) => {
      if (Boolean(flags.gatekeeper) === Boolean(flags.kyverno)) {
        throw new ImgdigestError('USAGE', 'choose one of --gatekeeper and --kyverno');
      }
      const rules = await rulesFromOptions(flags);
      const { exportGatekeeper, exportKyverno } = await import('../../k8s/export.js');
      const options: { name?: string; action?: string } = {};
      if (flags.name) options.name = flags.name;
      if (flags.action) options.action = flags.action;
      const out = flags.gatekeeper ? exportGatekeeper(rules, options) : exportKyverno(rules, options);
      for (const w of out.warnings) ctx.err(`imgdigest: warning: ${w}`);
      ctx.io.stdout.write(out.yaml);
    });
}
