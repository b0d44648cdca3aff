/**
 * @module webhook/admission
 * The decisions of the admission webhook, as pure functions of a request and the configuration
 * (no HTTP here, so they are tested without a server):
 * - {@link validate}: the digest rule of `imgdigest check` (same locations, exemptions, matching
 *   and Gatekeeper messages), enforced as `deny`, `warn` or `dryrun`;
 * - {@link mutate}: resolve each tag to its digest through the resolver and answer with a JSON
 *   Patch that replaces exactly the image strings that changed (`name:tag@digest`, as pin writes).
 *
 * Which objects are left alone, and why:
 * - DELETE and CONNECT: nothing is created.
 * - Mirror pods (`kubernetes.io/config.mirror`): the kubelet's copies of static pods; the good
 *   practices say not to mutate them, and denying them only hides a pod that runs anyway.
 * - Objects owned by a controller (mutate only, unless `mutateOwnedObjects`): pinning a
 *   ReplicaSet whose Deployment keeps the tag makes the two disagree, and the Deployment
 *   controller answers with new ReplicaSets forever (google/k8s-digester#25).
 * - UPDATE of an image that did not change from `oldObject`: it was admitted before; re-pinning
 *   it would turn an unrelated edit (a label) into a rollout. Validation likewise ignores
 *   violations the old object already had (`allowExistingViolations`, Kyverno's default), so a
 *   finalizer cannot get stuck on a pod created before the policy.
 * Re-invocation (`reinvocationPolicy: IfNeeded`) is idempotent: images with a digest are never
 * touched, so a second call on our own output answers with no patch.
 *
 * `dryRun` requests get the same answer as real ones. The webhook has no side effects
 * (`sideEffects: None`); the only state a dry run leaves is a cached tag -> digest answer, which a
 * real request would have produced the same way and which changes nothing in the cluster.
 * @see https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
 */
