/**
 * @module webhook/config
 * The webhook's configuration is the shared rules file (src/k8s/rules.ts, the same one `check`,
 * `pin` and `krm` read), whose `webhook:` section (src/k8s/webhook-settings.ts) holds the settings
 * only the admission webhook uses.
 */
import { defaultRules, loadRules, parseRules, type Rules } from '../k8s/rules.js';
import type { WebhookSettings } from '../k8s/webhook-settings.js';

export {
  DEFAULT_BUDGET_MS,
  defaultWebhookSettings,
  type Enforcement,
  type FailureMode,
  MAX_BUDGET_MS,
  type WebhookSettings,
  webhookSettingsFromValue,
} from '../k8s/webhook-settings.js';

export interface WebhookConfig {
  rules: Rules;
  webhook: WebhookSettings;
  /** Where it came from (a file path, or `defaults`). */
  source: string;
}

/** The whole configuration with nothing configured. */
export function defaultWebhookConfig(): WebhookConfig {
  const rules = defaultRules();
  return { rules, webhook: rules.webhook, source: 'defaults' };
}

/** Parse a configuration file's text (YAML or JSON): the rules with their `webhook:` section. */
export function parseWebhookConfig(text: string, source: string): WebhookConfig {
  const rules = parseRules(text, source);
  return { rules, webhook: rules.webhook, source };
}

/** Read and parse a configuration file. */
export async function loadWebhookConfig(file: string): Promise<WebhookConfig> {
  const rules = await loadRules(file);
  return { rules, webhook: rules.webhook, source: file };
}
