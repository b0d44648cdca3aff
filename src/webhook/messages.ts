/**
 * @module webhook/messages
 * What the webhook says stays small whatever it is sent: a review with 20,000 containers gets a
 * denial that lists the first few and counts the rest, not two megabytes of text that the API
 * server relays to the client, logs and, for warnings, cuts anyway.
 *
 * The API server's limits on warnings (k8s.io/apiserver/pkg/endpoints/filters/warning.go,
 * `truncateAtTotalRunes = 4 * 1024` and `truncateItemRunes = 256`): once the warnings of one
 * request pass 4096 characters in all, each is cut to 256 characters and those past 4096 are
 * dropped, so a warning list that is too long loses its end, and the end is where a count of the
 * rest would be.
 * https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/endpoints/filters/warning.go
 * Kubernetes' advice for admission warnings is 120 characters or fewer each
 * (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response).
 * Lengths here are UTF-16 code units, never fewer than the characters the API server counts.
 */

/** Kubernetes' advice for one warning: 120 characters or fewer. */
export const MAX_WARNING_LENGTH = 120;
/** The API server keeps all warnings of a request only while they total at most 4096 characters. */
export const MAX_WARNINGS_TOTAL = 4096;
/** Lines of a denial message listed before "... and N more". */
export const MAX_LISTED = 20;
/** One listed line of a denial message (an image reference may be long; its end is kept). */
export const MAX_LINE_LENGTH = 256;
/** Errors listed in an admission's log line. */
export const MAX_LOGGED_ERRORS = 20;

/**
 * Shorten `text` to `max` characters: `middle` elides the middle (a violation ends with the image,
 * whose tag matters), `end` cuts the end (a failure names the image first, then the error). A
 * UTF-16 surrogate pair is never split.
 */
export function fitText(text: string, max: number, cut: 'middle' | 'end' = 'middle'): string {
  if (text.length <= max) return text;
  const keep = max - 3;
  if (cut === 'end') return `${headOf(text, keep)}...`;
  const head = Math.ceil(keep / 2);
  return `${headOf(text, head)}...${tailOf(text, keep - head)}`;
}

function headOf(text: string, n: number): string {
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

function tailOf(text: string, n: number): string {
  if (n <= 0) return '';
  const code = text.charCodeAt(text.length - n);
  return text.slice(text.length - (code >= 0xdc00 && code <= 0xdfff ? n - 1 : n));
}

/** "... and 19,980 more violations" */
function more(count: number, noun: string): string {
  return `... and ${count.toLocaleString('en-US')} more ${noun}`;
}

/**
 * Warnings for `items` that the API server passes on whole: each fitted to 120 characters, as many
 * as fit in 4096 characters with room for a last one that counts the rest.
 *
 * @example
 * boundedWarnings(violations, 'violations'); // ['container <a> ...', ..., '... and 19,966 more violations']
 */
export function boundedWarnings(
  items: readonly string[],
  noun: string,
  cut: 'middle' | 'end' = 'middle',
): string[] {
  const out: string[] = [];
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    const warning = fitText(items[i]!, MAX_WARNING_LENGTH, cut);
    const last = i === items.length - 1;
    // Unless this is the last item, keep room for the count of those after it.
    const room = last ? MAX_WARNINGS_TOTAL : MAX_WARNINGS_TOTAL - MAX_WARNING_LENGTH;
    if (total + warning.length > room) {
      out.push(more(items.length - i, noun));
      return out;
    }
    out.push(warning);
    total += warning.length;
  }
  return out;
}

/**
 * The lines of a message listing `items`: the first {@link MAX_LISTED}, each fitted to
 * {@link MAX_LINE_LENGTH}, then one line counting the rest.
 */
export function boundedLines(
  items: readonly string[],
  noun: string,
  cut: 'middle' | 'end' = 'middle',
): string[] {
  const shown = items.slice(0, MAX_LISTED).map((item) => fitText(item, MAX_LINE_LENGTH, cut));
  if (items.length > MAX_LISTED) shown.push(more(items.length - MAX_LISTED, noun));
  return shown;
}
