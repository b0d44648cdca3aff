/**
 * @module cli/flags
 * Flags more than one command shares, read the same way everywhere:
 * - the parsers every flag value goes through: {@link collect} for repeatable flags,
 *   {@link wholeNumber} for every numeric flag (one strictness: `--concurrency abc`, `--days -3`
 *   and `--replicas 1.5` are all usage errors, exit 2, naming the flag and the value);
 * - the Kubernetes flags of check, pin, outdated, krm and policy: `-f`, `--follow-symlinks`, `--rules`,
 *   `--exempt-image`, `--kinds`, `--namespaces`, `--exclude-namespaces`, `--default-namespace`.
 * The registry connection and credential flags are in ./options.ts.
 */
import type { Command } from 'commander';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import type { InputProblem, Inputs } from '../k8s/inputs.js';
import type { Rules } from '../k8s/rules.js';
import type { CliContext } from './context.js';

/** Commander's parser for a repeatable flag: every value, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * A numeric flag's value: decimal digits only (no sign, fraction, exponent or spaces), from `min`
 * to `max`. Throws a `USAGE` error naming the flag and what was given.
 * @example wholeNumber('8', '--concurrency', 1) // 8
 */
export function wholeNumber(value: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const what =
      max < Number.MAX_SAFE_INTEGER
        ? `a whole number from ${min} to ${max}`
        : min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer of at least ${min}`;
    throw new ImgdigestError('USAGE', `${flag} must be ${what}, got "${value}"`);
  }
  return n;
}

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
  followSymlinks?: boolean;
}

/** `-f, --filename` (repeatable) and `--follow-symlinks`. */
export function addFileOptions(cmd: Command): Command {
  return cmd
    .option(
      '-f, --filename <path>',
      'manifest file or directory (recursive *.yaml, *.yml, *.json), or - for stdin; repeatable',
      collect,
    )
    .option(
      '--follow-symlinks',
      'follow symlinks that lead out of the directories given (skipped by default, with a warning)',
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

/**
 * Rules from `--rules` plus the flags. The rules file's `webhook:` section is checked here too,
 * though only the webhook uses it: one file, whose mistakes every command reports alike.
 */
export async function rulesFromOptions(opts: RuleOptions): Promise<Rules> {
  const { applyRuleFlags, defaultRules, loadRulesFile } = await import('../k8s/rules.js');
  let base = defaultRules();
  if (opts.rules) {
    const file = await loadRulesFile(opts.rules);
    const { webhookSettingsOf } = await import('../webhook/settings.js');
    webhookSettingsOf(file);
    base = file.rules;
  }
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

/**
 * Read the `-f` paths for a command that needs every manifest: unreadable inputs are listed on
 * stderr and end it (`INPUT_INVALID`, exit 2); `consequence` says what that spared.
 */
export async function readManifests(
  ctx: CliContext,
  paths: readonly string[],
  options: { consequence?: string; followSymlinks?: boolean } = {},
): Promise<Inputs> {
  const { readInputs } = await import('../k8s/inputs.js');
  const inputs = await readInputs(paths, {
    stdin: ctx.io.stdin,
    cwd: ctx.io.cwd,
    followSymlinks: options.followSymlinks,
  });
  if (reportProblems(ctx, inputs.problems)) {
    throw new ImgdigestError(
      'INPUT_INVALID',
      `some inputs could not be read (listed above)${options.consequence ?? ''}`,
    );
  }
  return inputs;
}

/** Print the problems of `-f` inputs on stderr; true when one of them is an error. */
export function reportProblems(ctx: CliContext, problems: readonly InputProblem[]): boolean {
  for (const p of problems)
    ctx.err(`imgdigest: ${p.severity === 'error' ? '' : 'warning: '}${p.path}: ${p.reason}`);
  return problems.some((p) => p.severity === 'error');
}

/**
 * A list refused as cut at `maxItems` (see `sources/registry/listing`), with the flag that raises
 * the limit named in the message; other errors unchanged.
 */
export function withListLimitHint(e: unknown, flag: string): unknown {
  if (!isImgdigestError(e)) return e;
  const limit = (e.details as { limit?: { items?: number } }).limit;
  if (limit?.items === undefined) return e;
  return new ImgdigestError(e.code, `${e.message}; ${flag} raises the limit of ${limit.items}`, {
    cause: e,
    details: e.details,
  });
}
