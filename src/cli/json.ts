/**
 * @module cli/json
 * The conventions every `--json` output follows, where they need code (see README, "Output,
 * errors and exit codes"): a platform is an object `{os, architecture, variant?}`, never the
 * `os/arch/variant` text the tables print.
 */

/** A platform in `--json`. */
export interface JsonPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * `linux/arm/v7`, as the library formats a platform (`formatPlatform`), as `{os: 'linux',
 * architecture: 'arm', variant: 'v7'}`; null for none (an index entry without a platform, shown
 * `-` in tables). The text is split, not parsed: it came from an image and is shown as it came.
 */
export function platformJson(platform: string | null | undefined): JsonPlatform | null {
  if (!platform || platform === '-') return null;
  const [os = '', architecture = '', ...rest] = platform.split('/');
  const json: JsonPlatform = { os, architecture };
  if (rest.length > 0) json.variant = rest.join('/');
  return json;
}
