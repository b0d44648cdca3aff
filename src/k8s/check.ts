/**
 * @module k8s/check
 * `imgdigest check`: every image without a digest in a set of manifests, with file:line:column, the
 * object it belongs to and Gatekeeper's message.
 */
import { ImgdigestError } from '../core/errors.js';
import { type ParsedFile, parseFile, positionAt } from './documents.js';
import { type InputFile, type InputProblem, type ReadInputsOptions, readInputs } from './inputs.js';
import { findImages, type ImageLocation, objectsIn } from './locations.js';
import type { PathSegment } from './paths.js';
import { hasDigest, isExempt, type ObjectMeta, objectMatches, violationMessage } from './policy.js';
import type { Rules } from './rules.js';

/** The rule id used in SARIF and JSON output. */
export const RULE_ID = 'image-digest-required';

/** One image without a digest. */
export interface Finding {
  rule: typeof RULE_ID;
  file: string;
  line: number;
  column: number;
  /** 0-based index of the YAML document in the file. */
  document: number;
  object: ObjectMeta;
  /** Path of the object from the document root (`['items', 2]` inside a List). */
  objectPath: PathSegment[];
  field: ImageLocation['field'];
  fieldPath: string;
  name: string | undefined;
  image: unknown;
  message: string;
}

/** Counts for the summary line. */
export interface CheckStats {
  files: number;
  documents: number;
  objects: number;
  /** Non-empty documents that are not Kubernetes objects. */
  skippedDocuments: number;
}

export interface CheckResult extends CheckStats {
  findings: Finding[];
  problems: InputProblem[];
}

/** Whether a location violates the rule: an image without a digest that no exemption covers. */
export function isViolation(location: ImageLocation, rules: Rules): boolean {
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
  const out: Violation[] = [];
  for (const obj of objectsIn(value)) {
    if (!objectMatches(obj.meta, rules)) continue;
    for (const location of findImages(obj, rules.imageLocations)) {
      if (isViolation(location, rules))
        out.push({ object: obj.meta, location, message: violationMessage(location) });
    }
  }
  return out;
}

/** Check one parsed file. */
export function checkFile(file: ParsedFile, rules: Rules): { findings: Finding[]; stats: CheckStats } {
  const findings: Finding[] = [];
  const stats: CheckStats = { files: 1, documents: 0, objects: 0, skippedDocuments: 0 };
  for (const d of file.docs) {
    if (d.value === null || d.value === undefined) continue;
    stats.documents++;
    const objects = objectsIn(d.value);
    if (objects.length === 0) {
      stats.skippedDocuments++;
      continue;
    }
    for (const obj of objects) {
      stats.objects++;
      if (!objectMatches(obj.meta, rules)) continue;
      for (const loc of findImages(obj, rules.imageLocations)) {
        if (!isViolation(loc, rules)) continue;
        const { line, column } = positionAt(file, d.doc, loc.path);
        findings.push({
          rule: RULE_ID,
          file: file.path,
          line,
          column,
          document: d.index,
          object: obj.meta,
          objectPath: obj.path,
          field: loc.field,
          fieldPath: loc.fieldPath,
          name: loc.name,
          image: loc.image,
          message: violationMessage(loc),
        });
      }
    }
  }
  // Report in reading order, whatever order the objects' fields were visited in.
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { findings, stats };
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

/** Check already-read files. */
export function checkFiles(files: readonly InputFile[], rules: Rules): Omit<CheckResult, 'problems'> {
  const result: Omit<CheckResult, 'problems'> = {
    findings: [],
    files: 0,
    documents: 0,
    objects: 0,
    skippedDocuments: 0,
  };
  const errors: ImgdigestError[] = [];
  for (const f of files) {
    let parsed: ParsedFile;
    try {
      parsed = parseFile(f.path, f.text);
    } catch (e) {
      if (e instanceof ImgdigestError) {
        errors.push(e);
        continue;
      }
      throw e;
    }
    const { findings, stats } = checkFile(parsed, rules);
    result.findings.push(...findings);
    result.files += stats.files;
    result.documents += stats.documents;
    result.objects += stats.objects;
    result.skippedDocuments += stats.skippedDocuments;
  }
  if (errors.length > 0) throw combine(errors);
  return result;
}

/** One error listing all: the first one's code, every message on its own line in `details`. */
export function combine(errors: ImgdigestError[]): ImgdigestError {
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  return new ImgdigestError(first.code, `${first.message} (and ${errors.length - 1} more errors)`, {
    details: { errors: errors.map((e) => e.message) },
  });
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** `3 violations in 2 objects (5 files, 7 objects checked, 1 non-Kubernetes document skipped)`. */
export function summaryLine(result: CheckResult): string {
  const objects = new Set(
    result.findings.map(
      (f) => `${f.file}\0${f.document}\0${f.object.kind}\0${f.object.namespace}\0${f.object.name}`,
    ),
  ).size;
  const extras = [plural(result.files, 'file'), `${plural(result.objects, 'object')} checked`];
  if (result.skippedDocuments > 0)
    extras.push(`${plural(result.skippedDocuments, 'non-Kubernetes document')} skipped`);
  if (result.problems.length > 0) extras.push(plural(result.problems.length, 'unreadable input'));
  return `${plural(result.findings.length, 'violation')} in ${plural(objects, 'object')} (${extras.join(', ')})`;
}

/** `FILE:LINE:COL: KIND NAMESPACE/NAME: MESSAGE` (namespace `-` when the object names none). */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.object.kind} ${f.object.namespace ?? '-'}/${f.object.name}: ${f.message}`;
}
