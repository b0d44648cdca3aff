import { describe, expect, it } from 'vitest';
import { isImgdigestError } from '../core/errors.js';
import { parseWebhookConfig } from './config.js';

function error(text: string): string {
  try {
    parseWebhookConfig(text, 'rules.yaml');
  } catch (e) {
    expect(isImgdigestError(e) && e.code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('parseWebhookConfig', () => {
  it('reads the shared rules and the webhook section from one file', () => {
    const config = parseWebhookConfig(
      [
        'exemptImages: [registry.k8s.io/pause*]',
        'platform: linux/arm64',
        'webhook:',
        '  enforcement: warn',
        '  failureMode: deny',
        '  resolutionBudgetMs: 5000',
        '  mutateOwnedObjects: true',
        '  cacheTtlSeconds: 0',
      ].join('\n'),
      'rules.yaml',
    );
    expect(config.rules.exemptImages).toEqual(['registry.k8s.io/pause*']);
    expect(config.rules.platform).toBe('linux/arm64');
    expect(config.webhook).toMatchObject({
      enforcement: 'warn',
      failureMode: 'deny',
      resolutionBudgetMs: 5000,
      mutateOwnedObjects: true,
      allowExistingViolations: true,
      cacheTtlSeconds: 0,
    });
  });

  it('defaults the failure mode from the rules failurePolicy (Ignore: allow, Fail: deny)', () => {
    expect(parseWebhookConfig('failurePolicy: Ignore', 'x').webhook.failureMode).toBe('allow');
    expect(parseWebhookConfig('failurePolicy: Fail', 'x').webhook.failureMode).toBe('deny');
    expect(parseWebhookConfig('', 'x').webhook).toMatchObject({
      enforcement: 'deny',
      failureMode: 'deny',
      resolutionBudgetMs: 8000,
    });
  });

  it('names the file, line and column of a bad webhook setting', () => {
    expect(error('exemptImages: []\nwebhook:\n  enforcement: block\n')).toBe(
      'rules.yaml:3:16: webhook.enforcement must be deny, warn, dryrun',
    );
    expect(error('webhook:\n  resolutionBudgetMs: 60000\n')).toMatch(
      /^rules.yaml:2:23: webhook.resolutionBudgetMs must be a whole number from 100 to 29000/,
    );
    expect(error('webhook:\n  cacheTTL: 5\n')).toMatch(
      /^rules.yaml:2:\d+: webhook.cacheTTL is not a known field/,
    );
    expect(error('webhook: yes\n')).toMatch(/webhook must be a mapping/);
  });

  it('still reports problems in the shared rules with their position', () => {
    expect(error('webhook:\n  enforcement: warn\nfailurePolicy: Sometimes\n')).toMatch(
      /^rules.yaml:3:\d+: failurePolicy must be Fail or Ignore/,
    );
    expect(error('a: [\n')).toMatch(/^rules.yaml:\d+:\d+: invalid YAML/);
  });
});
