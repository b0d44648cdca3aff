/**
 * @module registry/errors
 * Turn registry answers and network failures into one-line `ImgdigestError`s.
 *
 * The distribution spec's error body `{"errors":[{code,message,detail}]}` keeps its code
 * (`MANIFEST_UNKNOWN`, `DENIED`, `TOOMANYREQUESTS`, ...) in `details.registryCode`, next to the
 * status, method and URL. URLs are shown without user info and with query values other than a few
 * known-harmless ones redacted, because blob redirects carry signed URLs (`X-Amz-Signature=...`).
 * @see https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
import { describeErrno, errnoPhrase } from '../../core/errno.js';
import { type ErrorCode, ImgdigestError } from '../../core/errors.js';
import { isRetryableNetworkError, isRetryableStatus } from './retry.js';

/** One entry of a registry error body. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Query parameters that carry no secrets and help a reader (pagination, upload digests, scopes). */
const SAFE_QUERY_KEYS = new Set([
  'n',
  'last',
  'digest',
  'service',
  'scope',
  'artifactType',
  'mount',
  'from',
  'tag',
  'ns',
]);

/** A URL fit for messages and logs: no user info, unknown query values replaced by `REDACTED`. */
export function redactUrl(input: URL | string): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return '(invalid URL)';
  }
  url.username = '';
  url.password = '';
  if (url.search.length > 1) {
    const parts = url.search
      .slice(1)
      .split('&')
      .map((part) => {
        const eq = part.indexOf('=');
        const key = safeDecode(eq === -1 ? part : part.slice(0, eq));
        return SAFE_QUERY_KEYS.has(key) || eq === -1 ? part : `${part.slice(0, eq)}=REDACTED`;
      });
    url.search = `?${parts.join('&')}`;
  }
  return url.toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The entries of a registry error body, or `[]` when the body is not one. */
export function parseErrorBody(body: Uint8Array | string | undefined | null): RegistryErrorEntry[] {
  if (body === undefined || body === null || body.length === 0) return [];
  try {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    const json = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(json.errors)) return [];
    return json.errors
      .filter(
        (e): e is Record<string, unknown> =>
          typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string',
      )
      .map((e) => {
        const entry: RegistryErrorEntry = { code: String(e.code) };
        if (typeof e.message === 'string') entry.message = e.message;
        if (e.detail !== undefined) entry.detail = e.detail;
        return entry;
      });
  } catch {
    return [];
  }
}

/** What a request was about, to name the failure ("manifest unknown", "blob unknown"). */
export type RequestSubjectKind =
  | 'manifest'
  | 'blob'
  | 'tags'
  | 'catalog'
  | 'referrers'
  | 'upload'
  | 'token'
  | 'ping';

export interface RegistryErrorContext {
  method: string;
  url: URL | string;
  status: number;
  /** The response body (an error body when the registry sent one; HEAD has none). */
  body?: Uint8Array | null;
  /** What was asked for, as a person would write it: `127.0.0.1:5000/app:nope`. */
  subject: string;
  kind: RequestSubjectKind;
  retryAfterMs?: number | null;
}

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN']);
const FALLBACK_LABEL: Record<RequestSubjectKind, string> = {
  manifest: 'manifest unknown',
  blob: 'blob unknown',
  tags: 'repository unknown',
  catalog: 'not found',
  referrers: 'not found',
  upload: 'upload unknown',
  token: 'token endpoint not found',
  ping: 'not a registry',
};

/** The `ImgdigestError` for a registry's non-success answer. */
export function registryError(ctx: RegistryErrorContext): ImgdigestError {
  const entries = parseErrorBody(ctx.body);
  const first = entries[0];
  const registryCode = first?.code ?? null;
  const code = errorCodeFor(ctx.status, registryCode);
  const where = `${ctx.method} ${redactUrl(ctx.url)} ${ctx.status}`;
  const codes = entries.length > 0 ? `${entries.map((e) => e.code).join(', ')}, ` : '';
  const registryMessage = first?.message ? oneLine(first.message) : '';
  let message: string;
  if (code === 'NOT_FOUND') {
    const label =
      registryCode && NOT_FOUND_CODES.has(registryCode) ? labelOf(registryCode) : FALLBACK_LABEL[ctx.kind];
    message = `${label}: ${ctx.subject} not found (${codes}${where})`;
  } else {
    const label = registryCode ? labelOf(registryCode) : statusLabel(ctx.status);
    message = `${label}: ${ctx.subject}${registryMessage && registryMessage.toLowerCase() !== label ? `: ${registryMessage}` : ''} (${codes}${where})`;
  }
  const retryable = isRetryableStatus(ctx.status) || registryCode === 'TOOMANYREQUESTS';
  const details: Record<string, unknown> = {
    status: ctx.status,
    registryCode,
    method: ctx.method,
    url: redactUrl(ctx.url),
  };
  if (entries.length > 1) details.registryCodes = entries.map((e) => e.code);
  if (registryMessage) details.registryMessage = registryMessage;
  if (ctx.retryAfterMs !== undefined && ctx.retryAfterMs !== null) details.retryAfterMs = ctx.retryAfterMs;
  return new ImgdigestError(code, message, { details, retryable });
}

function errorCodeFor(status: number, registryCode: string | null): ErrorCode {
  if (status === 401 || status === 403 || registryCode === 'UNAUTHORIZED' || registryCode === 'DENIED') {
    return 'AUTH_FAILED';
  }
  if (status === 404 || (registryCode !== null && NOT_FOUND_CODES.has(registryCode))) return 'NOT_FOUND';
  return 'REGISTRY_ERROR';
}

function labelOf(registryCode: string): string {
  return registryCode.toLowerCase().replace(/_/g, ' ');
}

function statusLabel(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'denied';
  if (status === 429) return 'too many requests';
  if (status >= 500) return 'registry unavailable';
  return `unexpected status ${status}`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}

const TIMEOUT_CODES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'could not connect',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
};

/**
 * The `ImgdigestError` for a failure below HTTP (refused, reset, DNS, TLS) or a timeout. An
 * `ImgdigestError` passes through unchanged.
 */
export function networkError(
  error: unknown,
  method: string,
  url: URL | string,
  timeoutMs?: number,
): ImgdigestError {
  if (error instanceof ImgdigestError) return error;
  const code = errorCodeOf(error);
  const shown = `${method} ${redactUrl(url)}`;
  const details: Record<string, unknown> = { method, url: redactUrl(url), cause: code };
  const timeout = code ? TIMEOUT_CODES[code] : undefined;
  if (timeout) {
    const within = timeoutMs !== undefined ? ` within ${timeoutMs} ms` : '';
    return new ImgdigestError('TIMEOUT', `timeout: ${shown}: ${timeout}${within}`, {
      cause: error,
      details: { ...details, timeoutMs },
      retryable: true,
    });
  }
  return new ImgdigestError('NETWORK_ERROR', `network error: ${shown}: ${reasonOf(error)}`, {
    cause: error,
    details,
    retryable: isRetryableNetworkError(error),
  });
}

function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A short reason: words and the code for a system error (`connection refused (ECONNREFUSED)`; the
 * URL already names the host), else the message and its code. Node's AggregateError (one per
 * address tried) has an empty message.
 */
function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
  if (error instanceof Error) {
    const code = errorCodeOf(error);
    if (code && errnoPhrase(code)) return describeErrno(code);
    const message = oneLine(error.message || code || error.name);
    return code && !message.includes(code) ? `${message} (${code})` : message;
  }
  return oneLine(String(error));
}
