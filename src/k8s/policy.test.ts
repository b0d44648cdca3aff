/**
 * The digest rule against every case of gatekeeper-library `imagedigests`
 * (https://github.com/open-policy-agent/gatekeeper-library/tree/master/src/general/imagedigests):
 * the 8 Rego scenarios, each with containers and with initContainers, and the 3 gator suite cases. Our rule is stronger than Gatekeeper's, yet every one of these gets the same verdict.
 */
import { describe, expect, it } from 'vitest';
import { violationsOf } from './check.js';
import { hasDigest, isExempt, namespaceMatches, objectMatches, parseKindSelector } from './policy.js';
import { applyRuleFlags, defaultRules } from './rules.js';

const SHA256 = 'sha256:b0ad43f7ee5edbc0effbc14645ae7055e21bc1973aee5150745632a24a752661';
const SHA512 =
  'sha512:4b8bea0e757264767b373ba4963f4e972c428f42bf5335c2abb2e7f15a1b07c8aeddd2e62cacd0f2d669f49d8d975d952031e3041371639ec84baab400ab4802';

function pod(field: 'containers' | 'initContainers' | 'ephemeralContainers', images: string[]) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nginx' },
    spec: { [field]: images.map((image, i) => ({ name: `c${i}`, image })) },
  };
}

const scenarios: Array<{ name: string; images: string[]; exempt?: string[]; expected: number }> = [
  { name: 'allowed_container', images: [`allowed/nginx@${SHA256}`], expected: 0 },
  { name: 'allowed_container_with_tag_and_digest', images: [`allowed/nginx:1.19.2@${SHA256}`], expected: 0 },
  {
    name: 'allowed_containers_with_registered_algorithms',
    images: [`allowed/nginx@${SHA256}`, `allowed/nginx@${SHA512}`],
    expected: 0,
  },
  {
    name: 'allowed_containers_with_unregistered_algorithms',
    images: [
      'allowed/unreg@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
      'allowed/unreg@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
    ],
    expected: 0,
  },
  { name: 'denied_container', images: ['denied/nginx:1.19.2'], expected: 1 },
  { name: 'denied_dual_container', images: ['denied/nginx:1.19.2', 'denied/other'], expected: 2 },
  { name: 'denied_mixed_container', images: [`allowed/nginx@${SHA256}`, 'denied/nginx:1.19.2'], expected: 1 },
  {
    name: 'denied_mixed_container_with_exemption',
    images: [`allowed/nginx@${SHA256}`, 'denied/nginx:1.19.2'],
    exempt: ['denied/*'],
    expected: 0,
  },
];

describe('gatekeeper-library imagedigests src_test.rego', () => {
  for (const field of ['containers', 'initContainers'] as const) {
    for (const s of scenarios) {
      it(`${field === 'containers' ? 'test_input' : 'test_input_init'}_${s.name}: ${s.expected} violation(s)`, () => {
        const rules = applyRuleFlags(defaultRules(), { exemptImages: s.exempt ?? [] });
        const found = violationsOf(pod(field, s.images), rules);
        expect(found).toHaveLength(s.expected);
        const noun = field === 'containers' ? 'container' : 'initContainer';
        for (const v of found)
          expect(v.message).toMatch(
            new RegExp(`^${noun} <c\\d> uses an image without a digest <denied/[^>]+>$`),
          );
      });
    }
  }
});

describe('gatekeeper-library imagedigests suite.yaml (gator)', () => {
  const rules = defaultRules();
  const count = (messages: string[], re: RegExp) => messages.filter((m) => re.test(m)).length;

  it('example-allowed: no violations', () => {
    const obj = pod('containers', [
      'openpolicyagent/opa:0.9.2@sha256:04ff8fce2afd1a3bc26260348e5b290e8d945b1fad4b4c16d22834c2f3a1814a',
    ]);
    expect(violationsOf(obj, rules)).toEqual([]);
  });

  it('example-disallowed: 2 violations, one initContainer and one container', () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'opa-disallowed' },
      spec: {
        initContainers: [{ name: 'opainit', image: 'openpolicyagent/opa:0.9.2' }],
        containers: [{ name: 'opa', image: 'openpolicyagent/opa:0.9.2' }],
      },
    };
    const messages = violationsOf(obj, rules).map((v) => v.message);
    expect(messages).toHaveLength(2);
    // gator's `message` assertions are case-sensitive Go regexes: `container` misses `initContainer`.
    expect(count(messages, /initContainer/)).toBe(1);
    expect(count(messages, /container/)).toBe(1);
    expect(messages).toContain(
      'initContainer <opainit> uses an image without a digest <openpolicyagent/opa:0.9.2>',
    );
    expect(messages).toContain('container <opa> uses an image without a digest <openpolicyagent/opa:0.9.2>');
  });

  it('disallowed-all: 3 violations, one per container kind', () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'opa-disallowed' },
      spec: {
        initContainers: [{ name: 'opainit', image: 'openpolicyagent/opa:0.9.2' }],
        containers: [{ name: 'opa', image: 'openpolicyagent/opa:0.9.2' }],
        ephemeralContainers: [{ name: 'opadebug', image: 'openpolicyagent/opa:0.9.2' }],
      },
    };
    const messages = violationsOf(obj, rules).map((v) => v.message);
    expect(messages).toHaveLength(3);
    expect(count(messages, /initContainer/)).toBe(1);
    expect(count(messages, /container/)).toBe(1);
    expect(count(messages, /ephemeralContainer/)).toBe(1);
  });
});

