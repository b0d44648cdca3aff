/**
 * @module webhook/review
 * The `AdmissionReview` wire format (admission.k8s.io/v1): what the API server sends, what we
 * answer, and the checks that turn a bad body into a clear 400 instead of a crash.
 *
 * Only v1 is accepted: the response must carry the apiVersion of the request, and v1beta1 was
 * removed from the API server in Kubernetes 1.22; the WebhookConfigurations we print ask for
 * `admissionReviewVersions: [v1]`.
 * @see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response
 */
import { ImgdigestError } from '../core/errors.js';
import { isRecord } from '../core/json.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The fields of `request` the webhook reads (the rest is passed over). */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  subResource?: string;
  /** May be empty on CREATE with generateName. */
  name?: string;
  namespace?: string;
  operation: Operation;
  object?: unknown;
  /** Only for UPDATE and DELETE. */
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** base64 of a JSON Patch array. */
  patch?: string;
  patchType?: 'JSONPatch';
  /** Shown to the client as HTTP `Warning` headers; keep each under 120 characters. */
  warnings?: string[];
  /** The API server records them as `<webhook name>/<key>`, so keys carry no `/`. */
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

function invalid(message: string): never {
  throw new ImgdigestError('INPUT_INVALID', message, { details: { httpStatus: 400 } });
}

/**
 * Check a parsed body and return its request. Throws `INPUT_INVALID` (the server answers 400) for
 * anything that is not an `admission.k8s.io/v1` AdmissionReview with a usable request.
 */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) invalid('the body is not a JSON object (expected an AdmissionReview)');
  if (body.kind !== ADMISSION_KIND) invalid(`kind must be ${ADMISSION_KIND}, got ${describe(body.kind)}`);
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    invalid(
      `apiVersion ${describe(body.apiVersion)} is not supported: only ${ADMISSION_API_VERSION} is accepted ` +
        '(set admissionReviewVersions: [v1] in the WebhookConfiguration)',
    );
  }
  const request = body.request;
  if (!isRecord(request)) invalid('AdmissionReview has no request');
  if (typeof request.uid !== 'string' || request.uid === '')
    invalid('request.uid must be a non-empty string');
  if (typeof request.operation !== 'string' || !OPERATIONS.includes(request.operation)) {
    invalid(`request.operation must be one of ${OPERATIONS.join(', ')}, got ${describe(request.operation)}`);
  }
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string') {
    invalid('request.kind must be {group, version, kind}');
  }
  for (const key of ['object', 'oldObject'] as const) {
    const v = request[key];
    if (v !== undefined && v !== null && !isRecord(v)) invalid(`request.${key} must be an object`);
  }
  const out: AdmissionRequest = {
    uid: request.uid,
    kind: { group: typeof kind.group === 'string' ? kind.group : '', version: kind.version, kind: kind.kind },
    operation: request.operation as Operation,
  };
  if (typeof request.subResource === 'string' && request.subResource) out.subResource = request.subResource;
  if (typeof request.name === 'string' && request.name) out.name = request.name;
  if (typeof request.namespace === 'string' && request.namespace) out.namespace = request.namespace;
  if (isRecord(request.object)) out.object = request.object;
  if (isRecord(request.oldObject)) out.oldObject = request.oldObject;
  if (request.dryRun === true) out.dryRun = true;
  return out;
}

/** Wrap a response in an AdmissionReview of the version we accept. */
export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

const REVIEW_HEAD = `{"apiVersion":${JSON.stringify(ADMISSION_API_VERSION)},"kind":${JSON.stringify(ADMISSION_KIND)},"response":`;

/**
 * The body of the answer: `JSON.stringify(reviewResponse(response))`, byte for byte, with the
 * constant envelope written once.
 */
export function reviewResponseBody(response: AdmissionResponse): string {
  return `${REVIEW_HEAD}${JSON.stringify(response)}}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
