/**
 * @module k8s/rules
 * The one rules file shared by `check`, `pin`, `krm` and the webhook: exemptions, which objects
 * the rule applies to (kinds, namespaces), custom image locations, platform and failure mode.
 *
 * ```yaml
 * apiVersion: imgdigest.dev/v1alpha1   # optional
 * kind: ImageDigestRules               # optional
 * exemptImages: [registry.k8s.io/pause*, busybox:1.36]   # exact, or prefix when ending in *
 * match:
 *   kinds: [Pod, apps/Deployment, {apiGroups: [batch], kinds: [Job, CronJob]}]
 *   namespaces: [prod, team-*]
 *   excludedNamespaces: [kube-system]
 *   defaultNamespace: default          # for objects that name none
 * imageLocations:
 *   - apiVersion: argoproj.io/v1alpha1 # optional; exact or group/*
 *     kind: Rollout
 *     podSpecPaths: [spec.template.spec]
 *     imagePaths: ['spec.**.image']
 * platform: linux/amd64                # pin the child manifest instead of the index
 * dropTag: false                       # write repo@digest instead of repo:tag@digest
 * failurePolicy: Ignore                # webhook: Fail or Ignore
 * webhook: {enforcement: warn}         # the webhook's own settings (src/webhook/settings.ts)
 * ```
 * YAML or JSON. Every problem is a `CONFIG_INVALID` error naming file:line:column and the field.
 */
import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { ImgdigestError } from '../core/errors.js';
import { parsePlatform } from '../core/platform.js';
import type { ImageLocationRule } from './locations.js';
import { isRecord } from './objects.js';
import { compilePath, type PathSegment } from './paths.js';
import { type KindMatch, type ObjectMatch, parseKindSelector } from './policy.js';

export const RULES_API_VERSION = 'imgdigest.dev/v1alpha1';
export const RULES_KIND = 'ImageDigestRules';

/** Everything that decides what is checked, pinned or admitted. */
export interface Rules extends ObjectMatch {
  exemptImages: string[];
  kinds: KindMatch[];
  namespaces: string[];
  excludedNamespaces: string[];
  defaultNamespace: string;
  imageLocations: ImageLocationRule[];
  platform?: string;
  dropTag: boolean;
  failurePolicy: 'Fail' | 'Ignore';
}

/** The rules with nothing configured: every kind, every namespace, no exemptions. */
export function defaultRules(): Rules {
  return {
    exemptImages: [],
    kinds: [],
    namespaces: [],
    excludedNamespaces: [],
    defaultNamespace: 'default',
    imageLocations: [],
    dropTag: false,
    failurePolicy: 'Fail',
  };
}

/** Where a field sits, for error messages (`rules.yaml:4:3`). */
type Locate = (path: PathSegment[]) => string;

/**
 * A rules file as read: its rules, and the section a later layer owns, as written, with where
 * each field sits so that layer names file:line:column too. The webhook reads `webhook` (see
 * src/webhook/settings.ts); this module only knows that the key belongs to the file.
 */
export interface RulesFile {
  rules: Rules;
  /** The `webhook:` section as written (undefined when absent). */
  webhook: unknown;
  /** Where a field sits (`rules.yaml:4:3`), for messages about that section. */
  locate: Locate;
}

class Reader {
  constructor(
    readonly source: string,
    readonly locate: Locate,
  ) {}

  fail(path: PathSegment[], why: string): never {
    const field = path.length ? ` ${path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.')}` : '';
    throw new ImgdigestError('CONFIG_INVALID', `${this.locate(path)}:${field.replace(/\.\[/g, '[')} ${why}`, {
      details: { source: this.source, field: path },
    });
  }

  strings(value: unknown, path: PathSegment[]): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(path, 'must be a list of strings');
    return value.map((v, i) => {
      if (typeof v !== 'string' || v === '') this.fail([...path, i], 'must be a non-empty string');
      return v;
    });
  }

  string(value: unknown, path: PathSegment[]): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') this.fail(path, 'must be a non-empty string');
    return value;
  }

  keys(value: Record<string, unknown>, allowed: string[], path: PathSegment[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        this.fail([...path, key], `is not a known field (known: ${allowed.join(', ')})`);
    }
  }
}

const TOP_KEYS = [
  'apiVersion',
  'kind',
  'metadata',
  'exemptImages',
  'match',
  'imageLocations',
  'platform',
  'dropTag',
  'failurePolicy',
  'webhook',
];

