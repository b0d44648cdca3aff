/**
 * @module k8s/krm
 * `imgdigest krm check|pin`: a KRM function (kpt, kustomize) reading a `ResourceList` on stdin and
 * writing one on stdout.
 *
 * - check: the items unchanged, plus `results` (severity error, message, resourceRef, field.path,
 *   file {path, index} from the `internal.config.kubernetes.io/*` annotations); exit 1 when any.
 * - pin: the items with images pinned, spliced into the input text so comments and formatting
 *   that kpt passes through survive; failures become error results (exit 1, items unchanged).
 * The functionConfig is a ConfigMap (`data` with the flag names) or an `ImageDigestRules` object.
 * @see https://github.com/kubernetes-sigs/kustomize/blob/master/cmd/config/docs/api-conventions/functions-spec.md
 */
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import type { Resolver } from '../resolver/types.js';
import { checkFile } from './check.js';
import { parseFile } from './documents.js';
import { isRecord } from './objects.js';
import { getPath, type PathSegment } from './paths.js';
import { pinFiles } from './pin.js';
import { mergeRules, type Rules, rulesFromConfigMapData, rulesFromValue } from './rules.js';

export const RESOURCE_LIST_KIND = 'ResourceList';
const API_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'];
const SOURCE = 'ResourceList';

/** A KRM function result (functions spec "results"). */
export interface KrmResult {
  message: string;
  severity: 'error' | 'warning' | 'info';
  resourceRef?: { apiVersion: string; kind: string; name: string; namespace?: string };
  field?: { path: string };
  file?: { path: string; index?: number };
}

export interface KrmOutput {
  /** The ResourceList to write to stdout. */
  output: string;
  /** 1 when a result has severity error, else 0. */
  exitCode: number;
  results: KrmResult[];
}

/** Read the ResourceList and its functionConfig; rules from the config are merged over `base`. */
function readResourceList(text: string, base: Rules): { value: Record<string, unknown>; rules: Rules } {
  const file = parseFile(SOURCE, text);
  const value = file.docs.find((d) => d.value != null)?.value;
  if (
    !isRecord(value) ||
    value.kind !== RESOURCE_LIST_KIND ||
    !API_VERSIONS.includes(String(value.apiVersion))
  ) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `stdin: expected a ${RESOURCE_LIST_KIND} (apiVersion ${API_VERSIONS[0]})`,
    );
  }
  if (value.items !== undefined && value.items !== null && !Array.isArray(value.items)) {
    throw new ImgdigestError('INPUT_INVALID', 'stdin: ResourceList items must be a list');
  }
  return { value, rules: mergeRules(base, rulesFromFunctionConfig(value.functionConfig)) };
}

/** Rules from a functionConfig: ConfigMap `data`, or an `ImageDigestRules` object. */
export function rulesFromFunctionConfig(config: unknown): Rules {
  if (config === undefined || config === null) return rulesFromValue({}, 'functionConfig');
  if (!isRecord(config)) throw new ImgdigestError('CONFIG_INVALID', 'functionConfig must be an object');
  if (config.kind === 'ConfigMap') return rulesFromConfigMapData(config.data, 'functionConfig ConfigMap');
  return rulesFromValue(config, `functionConfig ${String(config.kind)}`);
}

function annotation(item: unknown, ...names: string[]): string | undefined {
  const a = getPath(item, ['metadata', 'annotations']);
  if (!isRecord(a)) return undefined;
  for (const n of names) if (typeof a[n] === 'string') return a[n];
  return undefined;
}

/** resourceRef and file of the item an object path lies in. */
function refOf(
  list: Record<string, unknown>,
  objectPath: readonly PathSegment[],
): Pick<KrmResult, 'resourceRef' | 'file'> {
  const item = getPath(list, objectPath);
  const out: Pick<KrmResult, 'resourceRef' | 'file'> = {};
  if (isRecord(item)) {
    const md = isRecord(item.metadata) ? item.metadata : {};
    out.resourceRef = {
      apiVersion: String(item.apiVersion ?? ''),
      kind: String(item.kind ?? ''),
      name: String(md.name ?? ''),
    };
    if (typeof md.namespace === 'string') out.resourceRef.namespace = md.namespace;
  }
  const top = getPath(list, objectPath.slice(0, 2));
  const path = annotation(top, 'internal.config.kubernetes.io/path', 'config.kubernetes.io/path');
  if (path !== undefined) {
    const index = annotation(top, 'internal.config.kubernetes.io/index', 'config.kubernetes.io/index');
    out.file = index !== undefined && /^\d+$/.test(index) ? { path, index: Number(index) } : { path };
  }
  return out;
}

/** Run `krm check` on a ResourceList text. */
export function krmCheck(text: string, base: Rules): KrmOutput {
  const { value, rules } = readResourceList(text, base);
  const file = parseFile(SOURCE, text);
  const { findings } = checkFile(file, rules);
  const results: KrmResult[] = findings.map((f) => {
    return {
      message: f.message,
      severity: 'error',
      ...refOf(value, f.objectPath),
      field: { path: f.fieldPath },
    };
  });
  return finish(text, results);
}

/** Run `krm pin` on a ResourceList text with a resolver. */
export async function krmPin(text: string, base: Rules, resolver: Resolver): Promise<KrmOutput> {
  const { value, rules } = readResourceList(text, base);
  const result = await pinFiles([{ path: SOURCE, text }], { rules, resolver });
  const results: KrmResult[] = [];
  for (const f of result.failures) {
    results.push({
      message: `${f.image}: ${f.reason}`,
      severity: 'error',
      ...refOf(value, f.objectPath),
    });
  }
  for (const n of result.notes) {
    results.push({
      message: `${n.image}: ${n.reason}`,
      severity: 'warning',
      ...refOf(value, n.objectPath),
    });
  }
  for (const c of result.changes) {
    results.push({
      message: `pinned ${c.image} to ${c.to}`,
      severity: 'info',
      ...refOf(value, c.objectPath),
      field: { path: c.fieldPath },
    });
  }
  const out = result.failures.length > 0 ? text : (result.files[0]?.text ?? text);
  return finish(out, results);
}

/** Add `results` to the ResourceList text, keeping the items' bytes when the layout allows. */
function finish(text: string, results: KrmResult[]): KrmOutput {
  const exitCode = results.some((r) => r.severity === 'error') ? 1 : 0;
  if (results.length === 0) return { output: text, exitCode, results };
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{')) {
    const value = JSON.parse(trimmed) as Record<string, unknown>;
    const existing = Array.isArray(value.results) ? value.results : [];
    return {
      output: `${JSON.stringify({ ...value, results: [...existing, ...results] }, null, 2)}\n`,
      exitCode,
      results,
    };
  }
  const doc = parseDocument(text);
  const simple =
    isMap(doc.contents) &&
    !doc.contents.flow &&
    !doc.has('results') &&
    !/^\.\.\.\s*$/m.test(text) &&
    !/^---/m.test(text.slice(1));
  if (simple) {
    const sep = text.endsWith('\n') ? '' : '\n';
    return { output: `${text}${sep}${stringify({ results }, { lineWidth: 0 })}`, exitCode, results };
  }
  const existing = doc.get('results');
  if (isSeq(existing)) for (const r of results) existing.add(doc.createNode(r));
  else doc.set('results', doc.createNode(results));
  return { output: String(doc), exitCode, results };
}
