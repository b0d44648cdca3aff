/** The resolution budget rule: mutation must answer before the API server stops waiting. */
import { describe, expect, it } from 'vitest';
import { isImgdigestError } from '../core/errors.js';
import {
  checkBudget,
  defaultWebhookSettings,
  MAX_BUDGET_MS,
  MAX_TIMEOUT_SECONDS,
  webhookSettingsFromValue,
} from './settings.js';

function failure(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('checkBudget', () => {
  it('keeps a second of timeoutSeconds for answering, and says what to keep the budget at', () => {
    expect(() => checkBudget({ resolutionBudgetMs: 4000 }, 5)).not.toThrow();
    const e = failure(() =>
      checkBudget({ resolutionBudgetMs: 4001 }, 5, { timeoutName: '--timeout-seconds' }),
    );
    expect(isImgdigestError(e) && e.code).toBe('CONFIG_INVALID');
    expect((e as Error).message).toBe(
      'resolutionBudgetMs 4001 leaves no time to answer within --timeout-seconds 5: keep it at most 4000',
    );
  });

  it('lets a validating webhook through whatever its budget: validation resolves nothing', () => {
    expect(() => checkBudget({ resolutionBudgetMs: 20_000 }, 5, { mode: 'validate' })).not.toThrow();
    expect(() => checkBudget({ resolutionBudgetMs: 20_000 }, 5, { mode: 'mutate' })).toThrow(/at most 4000/);
  });

  it('holds the defaults to the default timeout, and the largest budget a rules file may set to the longest', () => {
    expect(() => checkBudget(defaultWebhookSettings(), 10)).not.toThrow();
    expect(() => checkBudget({ resolutionBudgetMs: MAX_BUDGET_MS }, MAX_TIMEOUT_SECONDS)).not.toThrow();
    expect(() => checkBudget({ resolutionBudgetMs: MAX_BUDGET_MS + 1 }, MAX_TIMEOUT_SECONDS)).toThrow();
  });
});

describe('webhookSettingsFromValue', () => {
  it('reads the limits against attack, and refuses values out of range', () => {
    expect(
      webhookSettingsFromValue(
        { maxReferencesPerReview: 50, breakerFailures: 0, breakerCoolDownSeconds: 120 },
        'Fail',
      ),
    ).toMatchObject({ maxReferencesPerReview: 50, breakerFailures: 0, breakerCoolDownSeconds: 120 });
    expect(defaultWebhookSettings()).toMatchObject({
      maxReferencesPerReview: 256,
      breakerFailures: 5,
      breakerCoolDownSeconds: 30,
    });
    expect(() => webhookSettingsFromValue({ maxReferencesPerReview: 0 }, 'Fail')).toThrow(
      'config: webhook.maxReferencesPerReview must be a whole number from 1 to 100000',
    );
    expect(() => webhookSettingsFromValue({ breakerCoolDownSeconds: 0.5 }, 'Fail')).toThrow(
      /from 1 to 86400/,
    );
  });

  it('reads allowedRegistries as a list of hosts (default: any), refusing a bad entry where it is', () => {
    expect(defaultWebhookSettings().allowedRegistries).toBeNull();
    expect(
      webhookSettingsFromValue({ allowedRegistries: ['ghcr.io', '*.example.com', '127.0.0.1:5000'] }, 'Fail')
        .allowedRegistries,
    ).toEqual(['ghcr.io', '*.example.com', '127.0.0.1:5000']);
    expect(() => webhookSettingsFromValue({ allowedRegistries: [] }, 'Fail')).toThrow(
      'config: webhook.allowedRegistries must be a non-empty list of hosts (host, host:port or *.domain)',
    );
    expect(() => webhookSettingsFromValue({ allowedRegistries: 'ghcr.io' }, 'Fail')).toThrow(
      /non-empty list/,
    );
    expect(() => webhookSettingsFromValue({ allowedRegistries: ['ghcr.io:http'] }, 'Fail')).toThrow(
      /webhook\.allowedRegistries invalid allowed host "ghcr.io:http": bad port/,
    );
  });

  it('bounds the answer cache by bytes beside entries: 16 MiB unless set, at least 4096', () => {
    expect(defaultWebhookSettings()).toMatchObject({
      cacheMaxEntries: 1000,
      cacheMaxBytes: 16 * 1024 * 1024,
    });
    expect(webhookSettingsFromValue({ cacheMaxBytes: 65_536 }, 'Fail').cacheMaxBytes).toBe(65_536);
    expect(() => webhookSettingsFromValue({ cacheMaxBytes: 1000 }, 'Fail')).toThrow(
      'config: webhook.cacheMaxBytes must be a whole number from 4096 to 1099511627776',
    );
  });
});
