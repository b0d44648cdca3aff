/**
 * @module cli/commands/check
 * `imgdigest check -f PATH...`: report every image without a digest (exit 1 if any).
 */
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { Finding } from '../../k8s/check.js';
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
      const { checkEach, formatFinding, skippedNote, summaryOf } = await import('../../k8s/check.js');
      const { readInputs } = await import('../../k8s/inputs.js');
      const { files, problems } = await readInputs(paths, {
        stdin: ctx.io.stdin,
        cwd: ctx.io.cwd,
        followSymlinks: flags.followSymlinks,
      });
      const failed = reportProblems(ctx, problems);
      // Text is printed file by file as each is checked (nothing is kept but counts); JSON and
      // SARIF are one document each, so their findings are kept until it is printed.
      const findings: Finding[] = [];
      const counts = checkEach(files, rules, (_path, found) => {
        if (format === 'text') for (const f of found) ctx.out(formatFinding(f, rules.defaultNamespace));
        else for (const f of found) findings.push(f); // not push(...): 10^5 items overflow the stack
      });
      if (format === 'json') {
        ctx.json({
          findings,
          files: counts.files,
          documents: counts.documents,
          objects: counts.objects,
          skippedDocuments: counts.skippedDocuments,
          skippedFiles: counts.skippedFiles,
          problems,
        });
      } else if (format === 'sarif') {
        const { toSarif } = await import('../../k8s/sarif.js');
        ctx.json(toSarif(findings, program.version() ?? '0.0.0', rules.defaultNamespace));
      }
      if (!ctx.globals().quiet) {
        for (const path of counts.skippedFiles) ctx.err(skippedNote(path));
        ctx.err(summaryOf({ ...counts, problems: problems.length }));
      }
      if (counts.findings > 0) ctx.setExitCode(1);
      if (failed) ctx.setExitCode(2);
    });
}
