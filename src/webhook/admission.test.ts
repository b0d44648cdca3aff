import { describe, expect, it, vi } from 'vitest';
import {
  type FakeAnswer,
  type FakeResolver,
  recordingBase,
  fakeResolver as sharedFakeResolver,
} from '../../test/support/fake-resolver.js';
import { admissionReview, applyPatch, decodePatch } from '../../test/webhook/support.js';
import { ImgdigestError } from '../core/errors.js';
import { defaultRules, type Rules, rulesFromValue } from '../k8s/rules.js';
import { openResolver } from '../resolver/open.js';
import type { Resolver } from '../resolver/types.js';
import {
  type AdmissionDeps,
  MAX_WARNING_LENGTH,
  mutate,
  mutation,
  RESOLVE_ERROR_ANNOTATION,
  validate,
} from './admission.js';
import { defaultWebhookSettings, type WebhookSettings } from './config.js';
import { type AdmissionRequest, parseAdmissionReview } from './review.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const PINNED = `sha256:${'cd'.repeat(32)}` as const;

function req(
  object: Record<string, unknown>,
  options: Parameters<typeof admissionReview>[1] = {},
): AdmissionRequest {
  return parseAdmissionReview(admissionReview(object, options));
}

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...metadata }, spec };
}

function deployment(podSpec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: podSpec },
    },
  };
}

/** Every reference resolves to {@link DIGEST} unless told otherwise. */
function fakeResolver(answers: Record<string, FakeAnswer> = {}): FakeResolver {
  return sharedFakeResolver({ answers, digest: DIGEST });
}

function deps(
  settings: Partial<WebhookSettings> = {},
  rules: Rules = defaultRules(),
  resolver?: Resolver,
): AdmissionDeps {
  return { rules, settings: { ...defaultWebhookSettings(), ...settings }, ...(resolver ? { resolver } : {}) };
}

const ALL_FIELDS = {
  initContainers: [{ name: 'init', image: 'busybox:1.36' }],
  containers: [
    { name: 'app', image: 'nginx:1.27' },
    { name: 'pinned', image: `nginx:1.27@${DIGEST}` },
  ],
  ephemeralContainers: [{ name: 'debug', image: 'busybox' }],
  volumes: [{ name: 'data', image: { reference: 'registry.example.com/data:v1' } }],
};

