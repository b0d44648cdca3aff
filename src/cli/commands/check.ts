/**
 * @module cli/commands/check
 * `imgdigest check -f PATH...`: report every image without a digest (exit 1 if any).
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import {
  addFileOptions,
  addRuleOptions,
  type FileOptions,
  pathsFromOptions,
  type RuleOptions,
  reportProblems,
  rulesFromOptions,
} from '../flags.js';

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
FILE:LINE:COL: KIND NAMESPACE/NAME: MESSAGE (an object without a namespace is shown in
--default-namespace; stdin is <stdin>), and a summary goes to stderr. kustomize images: entries
and Helm values (image: {registry, repository, tag, digest}) are checked too; files with no
Kubernetes object or image path (Chart.yaml) are skipped with a note.

Examples:
  $ imgdigest check -f deploy/
  deploy/web.yaml:22:18: Deployment demo/web: container <app> uses an image without a digest <localhost:5000/sample/app:1.0>
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
      const { checkPaths, formatFinding, skippedNote, summaryLine } = await import('../../k8s/check.js');
      const result = await checkPaths(paths, rules, {
        stdin: ctx.io.stdin,
        cwd: ctx.io.cwd,
        followSymlinks: flags.followSymlinks,
      });
      const failed = reportProblems(ctx, result.problems);
      if (format === 'json') {
        ctx.json({
          findings: result.findings,
          files: result.files,
          documents: result.documents,
          objects: result.objects,
          skippedDocuments: result.skippedDocuments,
          skippedFiles: result.skippedFiles,
          problems: result.problems,
        });
      } else if (format === 'sarif') {
        const { toSarif } = await import('../../k8s/sarif.js');
        ctx.json(toSarif(result.findings, program.version() ?? '0.0.0', rules.defaultNamespace));
      } else {
        for (const f of result.findings) ctx.out(formatFinding(f, rules.defaultNamespace));
      }
      if (!ctx.globals().quiet) {
        for (const path of result.skippedFiles) ctx.err(skippedNote(path));
        ctx.err(summaryLine(result));
      }
      if (result.findings.length > 0) ctx.setExitCode(1);
      if (failed) ctx.setExitCode(2);
    });
}