/** Validate a parsed rules object (from a file, a KRM functionConfig, or code). */
export function rulesFromValue(value: unknown, source: string, locate?: Locate): Rules {
  const r: Reader = new Reader(source, locate ?? (() => source));
  if (!isRecord(value)) r.fail([], 'rules must be a mapping');
  r.keys(value, TOP_KEYS, []);
  if (value.apiVersion !== undefined && value.apiVersion !== RULES_API_VERSION) {
    r.fail(['apiVersion'], `must be ${RULES_API_VERSION}`);
  }
  if (value.kind !== undefined && value.kind !== RULES_KIND) r.fail(['kind'], `must be ${RULES_KIND}`);
  const rules = defaultRules();
  rules.exemptImages = r.strings(value.exemptImages, ['exemptImages']);
  if (value.match !== undefined) readMatch(r, value.match, rules);
  if (value.imageLocations !== undefined) {
    if (!Array.isArray(value.imageLocations)) r.fail(['imageLocations'], 'must be a list');
    rules.imageLocations = value.imageLocations.map((l, i) => readLocation(r, l, ['imageLocations', i]));
  }
  const platform = r.string(value.platform, ['platform']);
  if (platform !== undefined) {
    try {
      parsePlatform(platform);
    } catch (e) {
      r.fail(['platform'], `is not a platform (os/arch[/variant]): ${(e as Error).message}`);
    }
    rules.platform = platform;
  }
  if (value.dropTag !== undefined) {
    if (typeof value.dropTag !== 'boolean') r.fail(['dropTag'], 'must be true or false');
    rules.dropTag = value.dropTag;
  }
  if (value.failurePolicy !== undefined) {
    if (value.failurePolicy !== 'Fail' && value.failurePolicy !== 'Ignore') {
      r.fail(['failurePolicy'], 'must be Fail or Ignore');
    }
    rules.failurePolicy = value.failurePolicy;
  }
  return rules;
}

function readMatch(r: Reader, match: unknown, rules: Rules): void {
  if (!isRecord(match)) r.fail(['match'], 'must be a mapping');
  r.keys(match, ['kinds', 'namespaces', 'excludedNamespaces', 'defaultNamespace'], ['match']);
  if (match.kinds !== undefined) {
    if (!Array.isArray(match.kinds)) r.fail(['match', 'kinds'], 'must be a list');
    rules.kinds = match.kinds.map((k, i) => {
      const at = ['match', 'kinds', i];
      if (typeof k === 'string' && k !== '') return parseKindSelector(k);
      if (!isRecord(k)) r.fail(at, 'must be a kind (Deployment, apps/Deployment) or {apiGroups, kinds}');
      r.keys(k, ['apiGroups', 'kinds'], at);
      const apiGroups = Array.isArray(k.apiGroups) ? k.apiGroups : ['*'];
      apiGroups.forEach((g, j) => {
        if (typeof g !== 'string') r.fail([...at, 'apiGroups', j], 'must be a string ("" is the core group)');
      });
      return { apiGroups: apiGroups as string[], kinds: r.strings(k.kinds, [...at, 'kinds']) };
    });
  }
  rules.namespaces = r.strings(match.namespaces, ['match', 'namespaces']);
  rules.excludedNamespaces = r.strings(match.excludedNamespaces, ['match', 'excludedNamespaces']);
  rules.defaultNamespace = r.string(match.defaultNamespace, ['match', 'defaultNamespace']) ?? 'default';
}

function readLocation(r: Reader, value: unknown, at: PathSegment[]): ImageLocationRule {
  if (!isRecord(value))
    r.fail(at, 'must be a mapping with kind (or files) and podSpecPaths, imagePaths or imageMapPaths');
  r.keys(value, ['apiVersion', 'kind', 'files', 'podSpecPaths', 'imagePaths', 'imageMapPaths'], at);
  const kind = r.string(value.kind, [...at, 'kind']);
  const files = value.files === undefined ? undefined : r.strings(value.files, [...at, 'files']);
  if (kind === undefined && files === undefined)
    r.fail([...at, 'kind'], 'is required (or files, for YAML that is not a Kubernetes object)');
  if (kind !== undefined && files !== undefined)
    r.fail([...at, 'files'], 'is for YAML that is not a Kubernetes object: give kind or files, not both');
  if (files?.length === 0) r.fail([...at, 'files'], 'must name at least one file pattern');
  const compile = (key: 'podSpecPaths' | 'imagePaths' | 'imageMapPaths') =>
    r.strings(value[key], [...at, key]).map((p, i) => {
      try {
        return compilePath(p);
      } catch (e) {
        return r.fail([...at, key, i], (e as Error).message);
      }
    });
  const rule: ImageLocationRule = {
    podSpecPaths: compile('podSpecPaths'),
    imagePaths: compile('imagePaths'),
    imageMapPaths: compile('imageMapPaths'),
  };
  if (kind !== undefined) rule.kind = kind;
  if (files !== undefined) rule.files = files;
  if (rule.podSpecPaths.length === 0 && rule.imagePaths.length === 0 && rule.imageMapPaths.length === 0) {
    r.fail(at, 'needs podSpecPaths, imagePaths or imageMapPaths');
  }
  const apiVersion = r.string(value.apiVersion, [...at, 'apiVersion']);
  if (apiVersion !== undefined) rule.apiVersion = apiVersion;
  return rule;
}

/** Parse a rules file's text (YAML or JSON). */
export function parseRules(text: string, source: string): Rules {
  return parseRulesFile(text, source).rules;
}

