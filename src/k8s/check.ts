/**
 * @module k8s/check
 * `imgdigest check`: every image without a digest in a set of manifests, with file:line:column, the
 * object it belongs to and Gatekeeper's message.
 */
import { combine, type StreamedFile, visitFiles } from './documents.js';
import { type InputFile, type InputProblem, type ReadInputsOptions, readInputs } from './inputs.js';
import type { ImageLocation } from './locations.js';
import { describeObject, type ObjectMeta } from './objects.js';
import { hasDigest, isExempt, violationMessage } from './policy.js';
import type { Rules } from './rules.js';
import { detachString, fileSites, formatSite, type ImageSite, valueSites, type WalkStats } from './sites.js';

export { combine };

/** The rule id used in SARIF and JSON output. */
export const RULE_ID = 'image-digest-required';

/** One image without a digest: where it sits, and Gatekeeper's message. */
export interface Finding extends ImageSite {
  rule: typeof RULE_ID;
  message: string;
}

/** Counts for the summary line. */
export type CheckStats = WalkStats;

export interface CheckResult extends CheckStats {
  findings: Finding[];
  problems: InputProblem[];
  /** Files with no Kubernetes object and no image path (a Chart.yaml, random YAML): skipped. */
  skippedFiles: string[];
}

/** Whether an image field violates the rule: an image without a digest that no exemption covers. */
export function isViolation(location: Pick<ImageSite, 'image'>, rules: Rules): boolean {
  return !hasDigest(location.image) && !isExempt(location.image, rules.exemptImages);
}

/** A violation in a plain object (the webhook's JSON, a KRM item). */
export interface Violation {
  object: ObjectMeta;
  location: ImageLocation;
  message: string;
}

/**
 * The violations of one plain value (an object or a List), as a Constraint would report them:
 * nothing when the rules do not match the object.
 */
export function violationsOf(value: unknown, rules: Rules): Violation[] {
  return valueSites(value, rules, { file: 'value' })
    .filter(({ site }) => isViolation(site, rules))
    .map(({ site, path }) => ({
      object: site.object,
      location: { path, fieldPath: site.fieldPath, field: site.field, name: site.name, image: site.image },
      message: violationMessage(site),
    }));
}

function emptyStats(): CheckStats {
  return { files: 0, documents: 0, objects: 0, skippedDocuments: 0 };
}

/**
 * Check one file, a document at a time (only the findings are kept). `skipped` when the file
 * has no Kubernetes object and no image path at all: not a manifest.
 */
export function checkFile(
  file: StreamedFile,
  rules: Rules,
): { findings: Finding[]; stats: CheckStats; skipped: boolean } {
  const stats = emptyStats();
  const findings: Finding[] = [];
  let sites = 0;
  for (const { site } of fileSites([file], rules, stats)) {
    sites++;
    if (isViolation(site, rules))
      findings.push({ rule: RULE_ID, ...site, message: detachString(violationMessage(site)) });
  }
  // Report in reading order, whatever order the objects' fields were visited in.
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { findings, stats, skipped: stats.objects === 0 && sites === 0 };
}

/**
 * Read, parse and check files. Invalid YAML throws `YAML_INVALID` (exit 2); unreadable inputs are
 * returned as problems.
 */
export async function checkPaths(
  paths: readonly string[],
  rules: Rules,
  options: ReadInputsOptions = {},
): Promise<CheckResult> {
  const { files, problems } = await readInputs(paths, options);
  return { ...checkFiles(files, rules), problems };
}

/**
 * Check already-read files, document by document. Invalid YAML in any file throws one
 * `YAML_INVALID` naming every bad file, after all files were read.
 */
export function checkFiles(files: readonly InputFile[], rules: Rules): Omit<CheckResult, 'problems'> {
  const findings: Finding[] = [];
  const counts = checkEach(files, rules, (_path, found) => {
    for (const f of found) findings.push(f); // not push(...): a spread of 10^5 items overflows the stack
  });
  const { files: n, documents, objects, skippedDocuments, skippedFiles } = counts;
  return { findings, files: n, documents, objects, skippedDocuments, skippedFiles };
}

