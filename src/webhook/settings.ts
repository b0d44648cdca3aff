/**
 * @module webhook/settings
 * The `webhook:` section of the shared rules file: settings only the admission webhook uses. The
 * rules file is one file, read by one parser (src/k8s/rules.ts), which keeps this section as
 * written together with where each field sits; the webhook reads it here, and `check`, `pin`,
 * `krm` and `policy` check it the same way when they load a rules file, so a mistake in it is
 * reported alike by all of them.
 *
 * ```yaml
 * failurePolicy: Ignore          # shared field: the WebhookConfigurations' failurePolicy
 * webhook:
 *   enforcement: deny            # validate: deny | warn | dryrun
 *   failureMode: allow           # mutate, registry failure: allow | deny (default: Ignore -> allow, Fail -> deny)
 *   resolutionBudgetMs: 8000     # the whole admission answers within this (below timeoutSeconds)
 *   mutateOwnedObjects: false    # leave ReplicaSets of Deployments, Pods of ReplicaSets/Jobs to their owner
 *   allowExistingViolations: true # UPDATE: images that were already there and unchanged are not judged
 *   cacheTtlSeconds: 300         # tag -> digest answers kept this long (0: no cache)
 *   cacheMaxEntries: 1000        # answers kept at most
 *   cacheMaxBytes: 16777216      # and at most this many bytes of them (an estimate per answer)
 *   resolveConcurrency: 16       # resolutions in flight at once, per registry
 *   maxReferencesPerReview: 256  # distinct images one object may ask to resolve (beyond: failureMode)
 *   breakerFailures: 5           # registry timeouts/failures in a row before it is not asked (0: never)
 *   breakerCoolDownSeconds: 30   # how long it is not asked, before one probe
 *   allowedRegistries: [ghcr.io, '*.example.com', 'registry.local:5000']  # the only hosts asked (default: any)
 * ```
 */
import { ImgdigestError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import type { PathSegment } from '../k8s/paths.js';
import type { RulesFile } from '../k8s/rules.js';
import { compileAllowList } from '../sources/registry/allowed-hosts.js';

/** What validation does with a violation (Gatekeeper's `enforcementAction` values). */
export type Enforcement = 'deny' | 'warn' | 'dryrun';
/** What mutation does when an image cannot be resolved. */
export type FailureMode = 'allow' | 'deny';

export interface WebhookSettings {
  enforcement: Enforcement;
  failureMode: FailureMode;
  resolutionBudgetMs: number;
  mutateOwnedObjects: boolean;
  allowExistingViolations: boolean;
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  resolveConcurrency: number;
  maxReferencesPerReview: number;
  breakerFailures: number;
  breakerCoolDownSeconds: number;
  /**
   * The only registry hosts the webhook sends requests to (first requests, redirects and token
   * realms alike: the registry client's `allowedHosts`); null: any. An image elsewhere fails to
   * resolve with `HOST_NOT_ALLOWED` and `failureMode` decides.
   */
  allowedRegistries: readonly string[] | null;
}

/** The longest `timeoutSeconds` the API server allows a webhook. */
export const MAX_TIMEOUT_SECONDS = 30;
/** Time kept after the resolution budget for answering (the review back to the API server). */
const ANSWER_MARGIN_MS = 1000;

/** The largest resolution budget that still answers within `timeoutSeconds`. */
export function maxBudgetMs(timeoutSeconds: number): number {
  return timeoutSeconds * 1000 - ANSWER_MARGIN_MS;
}

/**
 * The budget of any webhook: within the longest timeout. `webhook serve` cannot know the
 * `timeoutSeconds` it is deployed with, so this is all a rules file is held to there.
 */
export const MAX_BUDGET_MS = maxBudgetMs(MAX_TIMEOUT_SECONDS);
export const DEFAULT_BUDGET_MS = 8_000;
/** The resolver cache's byte bound by default: 16 MiB, far above 1,000 answers (about 1.2 KiB each by the estimate). */
export const DEFAULT_CACHE_MAX_BYTES = 16 * 1024 * 1024;
const MIN_CACHE_MAX_BYTES = 4096;
const MAX_CACHE_MAX_BYTES = 2 ** 40;

/**
 * Check that mutation answers before the API server stops waiting: `resolutionBudgetMs` must
 * leave time to answer within `timeoutSeconds` (validation resolves nothing, so `mode: 'validate'`
 * passes). `timeoutName` names the timeout in the message (a flag, a field). Throws
 * `CONFIG_INVALID`.
 *
 * @example
 * checkBudget(config.webhook, 10, { mode: 'both', timeoutName: '--timeout-seconds' });
 */
export function checkBudget(
  settings: Pick<WebhookSettings, 'resolutionBudgetMs'>,
  timeoutSeconds: number,
  options: { mode?: 'validate' | 'mutate' | 'both'; timeoutName?: string } = {},
): void {
  if (options.mode === 'validate') return;
  const budget = settings.resolutionBudgetMs;
  const max = maxBudgetMs(timeoutSeconds);
  if (budget > max) {
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `resolutionBudgetMs ${budget} leaves no time to answer within ${options.timeoutName ?? 'timeoutSeconds'} ${timeoutSeconds}: keep it at most ${max}`,
      { details: { resolutionBudgetMs: budget, timeoutSeconds, max } },
    );
  }
}