/** Parse a rules file's text (YAML or JSON), keeping the `webhook:` section for the webhook. */
export function parseRulesFile(text: string, source: string): RulesFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `${source}:${line}:${col}: invalid YAML: ${first.message.split('\n')[0]}`,
      {
        details: { source },
      },
    );
  }
  const locate: Locate = (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return `${source}:${line}:${col}`;
      }
    }
    return source;
  };
  // An empty file is the default rules.
  const value: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const rules = rulesFromValue(value, source, locate);
  return { rules, webhook: isRecord(value) ? value.webhook : undefined, locate };
}

/** Read and parse a rules file. */
export async function loadRules(file: string): Promise<Rules> {
  return (await loadRulesFile(file)).rules;
}

/** Read and parse a rules file, keeping the `webhook:` section for the webhook. */
export async function loadRulesFile(file: string): Promise<RulesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ImgdigestError('CONFIG_INVALID', `cannot read rules file ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseRulesFile(text, file);
}

/** Combine two rule sets: lists are concatenated, scalars set in `over` win. */
export function mergeRules(base: Rules, over: Rules): Rules {
  const defaults = defaultRules();
  const merged: Rules = {
    exemptImages: [...base.exemptImages, ...over.exemptImages],
    kinds: [...base.kinds, ...over.kinds],
    namespaces: [...base.namespaces, ...over.namespaces],
    excludedNamespaces: [...base.excludedNamespaces, ...over.excludedNamespaces],
    defaultNamespace:
      over.defaultNamespace !== defaults.defaultNamespace ? over.defaultNamespace : base.defaultNamespace,
    imageLocations: [...base.imageLocations, ...over.imageLocations],
    dropTag: base.dropTag || over.dropTag,
    failurePolicy: over.failurePolicy !== defaults.failurePolicy ? over.failurePolicy : base.failurePolicy,
  };
  const platform = over.platform ?? base.platform;
  if (platform) merged.platform = platform;
  return merged;
}

/** Command-line flags that add to (lists) or override (scalars) the rules. */
export interface RuleFlags {
  exemptImages?: string[];
  kinds?: string[];
  namespaces?: string[];
  excludedNamespaces?: string[];
  defaultNamespace?: string;
  platform?: string;
  dropTag?: boolean;
}

/** Split repeatable, comma-separated flag values (`--kinds Pod,Deployment --kinds Job`). */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(/[,\n]/))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The rules with flags applied: lists are added to, scalars replace. */
export function applyRuleFlags(base: Rules, flags: RuleFlags): Rules {
  const rules: Rules = { ...base };
  rules.exemptImages = [...base.exemptImages, ...splitList(flags.exemptImages)];
  rules.kinds = [...base.kinds, ...splitList(flags.kinds).map(parseKindSelector)];
  rules.namespaces = [...base.namespaces, ...splitList(flags.namespaces)];
  rules.excludedNamespaces = [...base.excludedNamespaces, ...splitList(flags.excludedNamespaces)];
  if (flags.defaultNamespace) rules.defaultNamespace = flags.defaultNamespace;
  if (flags.platform) {
    parsePlatform(flags.platform);
    rules.platform = flags.platform;
  }
  if (flags.dropTag) rules.dropTag = true;
  return rules;
}

/**
 * A KRM functionConfig ConfigMap's `data` (all strings): the same names as the rules file, lists
 * comma- or newline-separated, `dropTag: "true"`.
 */
export function rulesFromConfigMapData(data: unknown, source: string): Rules {
  const r: Reader = new Reader(source, () => source);
  if (data === undefined || data === null) return defaultRules();
  if (!isRecord(data)) r.fail(['data'], 'must be a mapping of strings');
  const known = [
    'exemptImages',
    'kinds',
    'namespaces',
    'excludedNamespaces',
    'defaultNamespace',
    'platform',
    'dropTag',
    'failurePolicy',
  ];
  r.keys(data, known, ['data']);
  const str = (key: string): string | undefined => {
    const v = data[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') r.fail(['data', key], 'must be a string');
    return v;
  };
  const dropTag = str('dropTag');
  if (dropTag !== undefined && dropTag !== 'true' && dropTag !== 'false')
    r.fail(['data', 'dropTag'], 'must be "true" or "false"');
  const failurePolicy = str('failurePolicy');
  if (failurePolicy !== undefined && failurePolicy !== 'Fail' && failurePolicy !== 'Ignore') {
    r.fail(['data', 'failurePolicy'], 'must be Fail or Ignore');
  }
  const list = (key: string) => {
    const v = str(key);
    return v === undefined ? [] : [v];
  };
  const flags: RuleFlags = {
    exemptImages: list('exemptImages'),
    kinds: list('kinds'),
    namespaces: list('namespaces'),
    excludedNamespaces: list('excludedNamespaces'),
    dropTag: dropTag === 'true',
  };
  const defaultNamespace = str('defaultNamespace');
  if (defaultNamespace) flags.defaultNamespace = defaultNamespace;
  const platform = str('platform');
  if (platform) flags.platform = platform;
  const rules = applyRuleFlags(defaultRules(), flags);
  if (failurePolicy) rules.failurePolicy = failurePolicy as Rules['failurePolicy'];
  return rules;
}
