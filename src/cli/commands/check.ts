/**
 * @module cli/commands/check
 * `imgdigest check -f PATH...`: report every image without a digest (exit 1 if any).
 *
 * Also home of the flags every Kubernetes command shares (`-f`, `--rules`, `--exempt-image`,
 * `--kinds`, `--namespaces`, `--exclude-namespaces`), so check, pin, outdated, krm and policy
 * read them the same way.
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { InputProblem } from '../../k8s/inputs.js';
import type { Rules } from '../../k8s/rules.js';
import type { CliContext } from '../context.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export interface RuleOptions {
  rules?: string;
  exemptImage?: string[];
  kinds?: string[];
  namespaces?: string[];
  excludeNamespaces?: string[];
  defaultNamespace?: string;
  platform?: string;
  dropTag?: boolean;
}

export interface FileOptions {
  filename?: string[];
}

/** `-f, --filename` (repeatable). */
export function addFileOptions(cmd: Command): Command {
  return cmd.option(
    '-f, --filename <path>',
    'manifest file or directory (recursive *.yaml, *.yml, *.json), or - for stdin; repeatable',
    collect,
  );
}

/** The flags that select what the digest rule applies to. */
export function addRuleOptions(cmd: Command): Command {
  return cmd
    .option(
      '--rules <file>',
      'rules file (ImageDigestRules YAML/JSON: exemptions, match, custom image locations)',
    )
    .option(
      '--exempt-image <pattern>',
      'exempt an image: exact match, or prefix when it ends in *; repeatable',
      collect,
    )
    .option(
      '--kinds <list>',
      'only these kinds (Deployment, apps/Deployment, core/Pod); comma-separated, repeatable',
      collect,
    )
    .option('--namespaces <list>', 'only these namespaces (prefix* and *suffix allowed); repeatable', collect)
    .option(
      '--exclude-namespaces <list>',
      'skip these namespaces (prefix* and *suffix allowed); repeatable',
      collect,
    )
    .option('--default-namespace <ns>', 'namespace assumed for objects that name none', 'default');
}

/** Rules from `--rules` plus the flags. */
export async function rulesFromOptions(opts: RuleOptions): Promise<Rules> {
  const { applyRuleFlags, defaultRules, loadRules } = await import('../../k8s/rules.js');
  const base = opts.rules ? await loadRules(opts.rules) : defaultRules();
  return applyRuleFlags(base, {
    exemptImages: opts.exemptImage,
    kinds: opts.kinds,
    namespaces: opts.namespaces,
    excludedNamespaces: opts.excludeNamespaces,
    defaultNamespace: opts.defaultNamespace === 'default' ? undefined : opts.defaultNamespace,
    platform: opts.platform,
    dropTag: opts.dropTag,
  });
}

/** The `-f` paths; at least one is required. */
export function pathsFromOptions(opts: FileOptions): string[] {
  const paths = opts.filename ?? [];
  if (paths.length === 0)
    throw new ImgdigestError('USAGE', 'give at least one -f PATH (a file, a directory, or - for stdin)');
  return paths;
}

/** Print input problems on stderr; true when one of them is an error. */
export function reportProblems(ctx: CliContext, problems: readonly InputProblem[]): boolean {
  for (const p of problems)
    ctx.err(`imgdigest: ${p.severity === 'error' ? '' : 'warning: '}${p.path}: ${p.reason}`);
  return problems.some((p) => p.severity === 'error');
}

interface CheckFlags extends RuleOptions, FileOptions {
  json?: boolean;
  format: string;
}

export function registerCheck(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('check')
    .description('report images without a digest in Kubernetes manifests (exit 1 if any)');
  addFileOptions(cmd);
  addRuleOptions(cmd)
    .option('--json', 'print the findings as JSON (same as --format json)')
    .option('--format <format>', 'text, json or sarif (SARIF 2.1.0)', 'text')
    .addHelpText(
      'after',
      `
A digest must end the reference and fit the OCI grammar; sha256 needs 64 and sha512 128 lowercase
hex characters. Messages are Gatekeeper's (k8simagedigests). Output lines are
FILE:LINE:COL: KIND NAMESPACE/NAME: MESSAGE, and a summary goes to stderr.

Examples:
  $ imgdigest check -f deploy/
  deploy/web.yaml:22:18: Deployment demo/web: container app uses an image without a digest localhost:5000/sample/app:1.0
  $ imgdigest check -f k8s/ --exempt-image 'registry.k8s.io/pause*' --exclude-namespaces kube-system
  $ kustomize build overlays/prod | imgdigest check -f - --format sarif > results.sarif`,
    )
    .action(async (flags: CheckFlags) => {
      const format = flags.json ? 'json' : flags.format;
      if (!['text', 'json', 'sarif'].includes(format)) {
        throw new ImgdigestError('USAGE', `--format must be text, json or sarif, got "${format}"`);
      }
      const paths = pathsFromOptions(flags);
      const rules = await rulesFromOptions(flags);
      const { checkPaths, formatFinding, summaryLine } = await import('../../k8s/check.js');
      const result = await checkPaths(paths, rules, { stdin: ctx.io.stdin, cwd: ctx.io.cwd });
      const failed = reportProblems(ctx, result.problems);
      if (format === 'json') {
        ctx.json({
          findings: result.findings,
          files: result.files,
          documents: result.documents,
          objects: result.objects,
          skippedDocuments: result.skippedDocuments,
          problems: result.problems,
        });
      } else if (format === 'sarif') {
        const { toSarif } = await import('../../k8s/sarif.js');
        ctx.json(toSarif(result.findings, program.version() ?? '0.0.0'));
      } else {
        for (const f of result.findings) ctx.out(formatFinding(f));
      }
      if (!ctx.globals().quiet) ctx.err(summaryLine(result));
      if (result.findings.length > 0) ctx.setExitCode(1);
      if (failed) ctx.setExitCode(2);
    });
}