import { setMaxListeners } from 'node:events';
import { abortable } from '../core/async.js';
import { ImgdigestError, isImgdigestError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { parseReference, type Reference } from '../core/reference.js';
import { isViolation, RULE_ID } from '../k8s/check.js';
import type { KubeObject } from '../k8s/locations.js';
import { objectMeta } from '../k8s/objects.js';
import { pinnedValue } from '../k8s/pin.js';
import { describeLocation, objectMatches, violationMessage } from '../k8s/policy.js';
import type { Rules } from '../k8s/rules.js';
import { type FoundSite, type ImageSite, objectSites } from '../k8s/sites.js';
import type { Resolution, ResolveOptions, Resolver } from '../resolver/types.js';
import type { WebhookSettings } from './config.js';
import { boundedLines, boundedWarnings, MAX_LINE_LENGTH } from './messages.js';
import { encodePatch, type PatchOperation, replaceAt } from './patch.js';
import type { AdmissionRequest, AdmissionResponse } from './review.js';

/** The outcome, for the log line and the metrics. */
export type Verdict = 'allowed' | 'denied' | 'warned' | 'dryrun' | 'patched' | 'skipped' | 'failed-open';

export interface Decision {
  response: AdmissionResponse;
  verdict: Verdict;
  /** Why nothing was looked at (verdict `skipped`). */
  reason?: string;
  violations: number;
  /** Image fields replaced. */
  patched: number;
  /** One line per image that could not be resolved (no secrets: registry errors are redacted). */
  errors: string[];
}

export interface AdmissionDeps {
  rules: Rules;
  settings: WebhookSettings;
  /** Needed by {@link mutate}. */
  resolver?: Resolver;
}

export interface MutateContext {
  /** Epoch milliseconds by which the answer must be ready (default: now + resolutionBudgetMs). */
  deadline?: number;
}

/**
 * The audit annotation key of the mutating webhook; the API server records it under the webhook's
 * name, as `pin.imgdigest.dev/resolve-error`.
 */
export const RESOLVE_ERROR_ANNOTATION = 'resolve-error';
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export { MAX_WARNING_LENGTH } from './messages.js';

/** The object under review with its identity; the request's namespace fills a missing one. */
function subjectOf(request: AdmissionRequest, object: unknown): KubeObject | undefined {
  if (!isRecord(object)) return undefined;
  const { group, version, kind } = request.kind;
  const meta =
    objectMeta(object) ??
    objectMeta({ ...object, apiVersion: group ? `${group}/${version}` : version, kind });
  if (!meta) return undefined;
  // Pods created by a ReplicaSet can arrive without metadata.namespace (k8s-digester copies it too).
  if (meta.namespace === undefined && request.namespace) meta.namespace = request.namespace;
  return { object, meta, path: [] };
}

function annotations(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  return isRecord(metadata) && isRecord(metadata.annotations) ? metadata.annotations : {};
}

function controllerOf(object: Record<string, unknown>): string | undefined {
  const metadata = object.metadata;
  if (!isRecord(metadata) || !Array.isArray(metadata.ownerReferences)) return undefined;
  const owner = metadata.ownerReferences.find((o) => isRecord(o) && o.controller === true) as
    | Record<string, unknown>
    | undefined;
  return owner ? `${String(owner.kind)} ${String(owner.name)}` : undefined;
}

function skipped(uid: string, reason: string): Decision {
  return {
    response: { uid, allowed: true },
    verdict: 'skipped',
    reason,
    violations: 0,
    patched: 0,
    errors: [],
  };
}

/** Shared first steps: the object, or why it is not looked at. */
function admissible(request: AdmissionRequest, rules: Rules): KubeObject | string {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE')
    return `${request.operation} is not checked`;
  const subject = subjectOf(request, request.object);
  if (!subject) return 'no object';
  if (annotations(subject.object)[MIRROR_ANNOTATION] !== undefined) return 'mirror pod';
  if (!objectMatches(subject.meta, rules)) return 'not matched by the rules (kinds, namespaces)';
  return subject;
}

/** Identifies "the same image field" across object and oldObject: container/volume name and field. */
function fieldKey(site: ImageSite): string {
  return `${site.field}\0${site.name ?? site.fieldPath}`;
}

/** The image sites of the object under review (a site's `file` names the request field). */
function sitesOf(subject: KubeObject, rules: Rules, field: 'object' | 'oldObject'): FoundSite[] {
  return objectSites(subject, rules, { file: field });
}

function oldImages(request: AdmissionRequest, rules: Rules): Map<string, unknown> | undefined {
  if (request.operation !== 'UPDATE') return undefined;
  const old = subjectOf(request, request.oldObject);
  if (!old) return undefined;
  return new Map(sitesOf(old, rules, 'oldObject').map(({ site }) => [fieldKey(site), site.image]));
}

/** Validate: the digest rule with the configured enforcement. */
export function validate(request: AdmissionRequest, deps: AdmissionDeps): Decision {
  const { rules, settings } = deps;
  const subject = admissible(request, rules);
  if (typeof subject === 'string') return skipped(request.uid, subject);
  let found = sitesOf(subject, rules, 'object')
    .map(({ site }) => site)
    .filter((site) => isViolation(site, rules));
  if (found.length > 0 && settings.allowExistingViolations) {
    const before = oldImages(request, rules);
    if (before) found = found.filter((site) => before.get(fieldKey(site)) !== site.image);
  }
  const decision: Decision = {
    response: { uid: request.uid, allowed: true },
    verdict: 'allowed',
    violations: found.length,
    patched: 0,
    errors: [],
  };
  if (found.length === 0) return decision;
  const messages = found.map((site) => violationMessage(site));
  if (settings.enforcement === 'deny') {
    // Gatekeeper's form: one `[constraint] message` line per violation (the first few, then a count).
    const lines = boundedLines(
      messages.map((m) => `[${RULE_ID}] ${m}`),
      'violations',
    );
    deny(decision, 403, 'Forbidden', lines.join('\n'));
  } else if (settings.enforcement === 'warn') {
    decision.verdict = 'warned';
    decision.response.warnings = boundedWarnings(messages, 'violations');
  } else {
    decision.verdict = 'dryrun';
  }
  return decision;
}

interface Candidate extends FoundSite {
  image: string;
  ref: Reference;
}

/** Turn `decision` into a refusal with a Kubernetes `Status` (its uid kept). */
function deny(decision: Decision, code: number, reason: string, message: string): Decision {
  decision.verdict = 'denied';
  decision.response = { uid: decision.response.uid, allowed: false, status: { code, reason, message } };
  return decision;
}

function messageOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (isImgdigestError(e) ? `${e.code}: ${text}` : text).split('\n')[0]!;
}