/** What {@link checkEach} counted: enough for the summary line, without the findings. */
export interface CheckCounts extends CheckStats {
  /** Findings handed out. */
  findings: number;
  /** Distinct objects with at least one finding. */
  flaggedObjects: number;
  skippedFiles: string[];
}

/**
 * Check files one at a time in the order given, handing each file's findings (in reading order)
 * to `onFile` as soon as that file is checked, and keeping only counts: memory follows the largest
 * file, not the total (the CLI prints each file's findings as it goes). A file with invalid YAML
 * is not handed out; after the last file one `YAML_INVALID` names every bad file (the valid files'
 * findings were handed out by then).
 */
export function checkEach(
  files: readonly InputFile[],
  rules: Rules,
  onFile: (path: string, findings: Finding[], skipped: boolean) => void,
): CheckCounts {
  const counts: CheckCounts = { ...emptyStats(), findings: 0, flaggedObjects: 0, skippedFiles: [] };
  visitFiles(files, (file) => {
    const { findings, stats, skipped } = checkFile(file, rules);
    if (skipped) counts.skippedFiles.push(file.path);
    counts.files += stats.files;
    counts.documents += stats.documents;
    counts.objects += stats.objects;
    counts.skippedDocuments += stats.skippedDocuments;
    counts.findings += findings.length;
    // An object is one file's: counted file by file, the sum is the count over all files.
    counts.flaggedObjects += flaggedObjects(findings);
    onFile(file.path, findings, skipped);
  });
  return counts;
}

/** How many distinct objects the findings name. */
function flaggedObjects(findings: readonly Finding[]): number {
  return new Set(
    findings.map(
      (f) => `${f.file}\0${f.document}\0${f.object.kind}\0${f.object.namespace}\0${f.object.name}`,
    ),
  ).size;
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** `3 violations in 2 objects (5 files, 7 objects checked, 1 non-Kubernetes document skipped)`. */
export function summaryLine(result: CheckResult): string {
  return summaryOf({
    ...result,
    findings: result.findings.length,
    flaggedObjects: flaggedObjects(result.findings),
    problems: result.problems.length,
  });
}

/** {@link summaryLine} from counts (what {@link checkEach} returns, and how many inputs were unreadable). */
export function summaryOf(counts: Omit<CheckCounts, 'skippedFiles'> & { problems: number }): string {
  const extras = [plural(counts.files, 'file'), `${plural(counts.objects, 'object')} checked`];
  if (counts.skippedDocuments > 0)
    extras.push(`${plural(counts.skippedDocuments, 'non-Kubernetes document')} skipped`);
  if (counts.problems > 0) extras.push(plural(counts.problems, 'unreadable input'));
  return `${plural(counts.findings, 'violation')} in ${plural(counts.flaggedObjects, 'object')} (${extras.join(', ')})`;
}

/**
 * `FILE:LINE:COL: KIND NAMESPACE/NAME: MESSAGE`; an object that names no namespace is shown in
 * `defaultNamespace` (the one the rules matched it in), or `-` without one.
 */
export function formatFinding(f: Finding, defaultNamespace?: string): string {
  // A kustomization or values file has no namespace: it is named by its file.
  const who =
    f.field === 'images' || f.field === 'values'
      ? `${f.object.kind} ${f.object.name || f.file}`
      : describeObject(f.object, defaultNamespace);
  return `${formatSite(f, 'file:line:col')}: ${who}: ${f.message}`;
}

/** The note for a file that is skipped because nothing in it is a Kubernetes object or an image path. */
export function skippedNote(path: string): string {
  return `imgdigest: note: ${path}: no Kubernetes object or image path, skipped`;
}
