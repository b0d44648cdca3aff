/**
 * @module webhook/config
 * The webhook's configuration is the shared rules file (src/k8s/rules.ts, the same one `check`,
 * `pin` and `krm` read), whose `webhook:` section (./settings.ts) holds the settings only the
 * admission webhook uses.
 */
import { defaultRules, loadRulesFile, parseRulesFile, type Rules, type RulesFile } from '../k8s/rules.js';
import { defaultWebhookSettings, type WebhookSettings, webhookSettingsOf } from './settings.js';

export {
  DEFAULT_BUDGET_MS,
  defaultWebhookSettings,
  type Enforcement,
  type FailureMode,
  MAX_BUDGET_MS,
  type WebhookSettings,
  webhookSettingsFromValue,
  webhookSettingsOf,
} from './settings.js';

export interface WebhookConfig {
  rules: Rules;
  webhook: WebhookSettings;
  /** Where it came from (a file path, or `defaults`). */
  source: string;
}

/** The whole configuration with nothing configured. */
export function defaultWebhookConfig(): WebhookConfig {
  const rules = defaultRules();
  return { rules, webhook: defaultWebhookSettings(rules.failurePolicy), source: 'defaults' };
}

function configOf(file: RulesFile, source: string): WebhookConfig {
  return { rules: file.rules, webhook: webhookSettingsOf(file), source };
}

/** Parse a configuration file's text (YAML or JSON): the rules with their `webhook:` section. */
export function parseWebhookConfig(text: string, source: string): WebhookConfig {
  return configOf(parseRulesFile(text, source), source);
}

/** Read and parse a configuration file. */
export async function loadWebhookConfig(file: string): Promise<WebhookConfig> {
  return configOf(await loadRulesFile(file), file);
}