describe('validate', () => {
  it('denies with 403 and one Gatekeeper line per image without a digest, in every image field', () => {
    const d = validate(req(pod(ALL_FIELDS)), deps());
    expect(d.verdict).toBe('denied');
    expect(d.response.allowed).toBe(false);
    expect(d.response.status?.code).toBe(403);
    expect(d.response.status?.message.split('\n')).toEqual([
      '[image-digest-required] container <app> uses an image without a digest <nginx:1.27>',
      '[image-digest-required] initContainer <init> uses an image without a digest <busybox:1.36>',
      '[image-digest-required] ephemeralContainer <debug> uses an image without a digest <busybox>',
      '[image-digest-required] volume <data> uses an image without a digest <registry.example.com/data:v1>',
    ]);
    expect(d.violations).toBe(4);
  });

  it('allows images that all carry a digest, and exempt images', () => {
    expect(
      validate(req(pod({ containers: [{ name: 'a', image: `nginx@${DIGEST}` }] })), deps()).response.allowed,
    ).toBe(true);
    const rules = rulesFromValue(
      { exemptImages: ['busybox*', 'nginx:1.27', 'registry.example.com/'] },
      'test',
    );
    const d = validate(req(pod({ ...ALL_FIELDS, volumes: [] })), deps({}, rules));
    expect(d).toMatchObject({ verdict: 'allowed', violations: 0, response: { allowed: true } });
  });

  it('finds the pod spec of every workload kind (PodTemplate under template.spec, CronJob under jobTemplate)', () => {
    const template = {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 't' },
      template: { spec: { containers: [{ name: 'c', image: 'a:1' }] } },
    };
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: {
        schedule: '* * * * *',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'b:1' }] } } } },
      },
    };
    expect(validate(req(template), deps()).response.status?.message).toContain(
      'container <c> uses an image without a digest <a:1>',
    );
    expect(validate(req(cron), deps()).response.status?.message).toContain(
      'container <c> uses an image without a digest <b:1>',
    );
  });

  it('warn allows and returns warnings of at most 120 characters that keep the end of the image', () => {
    const long = `registry.example.com/${'team/'.repeat(20)}app:v1.2.3`;
    const d = validate(
      req(
        pod({
          containers: [
            { name: 'a', image: 'nginx:1.27' },
            { name: 'b', image: long },
          ],
        }),
      ),
      deps({ enforcement: 'warn' }),
    );
    expect(d.verdict).toBe('warned');
    expect(d.response.allowed).toBe(true);
    expect(d.response.warnings?.[0]).toBe('container <a> uses an image without a digest <nginx:1.27>');
    expect(d.response.warnings?.[1]?.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(d.response.warnings?.[1]).toMatch(/^container <b> uses an image.*\.\.\..*app:v1\.2\.3>$/);
  });

  it('dryrun allows with no warnings but counts the violations', () => {
    const d = validate(req(pod(ALL_FIELDS)), deps({ enforcement: 'dryrun' }));
    expect(d).toMatchObject({ verdict: 'dryrun', violations: 4, response: { allowed: true } });
    expect(d.response.warnings).toBeUndefined();
  });

  it('skips objects the rules do not match, DELETE and mirror pods', () => {
    const rules = rulesFromValue(
      { match: { excludedNamespaces: ['legacy-*'], kinds: ['Pod', 'apps/Deployment'] } },
      'test',
    );
    expect(validate(req(pod(ALL_FIELDS), { namespace: 'legacy-app' }), deps({}, rules)).verdict).toBe(
      'skipped',
    );
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'x:1' }] } } },
    };
    expect(validate(req(job), deps({}, rules)).verdict).toBe('skipped');
    expect(validate(req(pod(ALL_FIELDS), { namespace: 'prod' }), deps({}, rules)).verdict).toBe('denied');
    expect(validate(req(pod(ALL_FIELDS), { operation: 'DELETE' }), deps()).verdict).toBe('skipped');
    const mirror = pod(ALL_FIELDS, { annotations: { 'kubernetes.io/config.mirror': 'abc' } });
    expect(validate(req(mirror), deps())).toMatchObject({ verdict: 'skipped', reason: 'mirror pod' });
  });

  it('on UPDATE judges only images that are new or changed (existing violations are allowed)', () => {
    const old = deployment({ containers: [{ name: 'app', image: 'nginx:1.27' }] });
    const same = deployment({ containers: [{ name: 'app', image: 'nginx:1.27' }] });
    expect(validate(req(same, { operation: 'UPDATE', oldObject: old }), deps()).response.allowed).toBe(true);
    const added = deployment({
      containers: [
        { name: 'app', image: 'nginx:1.27' },
        { name: 'side', image: 'envoy:1' },
      ],
    });
    const d = validate(req(added, { operation: 'UPDATE', oldObject: old }), deps());
    expect(d.response.status?.message).toBe(
      '[image-digest-required] container <side> uses an image without a digest <envoy:1>',
    );
    expect(
      validate(req(same, { operation: 'UPDATE', oldObject: old }), deps({ allowExistingViolations: false }))
        .verdict,
    ).toBe('denied');
  });

  it('checks the new ephemeral container of a pods/ephemeralcontainers request (the object is the Pod)', () => {
    const before = pod({ containers: [{ name: 'app', image: 'nginx:1.27' }] });
    const after = pod({
      containers: [{ name: 'app', image: 'nginx:1.27' }],
      ephemeralContainers: [{ name: 'debugger', image: 'busybox:1.36' }],
    });
    const d = validate(
      req(after, { operation: 'UPDATE', oldObject: before, subResource: 'ephemeralcontainers' }),
      deps(),
    );
    expect(d.response.status?.message).toBe(
      '[image-digest-required] ephemeralContainer <debugger> uses an image without a digest <busybox:1.36>',
    );
  });
});