const SIGNAL_GRANULARITY_MS = 5;
const deadlineSignals = new Map<number, AbortSignal>();

/**
 * An AbortSignal that fires at `deadline` (epoch ms, rounded up to 5 ms). Admissions arriving in
 * the same few milliseconds share one, so a busy webhook does not make a timer per request.
 */
function deadlineSignal(deadline: number): AbortSignal {
  const at = Math.ceil(deadline / SIGNAL_GRANULARITY_MS) * SIGNAL_GRANULARITY_MS;
  let signal = deadlineSignals.get(at);
  if (!signal) {
    // A timer rather than AbortSignal.timeout: the same TimeoutError, the same unref'd timer, but
    // one a test's fake clock can move.
    const controller = new AbortController();
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    setTimeout(() => controller.abort(reason), Math.max(1, at - Date.now())).unref();
    signal = controller.signal;
    // Every waiting admission listens on it; that is expected, not a leak.
    setMaxListeners(0, signal);
    deadlineSignals.set(at, signal);
    signal.addEventListener('abort', () => deadlineSignals.delete(at), { once: true });
  }
  return signal;
}

/** Resolve options with nothing set (no platform): one object for every admission. */
const NO_OPTIONS: Readonly<Pick<ResolveOptions, 'platform'>> = Object.freeze({});

/** Parsed references by image string: the same few images arrive in admission after admission. */
const parsedReferences = new Map<string, Reference>();
const MAX_PARSED_REFERENCES = 4096;

/** `parseReference(image)`, remembered (a Reference is never changed once made); errors are not kept. */
function referenceOf(image: string): Reference {
  let ref = parsedReferences.get(image);
  if (!ref) {
    ref = parseReference(image);
    // Bounded: a flood of distinct images empties it rather than growing it.
    if (parsedReferences.size >= MAX_PARSED_REFERENCES) parsedReferences.clear();
    parsedReferences.set(image, ref);
  }
  return ref;
}

/** Mutate: pin every tag to its digest, within the resolution budget, as `failureMode` says on failure. */
export async function mutate(
  request: AdmissionRequest,
  deps: AdmissionDeps,
  context: MutateContext = {},
): Promise<Decision> {
  return mutation(request, deps, context);
}

/**
 * {@link mutate}'s decision, made at once when nothing has to wait (every tag answered by the
 * resolver's cache, or nothing to pin), else a promise of it. The server answers a warm admission
 * without a promise or a turn of the microtask queue.
 */
