/**
 * @module registry/ratelimit
 * Docker Hub's pull rate-limit headers, read from a HEAD (which Docker Hub does not count as a
 * pull: https://docs.docker.com/docker-hub/usage/pulls/).
 *
 * The format is `ratelimit-limit: 100;w=21600` (limit, then the window in seconds), the same for
 * `ratelimit-remaining`, plus `docker-ratelimit-source` (the address or account counted). Hub has
 * been seen sending empty values (`;w=21600`, docker/hub-feedback#2081), so every part is optional.
 * Absent headers mean the pull is not limited.
 */

/** What the rate-limit headers of one response say. */
export interface RateLimit {
  /** Pulls allowed in the window; null when the header was present but empty. */
  limit: number | null;
  /** Pulls left in the window; null when absent or empty. */
  remaining: number | null;
  /** The window in seconds (`w=`), when given. */
  windowSeconds?: number;
  /** Who is counted (`docker-ratelimit-source`: an IP address or an account id). */
  source?: string;
  /** Seconds until the window resets (`ratelimit-reset`), when given. */
  reset?: number;
}

type HeaderValue = string | string[] | undefined;
type Headers = Record<string, HeaderValue>;

/** One header value: the leading number (if any) and the `w=` window of its first policy. */
export function parseRateLimitValue(value: HeaderValue): { value: number | null; window?: number } | null {
  const text = (Array.isArray(value) ? value.join(',') : value)?.trim();
  if (text === undefined) return null;
  // IETF drafts allow several policies separated by commas; the first one is the one in force.
  const first = text.split(',')[0] ?? '';
  const [head = '', ...params] = first.split(';').map((p) => p.trim());
  const result: { value: number | null; window?: number } = {
    value: /^\d+$/.test(head) ? Number(head) : null,
  };
  for (const param of params) {
    const m = /^w\s*=\s*(\d+)$/i.exec(param);
    if (m) result.window = Number(m[1]);
  }
  return result;
}

/** The rate limit a response announces, or null when it announces none. */
export function parseRateLimit(headers: Headers): RateLimit | null {
  const get = (name: string): HeaderValue => headers[name] ?? headers[name.toLowerCase()];
  const limit = parseRateLimitValue(get('ratelimit-limit'));
  const remaining = parseRateLimitValue(get('ratelimit-remaining'));
  if (!limit && !remaining) return null;
  const result: RateLimit = { limit: limit?.value ?? null, remaining: remaining?.value ?? null };
  const window = limit?.window ?? remaining?.window;
  if (window !== undefined) result.windowSeconds = window;
  const source = get('docker-ratelimit-source');
  const sourceText = Array.isArray(source) ? source[0] : source;
  if (sourceText?.trim()) result.source = sourceText.trim();
  const reset = parseRateLimitValue(get('ratelimit-reset'));
  if (reset?.value !== null && reset?.value !== undefined) result.reset = reset.value;
  return result;
}