describe('mutate', () => {
  it('replaces exactly the image strings without a digest with name:tag@digest', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const object = pod(ALL_FIELDS);
    const d = await mutate(req(object), deps({}, defaultRules(), resolver));
    expect(d.verdict).toBe('patched');
    expect(d.response.patchType).toBe('JSONPatch');
    const ops = decodePatch(d.response.patch);
    expect(ops.map((o) => o.path).sort()).toEqual([
      '/spec/containers/0/image',
      '/spec/ephemeralContainers/0/image',
      '/spec/initContainers/0/image',
      '/spec/volumes/0/image/reference',
    ]);
    const patched = applyPatch(object, ops) as typeof object & { spec: typeof ALL_FIELDS };
    expect(patched.spec.containers[0]!.image).toBe(`nginx:1.27@${DIGEST}`);
    expect(patched.spec.containers[1]!.image).toBe(`nginx:1.27@${DIGEST}`); // untouched, already pinned
    expect(patched.spec.ephemeralContainers[0]!.image).toBe(`busybox@${DIGEST}`);
    expect(patched.spec.volumes[0]!.image.reference).toBe(`registry.example.com/data:v1@${DIGEST}`);
    expect(calls.map((c) => c.canonical).sort()).toEqual([
      'docker.io/library/busybox',
      'docker.io/library/busybox:1.36',
      'docker.io/library/nginx:1.27',
      'registry.example.com/data:v1',
    ]);
  });

  it('decides at once when the cache answers every tag, and waits only for what it does not', async () => {
    const asked: string[] = [];
    const resolver = await openResolver({ base: recordingBase(DIGEST, asked) });
    try {
      const request = req(pod(ALL_FIELDS));
      const cold = mutation(request, deps({}, defaultRules(), resolver));
      expect(cold).toBeInstanceOf(Promise);
      const first = await cold;
      expect(asked).toHaveLength(4);
      const warm = mutation(request, deps({}, defaultRules(), resolver));
      expect(warm).not.toBeInstanceOf(Promise);
      expect(warm).toEqual(first);
      expect((warm as Awaited<typeof cold>).verdict).toBe('patched');
      expect(asked).toHaveLength(4);
      // One new tag among cached ones: only it is asked for, and the answer waits for it.
      const more = pod({
        ...ALL_FIELDS,
        containers: [...ALL_FIELDS.containers, { name: 'new', image: 'redis:7' }],
      });
      const partly = mutation(req(more), deps({}, defaultRules(), resolver));
      expect(partly).toBeInstanceOf(Promise);
      expect(decodePatch((await partly).response.patch)).toHaveLength(5);
      expect(asked.slice(4)).toEqual(['docker.io/library/redis:7']);
      // Nothing to pin is decided at once too; mutate() is a promise whatever the path.
      expect(
        mutation(
          req(pod({ containers: [{ name: 'a', image: `nginx@${DIGEST}` }] })),
          deps({}, defaultRules(), resolver),
        ),
      ).toMatchObject({ verdict: 'allowed' });
      const viaMutate = mutate(request, deps({}, defaultRules(), resolver));
      expect(viaMutate).toBeInstanceOf(Promise);
      expect(await viaMutate).toEqual(first);
    } finally {
      await resolver.close();
    }
  });

  it('is idempotent: a reinvocation on its own output changes nothing and asks no registry', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const object = deployment({
      containers: [
        { name: 'a', image: 'nginx:1.27' },
        { name: 'b', image: 'nginx:1.27' },
      ],
    });
    const first = await mutate(req(object), deps({}, defaultRules(), resolver));
    expect(calls).toHaveLength(1); // one resolution per distinct reference
    const again = await mutate(
      req(applyPatch(object, decodePatch(first.response.patch))),
      deps({}, defaultRules(), resolver),
    );
    expect(again).toMatchObject({ verdict: 'allowed', patched: 0, response: { allowed: true } });
    expect(again.response.patch).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('leaves controller-owned objects to their owner unless mutateOwnedObjects', async () => {
    const resolver = fakeResolver();
    const owned = pod(
      { containers: [{ name: 'a', image: 'nginx:1.27' }] },
      {
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'x', controller: true },
        ],
      },
    );
    const d = await mutate(req(owned), deps({}, defaultRules(), resolver));
    expect(d).toMatchObject({
      verdict: 'skipped',
      reason: 'owned by ReplicaSet web-5d8f: left to its owner',
    });
    expect(
      (await mutate(req(owned), deps({ mutateOwnedObjects: true }, defaultRules(), resolver))).verdict,
    ).toBe('patched');
    const mirror = pod(
      { containers: [{ name: 'a', image: 'nginx:1.27' }] },
      { annotations: { 'kubernetes.io/config.mirror': 'x' } },
    );
    expect((await mutate(req(mirror), deps({}, defaultRules(), resolver))).verdict).toBe('skipped');
  });

  it('on UPDATE re-resolves only images that changed from oldObject', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const old = deployment({
      containers: [
        { name: 'a', image: 'nginx:1.27' },
        { name: 'b', image: 'redis:7' },
      ],
    });
    const next = deployment({
      containers: [
        { name: 'a', image: 'nginx:1.27' },
        { name: 'b', image: 'redis:7.2' },
      ],
    });
    const d = await mutate(
      req(next, { operation: 'UPDATE', oldObject: old }),
      deps({}, defaultRules(), resolver),
    );
    expect(decodePatch(d.response.patch)).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/1/image', value: `redis:7.2@${DIGEST}` },
    ]);
    expect(calls.map((c) => c.canonical)).toEqual(['docker.io/library/redis:7.2']);
  });

  it('on pods/ephemeralcontainers patches only the new ephemeral container (the rest of the Pod is immutable there)', async () => {
    const resolver = fakeResolver();
    const before = pod({
      containers: [{ name: 'app', image: 'nginx:1.27' }],
      ephemeralContainers: [{ name: 'old', image: 'busybox:1.35' }],
    });
    const after = pod({
      containers: [{ name: 'app', image: 'nginx:1.27' }],
      ephemeralContainers: [
        { name: 'old', image: 'busybox:1.35' },
        { name: 'debugger', image: 'busybox:1.36' },
      ],
    });
    const d = await mutate(
      req(after, { operation: 'UPDATE', oldObject: before, subResource: 'ephemeralcontainers' }),
      deps({}, defaultRules(), resolver),
    );
    expect(decodePatch(d.response.patch)).toEqual([
      { op: 'replace', path: '/spec/ephemeralContainers/1/image', value: `busybox:1.36@${DIGEST}` },
    ]);
  });

  it('answers a dryRun request the same way', async () => {
    const resolver = fakeResolver();
    const object = pod({ containers: [{ name: 'a', image: 'nginx:1.27' }] });
    const wet = await mutate(req(object, { uid: 'u' }), deps({}, defaultRules(), resolver));
    const dry = await mutate(req(object, { uid: 'u', dryRun: true }), deps({}, defaultRules(), resolver));
    expect(dry.response).toEqual(wet.response);
  });

  it('writes repo@digest with dropTag and asks for the configured platform', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const rules = rulesFromValue({ dropTag: true, platform: 'linux/arm64' }, 'test');
    const d = await mutate(
      req(pod({ containers: [{ name: 'a', image: 'localhost:5000/app:1.0' }] })),
      deps({}, rules, resolver),
    );
    expect(decodePatch(d.response.patch)[0]?.value).toBe(`localhost:5000/app@${DIGEST}`);
    expect(calls[0]?.platform).toBe('linux/arm64');
  });

  it('escapes custom image paths as JSON pointers (~0 for ~, ~1 for /)', async () => {
    const resolver = fakeResolver();
    const rules = rulesFromValue(
      { imageLocations: [{ kind: 'Widget', imagePaths: ['spec["images/main~x"].ref'] }] },
      'test',
    );
    const widget = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { 'images/main~x': { ref: 'nginx:1' } },
    };
    const d = await mutate(req(widget), deps({}, rules, resolver));
    const ops = decodePatch(d.response.patch);
    expect(ops[0]?.path).toBe('/spec/images~1main~0x/ref');
    expect(applyPatch(widget, ops).spec['images/main~x'].ref).toBe(`nginx:1@${DIGEST}`);
  });

  it('failureMode allow: pins what it can, warns and records an audit annotation for the rest', async () => {
    const resolver = fakeResolver({
      'registry.example.com/private:1': new ImgdigestError(
        'AUTH_FAILED',
        'unauthorized: registry.example.com requires authentication',
      ),
    });
    const object = pod({
      containers: [
        { name: 'a', image: 'nginx:1.27' },
        { name: 'b', image: 'registry.example.com/private:1' },
      ],
    });
    const d = await mutate(req(object), deps({ failureMode: 'allow' }, defaultRules(), resolver));
    expect(d.verdict).toBe('failed-open');
    expect(d.response.allowed).toBe(true);
    expect(decodePatch(d.response.patch).map((o) => o.path)).toEqual(['/spec/containers/0/image']);
    expect(d.response.warnings).toHaveLength(1);
    expect(d.response.warnings?.[0]).toMatch(
      /^image left unpinned: container b registry.example.com\/private:1: AUTH_FAILED/,
    );
    expect(d.response.warnings?.[0]?.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(d.response.auditAnnotations?.[RESOLVE_ERROR_ANNOTATION]).toBe(
      'container b registry.example.com/private:1: AUTH_FAILED: unauthorized: registry.example.com requires authentication',
    );
  });

  it('failureMode deny: refuses, naming each image and its error', async () => {
    const resolver = fakeResolver({
      'docker.io/library/nginx:1.27': new ImgdigestError('NOT_FOUND', 'manifest unknown'),
    });
    const d = await mutate(
      req(
        pod({
          containers: [
            { name: 'a', image: 'nginx:1.27' },
            { name: 'b', image: 'NotAReference' },
          ],
        }),
      ),
      deps({ failureMode: 'deny' }, defaultRules(), resolver),
    );
    expect(d.verdict).toBe('denied');
    expect(d.response.allowed).toBe(false);
    expect(d.response.status?.message).toMatch(/^cannot pin 2 images to a digest: /);
    expect(d.response.status?.message).toContain('container a nginx:1.27: NOT_FOUND: manifest unknown');
    expect(d.response.status?.message).toContain('container b NotAReference: REFERENCE_INVALID');
  });

  it('resolves nothing for an object naming more distinct images than maxReferencesPerReview', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const containers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: `app:${i}` }));
    const over = await mutate(
      req(pod({ containers: containers(4) })),
      deps({ maxReferencesPerReview: 3, failureMode: 'allow' }, defaultRules(), resolver),
    );
    expect(calls).toHaveLength(0);
    expect(over.verdict).toBe('failed-open');
    expect(over.response.warnings).toEqual([
      'images left unpinned: 4 distinct images, more than maxReferencesPerReview 3',
    ]);
    expect(over.response.auditAnnotations?.[RESOLVE_ERROR_ANNOTATION]).toContain('maxReferencesPerReview');
    const denied = await mutate(
      req(pod({ containers: containers(4) })),
      deps({ maxReferencesPerReview: 3, failureMode: 'deny' }, defaultRules(), resolver),
    );
    expect(denied.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(calls).toHaveLength(0);
    // At the limit, everything is resolved.
    const at = await mutate(
      req(pod({ containers: containers(3) })),
      deps({ maxReferencesPerReview: 3 }, defaultRules(), resolver),
    );
    expect(at.patched).toBe(3);
    // Distinct images are what counts: five containers naming two images are resolved.
    const repeated = Array.from({ length: 5 }, (_, i) => ({ name: `r${i}`, image: `app:${i % 2}` }));
    const shared = await mutate(
      req(pod({ containers: repeated })),
      deps({ maxReferencesPerReview: 3 }, defaultRules(), fakeResolver()),
    );
    expect(shared.verdict).toBe('patched');
    expect(shared.patched).toBe(5);
  });

  it('answers when the resolution budget runs out, not before, when the registry never does', async () => {
    // A round clock: the budget's deadline is rounded up to 5 ms, so it falls exactly 300 ms on.
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    try {
      const resolver = fakeResolver({ 'docker.io/library/nginx:1.27': 'hang' });
      let decided: Awaited<ReturnType<typeof mutate>> | undefined;
      void mutate(
        req(pod({ containers: [{ name: 'a', image: 'nginx:1.27' }] })),
        deps({ failureMode: 'allow', resolutionBudgetMs: 300 }, defaultRules(), resolver),
      ).then((d) => {
        decided = d;
      });
      await vi.advanceTimersByTimeAsync(299);
      expect(decided).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(decided?.verdict).toBe('failed-open');
      expect(decided?.errors[0]).toBe(
        'container a nginx:1.27: TIMEOUT: no answer within the resolution budget of 300 ms',
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('skips DELETE and objects outside the rules without asking the resolver', async () => {
    const resolver = fakeResolver();
    const { calls } = resolver;
    const rules = rulesFromValue({ match: { namespaces: ['prod'] } }, 'test');
    const object = pod({ containers: [{ name: 'a', image: 'nginx:1.27' }] });
    expect((await mutate(req(object, { namespace: 'dev' }), deps({}, rules, resolver))).verdict).toBe(
      'skipped',
    );
    expect(
      (
        await mutate(
          req(object, { operation: 'DELETE', oldObject: object }),
          deps({}, defaultRules(), resolver),
        )
      ).verdict,
    ).toBe('skipped');
    expect(calls).toHaveLength(0);
    expect((await mutate(req(object, { namespace: 'prod' }), deps({}, rules, resolver))).verdict).toBe(
      'patched',
    );
  });

  it('uses the request namespace when the object names none (pods created by a ReplicaSet)', async () => {
    const resolver = fakeResolver();
    const rules = rulesFromValue({ match: { namespaces: ['team-a'] } }, 'test');
    const object = pod({
      containers: [
        { name: 'a', image: `x@${PINNED}` },
        { name: 'b', image: 'y:1' },
      ],
    });
    expect((await mutate(req(object, { namespace: 'team-a' }), deps({}, rules, resolver))).patched).toBe(1);
  });
});

describe('parseAdmissionReview', () => {
  it('accepts admission.k8s.io/v1 only, with a clear message', () => {
    const body = admissionReview(pod({ containers: [] }));
    expect(() => parseAdmissionReview({ ...body, apiVersion: 'admission.k8s.io/v1beta1' })).toThrow(
      /apiVersion "admission.k8s.io\/v1beta1" is not supported: only admission.k8s.io\/v1 is accepted/,
    );
    expect(() =>
      parseAdmissionReview({ ...body, request: { ...(body.request as object), uid: '' } }),
    ).toThrow(/request.uid/);
    expect(() => parseAdmissionReview([])).toThrow(/not a JSON object/);
    expect(() => parseAdmissionReview({ ...body, kind: 'Pod' })).toThrow(
      /kind must be AdmissionReview, got "Pod"/,
    );
  });
});
