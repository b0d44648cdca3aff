/** The rules file: what it accepts, and that every mistake names file:line:column and the field. */
import { describe, expect, it } from 'vitest';
import { compilePath, expandPath, formatPath } from './paths.js';
import { applyRuleFlags, defaultRules, mergeRules, parseRules, rulesFromConfigMapData } from './rules.js';

describe('parseRules', () => {
  it('reads every field', () => {
    const rules = parseRules(
      `apiVersion: imgdigest.dev/v1alpha1
kind: ImageDigestRules
exemptImages: ['registry.k8s.io/pause*']
match:
  kinds: [Pod, apps/Deployment, {apiGroups: [batch], kinds: [Job]}]
  namespaces: [prod]
  excludedNamespaces: [kube-system]
  defaultNamespace: prod
imageLocations:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    podSpecPaths: [spec.template.spec]
    imagePaths: ['spec.**.image']
platform: linux/arm64
dropTag: true
failurePolicy: Ignore
`,
      'rules.yaml',
    );
    expect(rules.exemptImages).toEqual(['registry.k8s.io/pause*']);
    expect(rules.kinds).toEqual([
      { apiGroups: ['*'], kinds: ['Pod'] },
      { apiGroups: ['apps'], kinds: ['Deployment'] },
      { apiGroups: ['batch'], kinds: ['Job'] },
    ]);
    expect(rules).toMatchObject({
      namespaces: ['prod'],
      excludedNamespaces: ['kube-system'],
      defaultNamespace: 'prod',
    });
    expect(rules).toMatchObject({ platform: 'linux/arm64', dropTag: true, failurePolicy: 'Ignore' });
    expect(rules.imageLocations[0]!.imagePaths[0]!.source).toBe('spec.**.image');
  });

  it.each([
    ['exemptImages: [1]\n', /^rules\.yaml:1:16: exemptImages\[0\] must be a non-empty string$/],
    [
      'match:\n  kinds: [Pod]\n  namespace: [x]\n',
      /^rules\.yaml:3:14: match\.namespace is not a known field/,
    ],
    [
      'imageLocations:\n  - kind: X\n    imagePaths: ["spec..image"]\n',
      /^rules\.yaml:3:18: imageLocations\[0\]\.imagePaths\[0\] invalid field path "spec\.\.image": empty key/,
    ],
    [
      'imageLocations:\n  - kind: X\n',
      /^rules\.yaml:2:5: imageLocations\[0\] needs podSpecPaths, imagePaths or imageMapPaths/,
    ],
    [
      'imageLocations:\n  - imagePaths: [a]\n',
      /^rules\.yaml:2:5: imageLocations\[0\]\.kind is required \(or files, for YAML that is not a Kubernetes object\)/,
    ],
    [
      'imageLocations:\n  - {kind: X, files: [values.yaml], imagePaths: [a]}\n',
      /imageLocations\[0\]\.files is for YAML that is not a Kubernetes object: give kind or files, not both/,
    ],
    ['platform: linux/\n', /^rules\.yaml:1:11: platform is not a platform/],
    ['failurePolicy: Maybe\n', /^rules\.yaml:1:16: failurePolicy must be Fail or Ignore/],
    ['kind: Config\n', /^rules\.yaml:1:7: kind must be ImageDigestRules/],
    ['exemptImages: [a\n', /^rules\.yaml:\d+:\d+: invalid YAML/],
  ])('rejects %j', (text, message) => {
    expect(() => parseRules(text, 'rules.yaml')).toThrow(message);
    try {
      parseRules(text, 'rules.yaml');
    } catch (e) {
      expect((e as { code: string }).code).toBe('CONFIG_INVALID');
    }
  });
});

describe('flags and functionConfig', () => {
  it('adds list flags to the file and lets scalar flags win', () => {
    const base = parseRules('exemptImages: [a]\nplatform: linux/amd64\n', 'r.yaml');
    const rules = applyRuleFlags(base, { exemptImages: ['b,c'], kinds: ['Pod'], platform: 'linux/arm64' });
    expect(rules.exemptImages).toEqual(['a', 'b', 'c']);
    expect(rules.platform).toBe('linux/arm64');
    expect(() => applyRuleFlags(base, { platform: 'nope/' })).toThrow();
  });

  it('reads a ConfigMap data block and merges it over the flags', () => {
    const cm = rulesFromConfigMapData(
      { exemptImages: 'x*, y', dropTag: 'true', namespaces: 'prod\nstaging' },
      'cm',
    );
    expect(cm).toMatchObject({ exemptImages: ['x*', 'y'], dropTag: true, namespaces: ['prod', 'staging'] });
    expect(() => rulesFromConfigMapData({ dropTag: 'yes' }, 'cm')).toThrow(
      /dropTag must be "true" or "false"/,
    );
    expect(() => rulesFromConfigMapData({ exempt: 'x' }, 'cm')).toThrow(/data\.exempt is not a known field/);
    const merged = mergeRules(applyRuleFlags(defaultRules(), { exemptImages: ['z'] }), cm);
    expect(merged.exemptImages).toEqual(['z', 'x*', 'y']);
  });
});

describe('field paths', () => {
  const obj = {
    spec: {
      containers: [{ image: 'a' }, { image: 'b' }],
      nested: { deep: { image: 'c', list: [{ image: 'd' }] } },
      'a.b': { image: 'e' },
    },
  };
  const paths = (p: string) => expandPath(obj, compilePath(p)).map((m) => formatPath(m.path));

  it('expands [*], [N], *, ** and quoted keys', () => {
    expect(paths('spec.containers[*].image')).toEqual([
      'spec.containers[0].image',
      'spec.containers[1].image',
    ]);
    expect(paths('spec.containers[1].image')).toEqual(['spec.containers[1].image']);
    expect(paths('spec.*.deep.image')).toEqual(['spec.nested.deep.image']);
    expect(paths('spec.**.image').sort()).toEqual(
      [
        'spec.containers[0].image',
        'spec.containers[1].image',
        'spec.nested.deep.image',
        'spec.nested.deep.list[0].image',
        'spec["a.b"].image',
      ].sort(),
    );
    expect(paths('spec["a.b"].image')).toEqual(['spec["a.b"].image']);
  });

  it.each(['', 'a..b', 'a.', 'a[x]', 'a[1', 'a.**', 'a]b'])('rejects %j', (p) => {
    expect(() => compilePath(p)).toThrow(/invalid field path/);
  });

  it('does not loop on cyclic values', () => {
    const cyclic: Record<string, unknown> = { image: 'x' };
    cyclic.self = cyclic;
    expect(expandPath(cyclic, compilePath('**.image')).length).toBeGreaterThan(0);
  });
});