/** The settings with nothing configured; `failureMode` follows the rules' failurePolicy. */
export function defaultWebhookSettings(failurePolicy: 'Fail' | 'Ignore' = 'Fail'): WebhookSettings {
  return {
    enforcement: 'deny',
    // "What happens when we cannot do our job" is one decision: when the webhook is unreachable the
    // API server applies failurePolicy; when the registry is, we apply the same choice.
    failureMode: failurePolicy === 'Ignore' ? 'allow' : 'deny',
    resolutionBudgetMs: DEFAULT_BUDGET_MS,
    mutateOwnedObjects: false,
    allowExistingViolations: true,
    cacheTtlSeconds: 300,
    cacheMaxEntries: 1000,
    cacheMaxBytes: DEFAULT_CACHE_MAX_BYTES,
    resolveConcurrency: 16,
    // A Pod names a handful of images; hundreds in one object is a mistake or an attack, and each
    // one would take a registry slot for the whole budget.
    maxReferencesPerReview: 256,
    breakerFailures: 5,
    breakerCoolDownSeconds: 30,
    allowedRegistries: null,
  };
}

type Locate = (path: PathSegment[]) => string;
const SETTING_KEYS = Object.keys(defaultWebhookSettings());

/** Validate a `webhook:` section; `failurePolicy` gives the default failure mode. */
export function webhookSettingsFromValue(
  value: unknown,
  failurePolicy: 'Fail' | 'Ignore',
  locate: Locate = () => 'config',
): WebhookSettings {
  const settings = defaultWebhookSettings(failurePolicy);
  if (value === undefined || value === null) return settings;
  const fail = (key: string | undefined, why: string): never => {
    const path = key === undefined ? ['webhook'] : ['webhook', key];
    throw new ImgdigestError('CONFIG_INVALID', `${locate(path)}: ${path.join('.')} ${why}`, {
      details: { field: path },
    });
  };
  if (!isRecord(value)) return fail(undefined, 'must be a mapping');
  for (const key of Object.keys(value)) {
    if (!SETTING_KEYS.includes(key)) fail(key, `is not a known field (known: ${SETTING_KEYS.join(', ')})`);
  }
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !allowed.includes(v as T)) fail(key, `must be ${allowed.join(', ')}`);
    return v as T;
  };
  const bool = (key: string): boolean | undefined => {
    const v = value[key];
    if (v !== undefined && typeof v !== 'boolean') fail(key, 'must be true or false');
    return v as boolean | undefined;
  };
  const int = (key: string, min: number, max: number): number | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(key, `must be a whole number from ${min} to ${max}`);
    }
    return v as number;
  };
  const set = <K extends keyof WebhookSettings>(key: K, v: WebhookSettings[K] | undefined) => {
    if (v !== undefined) settings[key] = v;
  };
  set('enforcement', oneOf('enforcement', ['deny', 'warn', 'dryrun'] as const));
  set('failureMode', oneOf('failureMode', ['allow', 'deny'] as const));
  set('resolutionBudgetMs', int('resolutionBudgetMs', 100, MAX_BUDGET_MS));
  set('mutateOwnedObjects', bool('mutateOwnedObjects'));
  set('allowExistingViolations', bool('allowExistingViolations'));
  set('cacheTtlSeconds', int('cacheTtlSeconds', 0, 86_400));
  set('cacheMaxEntries', int('cacheMaxEntries', 1, 1_000_000));
  set('cacheMaxBytes', int('cacheMaxBytes', MIN_CACHE_MAX_BYTES, MAX_CACHE_MAX_BYTES));
  set('resolveConcurrency', int('resolveConcurrency', 1, 1024));
  set('maxReferencesPerReview', int('maxReferencesPerReview', 1, 100_000));
  set('breakerFailures', int('breakerFailures', 0, 10_000));
  set('breakerCoolDownSeconds', int('breakerCoolDownSeconds', 1, 86_400));
  const hosts = value.allowedRegistries;
  if (hosts !== undefined && hosts !== null) {
    if (
      !Array.isArray(hosts) ||
      hosts.length === 0 ||
      hosts.some((h) => typeof h !== 'string' || h.trim() === '')
    )
      fail('allowedRegistries', 'must be a non-empty list of hosts (host, host:port or *.domain)');
    try {
      compileAllowList(hosts as string[]);
    } catch (e) {
      fail('allowedRegistries', (e as Error).message);
    }
    settings.allowedRegistries = [...(hosts as string[])];
  }
  return settings;
}

/** The settings of a rules file read by `parseRulesFile` or `loadRulesFile`. */
export function webhookSettingsOf(file: RulesFile): WebhookSettings {
  return webhookSettingsFromValue(file.webhook, file.rules.failurePolicy, file.locate);
}