describe('stronger than Gatekeeper', () => {
  it.each([
    ['nginx@sha256:abc', 'sha256 too short (Gatekeeper allows it)'],
    ['x@sha256:abc!!', 'junk after the digest (Gatekeeper allows it: unanchored)'],
    [`nginx@${SHA256}x`, 'sha256 one character too long'],
    [`nginx@${SHA256.toUpperCase().replace('SHA256', 'sha256')}`, 'uppercase hex'],
    [`nginx@SHA256:${SHA256.slice(7)}`, 'uppercase algorithm'],
    [`nginx@sha512:${'a'.repeat(64)}`, 'sha512 with 64 hex'],
    ['nginx@sha256:', 'empty encoding'],
    [`nginx@${SHA256}@`, 'trailing @'],
    [`nginx@${SHA256} `, 'trailing space'],
  ])('%s is not pinned (%s)', (image) => {
    expect(hasDigest(image)).toBe(false);
  });

  it.each([`a@${SHA256}`, `registry:5000/a/b:tag@${SHA512}`, 'x@blake3+b64:abc=', 'x@md5:whatever'])(
    '%s is pinned',
    (image) => {
      expect(hasDigest(image)).toBe(true);
    },
  );

  it('never treats a non-string as pinned', () => {
    expect(hasDigest(undefined)).toBe(false);
    expect(hasDigest(42)).toBe(false);
  });
});

describe('exemptions (Gatekeeper exemptImages)', () => {
  it('is exact without *, prefix with a trailing *', () => {
    expect(isExempt('nginx:1.27', ['nginx:1.27'])).toBe(true);
    expect(isExempt('nginx:1.27.1', ['nginx:1.27'])).toBe(false);
    expect(isExempt('registry.k8s.io/pause:3.9', ['registry.k8s.io/pause*'])).toBe(true);
    expect(isExempt('docker.io/library/nginx:1.27', ['nginx*'])).toBe(false);
    // only a trailing * is special
    expect(isExempt('a/b:1', ['*/b:1'])).toBe(false);
  });
});

describe('object matching (Constraint match)', () => {
  const meta = (kind: string, apiVersion: string, namespace?: string) => ({
    kind,
    apiVersion,
    name: 'x',
    namespace,
  });
  const rules = (flags: Parameters<typeof applyRuleFlags>[1]) => applyRuleFlags(defaultRules(), flags);

  it('matches kinds by name, or by group/name', () => {
    expect(objectMatches(meta('Deployment', 'apps/v1'), rules({ kinds: ['Deployment'] }))).toBe(true);
    expect(objectMatches(meta('Deployment', 'apps/v1'), rules({ kinds: ['batch/Deployment'] }))).toBe(false);
    expect(objectMatches(meta('Pod', 'v1'), rules({ kinds: ['core/Pod'] }))).toBe(true);
    expect(objectMatches(meta('Pod', 'v1'), rules({ kinds: ['Deployment,Job'] }))).toBe(false);
    expect(parseKindSelector('/Pod')).toEqual({ apiGroups: [''], kinds: ['Pod'] });
  });

  it('matches namespaces with wildcards, excluded ones win, and uses the default namespace', () => {
    expect(objectMatches(meta('Pod', 'v1', 'team-a'), rules({ namespaces: ['team-*'] }))).toBe(true);
    expect(objectMatches(meta('Pod', 'v1', 'prod'), rules({ namespaces: ['team-*'] }))).toBe(false);
    expect(objectMatches(meta('Pod', 'v1', 'kube-system'), rules({ excludedNamespaces: ['*-system'] }))).toBe(
      false,
    );
    expect(objectMatches(meta('Pod', 'v1'), rules({ namespaces: ['default'] }))).toBe(true);
    expect(objectMatches(meta('Pod', 'v1'), rules({ namespaces: ['prod'], defaultNamespace: 'prod' }))).toBe(
      true,
    );
    expect(namespaceMatches('*', 'anything')).toBe(true);
  });
});