export function mutation(
  request: AdmissionRequest,
  deps: AdmissionDeps,
  context: MutateContext = {},
): Decision | Promise<Decision> {
  const { rules, settings } = deps;
  const subject = admissible(request, rules);
  if (typeof subject === 'string') return skipped(request.uid, subject);
  const owner = settings.mutateOwnedObjects ? undefined : controllerOf(subject.object);
  if (owner) return skipped(request.uid, `owned by ${owner}: left to its owner`);

  const before = oldImages(request, rules);
  const candidates: Candidate[] = [];
  const failures: string[] = [];
  for (const { site, path } of sitesOf(subject, rules, 'object')) {
    const image = site.image;
    if (typeof image !== 'string' || !isViolation(site, rules)) continue;
    if (before?.get(fieldKey(site)) === image) continue;
    try {
      candidates.push({ site, path, image, ref: referenceOf(image) });
    } catch (e) {
      failures.push(`${describeLocation(site)} ${image}: ${messageOf(e)}`);
    }
  }
  const decision: Decision = {
    response: { uid: request.uid, allowed: true },
    verdict: 'allowed',
    violations: 0,
    patched: 0,
    errors: failures,
  };
  // Distinct references can only pass the bound when the candidates do.
  if (candidates.length > settings.maxReferencesPerReview) {
    const distinct = new Set(candidates.map((c) => c.ref.canonical)).size;
    // Resolving them would hold the registries' slots and the budget for one object; real
    // workloads name a handful of images. Nothing is resolved, and failureMode decides.
    if (distinct > settings.maxReferencesPerReview) return overLimit(decision, distinct, settings);
  }
  if (candidates.length === 0) return decided(decision, [], settings);
  const resolver = deps.resolver;
  if (!resolver) throw new Error('mutate needs a resolver');
  const platform = rules.platform ? { platform: rules.platform } : NO_OPTIONS;
  // A warm cache answers at once: no signal, timer or promise per image (each hit counted as
  // resolve counts it). Only references it cannot answer go to resolve, with the deadline.
  let signal: AbortSignal | undefined;
  let timeout: (() => ImgdigestError) | undefined;
  // One resolution per distinct reference; the resolver coalesces across requests too. The
  // budget is kept here as well: a resolver that ignores the signal cannot overrun it.
  const keys = candidates.map((c) => c.ref.canonical);
  const answers = new Map<string, Resolution | Promise<Resolution>>();
  let waiting = false;
  for (let i = 0; i < candidates.length; i++) {
    const key = keys[i]!;
    if (answers.has(key)) continue;
    const ref = candidates[i]!.ref;
    const hit = resolver.cached?.(ref, platform);
    if (hit) {
      answers.set(key, hit);
      continue;
    }
    // The deadline reaches the resolver: what this admission queued is dropped when it answers.
    signal ??= deadlineSignal(context.deadline ?? Date.now() + settings.resolutionBudgetMs);
    timeout ??= () =>
      new ImgdigestError(
        'TIMEOUT',
        `no answer within the resolution budget of ${settings.resolutionBudgetMs} ms`,
      );
    answers.set(key, abortable(resolver.resolve(ref, { ...platform, signal }), signal, timeout));
    waiting = true;
  }
  const pin = (settled: PromiseSettledResult<Resolution>[] | undefined): Decision => {
    const operations: PatchOperation[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const r = settled ? settled[i]! : undefined;
      if (r === undefined || r.status === 'fulfilled') {
        const { digest } = r === undefined ? (answers.get(keys[i]!) as Resolution) : r.value;
        operations.push(replaceAt(c.path, pinnedValue(c.image, c.ref, digest, rules.dropTag)));
      } else {
        failures.push(`${describeLocation(c.site)} ${c.image}: ${messageOf(r.reason)}`);
      }
    }
    return decided(decision, operations, settings);
  };
  if (!waiting) return pin(undefined);
  return Promise.allSettled(keys.map((key) => answers.get(key)!)).then(pin);
}

/** The decision once every image is pinned or failed: the patch, or `failureMode`'s answer. */
function decided(decision: Decision, operations: PatchOperation[], settings: WebhookSettings): Decision {
  const failures = decision.errors;
  if (failures.length > 0 && settings.failureMode === 'deny') {
    const what = failures.length === 1 ? 'an image' : `${failures.length.toLocaleString('en-US')} images`;
    return deny(decision, 503, 'ServiceUnavailable', `cannot pin ${what} to a digest: ${listed(failures)}`);
  }
  if (operations.length > 0) {
    decision.response.patchType = 'JSONPatch';
    decision.response.patch = encodePatch(operations);
    decision.patched = operations.length;
    decision.verdict = 'patched';
  }
  if (failures.length > 0) {
    decision.verdict = 'failed-open';
    decision.response.warnings = boundedWarnings(
      failures.map((f) => `image left unpinned: ${f}`),
      'images left unpinned',
      'end',
    );
    decision.response.auditAnnotations = { [RESOLVE_ERROR_ANNOTATION]: listed(failures).slice(0, 4000) };
  }
  return decision;
}

/** Failures for a message: the first few, each shortened, then a count of the rest. */
function listed(failures: readonly string[]): string {
  return boundedLines(failures, 'images', 'end').join('; ');
}

/** The answer for an object that names more distinct images than `maxReferencesPerReview`. */
function overLimit(decision: Decision, distinct: number, settings: WebhookSettings): Decision {
  const max = settings.maxReferencesPerReview;
  const why = `${distinct.toLocaleString('en-US')} distinct images to resolve, more than webhook.maxReferencesPerReview (${max})`;
  decision.errors.push(`the object names ${why}`);
  if (settings.failureMode === 'deny') {
    return deny(
      decision,
      403,
      'Forbidden',
      `cannot pin images to digests: the object names ${why}; none was resolved`,
    );
  }
  decision.verdict = 'failed-open';
  decision.response.warnings = [
    `images left unpinned: ${distinct} distinct images, more than maxReferencesPerReview ${max}`,
  ];
  decision.response.auditAnnotations = {
    [RESOLVE_ERROR_ANNOTATION]: `images left unpinned: the object names ${why}`.slice(0, MAX_LINE_LENGTH),
  };
  return decision;
}
