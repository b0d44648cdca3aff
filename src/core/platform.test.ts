import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/errors.js';
import { loadVectors } from '../../test/support/vectors.js';
import { isImgdigestError } from './errors.js';
import type { Descriptor, DescriptorPlatform } from './manifest.js';
import {
  comparePlatforms,
  createMatcher,
  describePlatforms,
  formatPlatform,
  formatPlatformAll,
  type HostPlatform,
  hostPlatform,
  normalizePlatform,
  onlyOS,
  type Platform,
  parsePlatform,
  platformOfDescriptor,
  selectManifest,
  toDescriptorPlatform,
} from './platform.js';

const v = loadVectors();

/** The vectors' host-dependent fields were produced on a linux/amd64 machine. */
const LINUX_AMD64: HostPlatform = { os: 'linux', architecture: 'amd64' };
const P = (s: string): Platform => parsePlatform(s, { host: LINUX_AMD64 });

let serial = 0;
function entry(platform: DescriptorPlatform | undefined, extra: Partial<Descriptor> = {}): Descriptor {
  serial += 1;
  const d: Descriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${serial.toString(16).padStart(64, '0')}`,
    size: 100 + serial,
    ...extra,
  };
  if (platform) d.platform = platform;
  return d;
}
const at = (s: string, extra: Partial<Descriptor> = {}) => entry(toDescriptorPlatform(P(s)), extra);
const ATTESTATION = () =>
  entry(
    { os: 'unknown', architecture: 'unknown' },
    { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
  );

describe('parsePlatform: containerd TestParseSelector vectors', () => {
  for (const c of v.platform_parse) {
    if (!c.valid) {
      it(`rejects ${JSON.stringify(c.input)} with PLATFORM_INVALID naming the input`, () => {
        const err = errorOf(() => P(c.input));
        expect(err?.code).toBe('PLATFORM_INVALID');
        expect(err?.message).toContain(JSON.stringify(c.input));
        expect(err?.message).not.toContain('\n');
      });
      continue;
    }
    it(`parses ${JSON.stringify(c.input)}`, () => {
      const p = P(c.input);
      expect(p.os).toBe(c.os);
      expect(p.architecture).toBe(c.architecture);
      expect(p.variant ?? '').toBe(c.variant);
      expect(p.osVersion ?? '').toBe(c['os.version'] ?? '');
      expect(p.osFeatures ?? []).toEqual(c['os.features'] ?? []);
      if (c.format) expect(formatPlatform(p)).toBe(c.format);
      if (c.formatAll) expect(formatPlatformAll(p)).toBe(c.formatAll);
      const matcher = createMatcher(p);
      for (const accepted of c.matcherAccepts ?? []) {
        expect(
          matcher.match({ os: accepted.os, architecture: accepted.architecture, variant: accepted.variant }),
        ).toBe(true);
      }
    });
  }

  it('names the problem: too many components', () => {
    expect(errorOf(() => P('linux/arm/foo/bar'))?.message).toBe(
      'invalid platform "linux/arm/foo/bar": too many components (expected os/arch[/variant])',
    );
    expect(errorOf(() => P('linux/*'))?.message).toMatch(/wildcards are not supported/);
    expect(errorOf(() => P('frobnicate'))?.message).toMatch(/unknown operating system or architecture/);
    expect(errorOf(() => P('windows(%zz)/amd64'))?.message).toMatch(/%-escape/);
  });
});

describe('parsePlatform: the missing half of a one-word platform comes from the host', () => {
  it('takes the host architecture for an OS, and the host OS for an architecture', () => {
    expect(parsePlatform('linux', { host: { os: 'darwin', architecture: 'arm64' } })).toEqual({
      os: 'linux',
      architecture: 'arm64',
    });
    expect(parsePlatform('s390x', { host: { os: 'windows', architecture: 'amd64' } })).toEqual({
      os: 'windows',
      architecture: 's390x',
    });
  });

  it('keeps an arm host variant other than v7, as containerd does', () => {
    expect(parsePlatform('linux', { host: { os: 'linux', architecture: 'arm', variant: 'v6' } })).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v6',
    });
    expect(
      parsePlatform('linux', { host: { os: 'linux', architecture: 'arm', variant: 'v7' } }).variant,
    ).toBe(undefined);
  });

  it('defaults to this machine in Go terms', () => {
    const host = hostPlatform();
    expect(['x64', 'ia32', 'win32']).not.toContain(host.architecture);
    expect(host.os).not.toBe('win32');
    expect(parsePlatform('linux').architecture).toBe(host.architecture);
  });
});

describe("parsePlatform: crane's :osversion and regctl's ,osver= suffixes", () => {
  it('reads the OS version from either suffix', () => {
    expect(P('windows/amd64:10.0.17763.7919')).toEqual({
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.17763.7919',
    });
    expect(P('windows/amd64,osver=10.0.17763')).toEqual({
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.17763',
    });
    expect(P('linux/arm/v7:5.10').variant).toBe('v7');
  });

  it('drops an arm v7 variant only when the architecture implied it, as containerd does', () => {
    for (const implied of ['linux/arm', 'linux/armhf'])
      expect(P(implied), implied).toEqual({ os: 'linux', architecture: 'arm' });
    expect(P('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(P('linux/armel')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(P('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  it('refuses a version given twice, unknown options and bad versions', () => {
    expect(errorOf(() => P('windows(10.0.1)/amd64:10.0.2'))?.message).toMatch(/given twice/);
    expect(errorOf(() => P('windows/amd64:10.0.1,osver=10.0.2'))?.message).toMatch(/given twice/);
    expect(errorOf(() => P('windows/amd64,arch=arm64'))?.message).toMatch(/unknown option "arch=arm64"/);
    expect(errorOf(() => P('windows/amd64:'))?.code).toBe('PLATFORM_INVALID');
    expect(errorOf(() => P('windows/amd64:a:b'))?.code).toBe('PLATFORM_INVALID');
  });
});

describe('formatPlatformAll: containerd TestFormatAllEncoding vectors', () => {
  for (const c of v.platform_format_all) {
    it(`formats ${JSON.stringify(c.platform)} as ${c.expected}`, () => {
      const p = platformOfDescriptor(c.platform);
      expect(formatPlatformAll(p)).toBe(c.expected);
      // and the text reads back as the same platform (features sorted, empty ones gone)
      expect(P(c.expected)).toEqual(normalizePlatform(p));
    });
  }

  it('formats an empty OS as unknown', () => {
    expect(formatPlatform({ os: '', architecture: 'amd64' })).toBe('unknown');
    expect(formatPlatformAll({ os: '', architecture: 'amd64', osVersion: '1' })).toBe('unknown');
  });
});

describe('normalizePlatform: containerd normalizeOS/normalizeArch vectors', () => {
  for (const c of v.platform_normalize) {
    if (c.os !== undefined) {
      it(`normalises OS ${c.os} to ${c.normalizedOs}`, () => {
        expect(normalizePlatform({ os: c.os, architecture: 'amd64' }).os).toBe(c.normalizedOs);
      });
      continue;
    }
    it(`normalises ${c.architecture}/${c.variant || '-'} to ${c.normalizedArchitecture}/${c.normalizedVariant || '-'}`, () => {
      const n = normalizePlatform({ os: 'linux', architecture: c.architecture, variant: c.variant });
      expect(n.architecture).toBe(c.normalizedArchitecture);
      expect(n.variant ?? '').toBe(c.normalizedVariant);
    });
  }

  it('sorts and de-duplicates OS features', () => {
    expect(
      normalizePlatform({ os: 'linux', architecture: 'amd64', osFeatures: ['b', 'a', 'b', ''] }).osFeatures,
    ).toEqual(['a', 'b']);
  });
});

function matcherVectors(table: string, make: (wanted: Platform) => { match(p: Platform): boolean }) {
  for (const c of v[table]) {
    it(`${c.platform} matches ${c.matches.join(', ')} and nothing in ${c.doesNotMatch.join(', ')}`, () => {
      const m = make(P(c.platform));
      for (const s of c.matches) expect(m.match(P(s)), s).toBe(true);
      for (const s of c.doesNotMatch) expect(m.match(P(s)), s).toBe(false);
    });
  }
}

describe('createMatcher: containerd TestOnly vectors', () => {
  matcherVectors('platform_only', (p) => createMatcher(p));
});

describe('createMatcher strict: containerd TestOnlyStrict vectors', () => {
  matcherVectors('platform_only_strict', (p) => createMatcher(p, { strict: true }));
});

describe('onlyOS: containerd TestOnlyOS vectors', () => {
  matcherVectors('platform_only_os', (p) => onlyOS(p));
});

describe('sorting: containerd TestOnlyOSLess and TestCompareOSFeatures vectors', () => {
  for (const c of v.platform_sort) {
    const comparers: Array<[string, (a: Platform, b: Platform) => number]> =
      c.comparer === 'OnlyOS'
        ? [['OnlyOS', onlyOS(P(c.platform)).compare]]
        : [
            ['Only', comparePlatforms(P(c.platform))],
            ['OnlyStrict', comparePlatforms(P(c.platform), { strict: true })],
          ];
    for (const [name, compare] of comparers) {
      it(`${name}(${c.platform}) sorts ${c.input.join(', ')}`, () => {
        const sorted = [...(c.input as string[])].sort((a, b) => compare(P(a), P(b)));
        expect(sorted).toEqual(c.expected);
      });
    }
  }
});

describe('ranking: preference order derived from containerd platformVector', () => {
  for (const c of v.platform_preference_vectors) {
    const order = c.preferenceOrder as string[];
    it(`${c.platform} prefers ${order.join(' > ')}`, () => {
      const m = createMatcher(P(c.platform));
      const ranks = order.map((s) => m.rank(P(s)));
      expect(ranks[0]).toBe(0);
      for (let i = 1; i < ranks.length; i++) expect(ranks[i]!).toBeGreaterThan(ranks[i - 1]!);
      expect(ranks.every(Number.isFinite)).toBe(true);
      expect([...order].reverse().sort((a, b) => m.compare(P(a), P(b)))).toEqual(order);
      // Whatever is left of the list, the best remaining entry is chosen, wherever it sits.
      for (let i = 0; i < order.length; i++) {
        const index = order
          .slice(i)
          .reverse()
          .map((s) => at(s));
        expect(selectManifest(index, P(c.platform))).toBe(index[index.length - 1]);
      }
    });
  }
});

describe('OS features (containerd: the image needs a subset of what is wanted)', () => {
  it('does not serve an image that needs features to a platform without them', () => {
    expect(createMatcher('linux/amd64').match(P('linux(+gpu)/amd64'))).toBe(false);
    expect(createMatcher('linux(+gpu)/amd64').match(P('linux/amd64'))).toBe(true);
    expect(createMatcher('linux(+gpu)/amd64').match(P('linux(+gpu)/amd64'))).toBe(true);
  });

  it('ignores win32k on Windows (Nano Server lacks it) but not elsewhere', () => {
    expect(createMatcher('windows/amd64').match(P('windows(+win32k)/amd64'))).toBe(true);
    expect(createMatcher('linux/amd64').match(P('linux(+win32k)/amd64'))).toBe(false);
  });

  it('prefers the entry with more wanted features among equals', () => {
    const index = [at('linux/amd64'), at('linux(+gpu)/amd64')];
    expect(selectManifest(index, P('linux(+gpu)/amd64'))).toBe(index[1]);
  });
});

describe('Windows os.version matching by build', () => {
  const win = (version: string) => entry({ os: 'windows', architecture: 'amd64', 'os.version': version });

  it('finds a build whatever its revision when no revision is asked for', () => {
    const m = createMatcher('windows/amd64:10.0.17763');
    expect(m.rank(P('windows/amd64:10.0.17763.7919'))).toBe(0);
    expect(m.match(P('windows/amd64:10.0.20348.2113'))).toBe(false);
    expect(m.match(P('windows/amd64:6.3.17763.1'))).toBe(false);
    const index = [win('10.0.20348.2113'), win('10.0.17763.7919')];
    expect(selectManifest(index, 'windows/amd64:10.0.17763')).toBe(index[1]);
  });

  it('picks the highest revision of the build a node runs, whatever revision the node is on', () => {
    // What a Windows node pulls: containerd's Windows comparer puts the newest os.version first.
    const index = [win('10.0.17763.1'), win('10.0.17763.2')];
    expect(selectManifest(index, 'windows(10.0.17763.1)/amd64')).toBe(index[1]);
    expect(selectManifest([...index].reverse(), 'windows(10.0.17763.1)/amd64')).toBe(index[1]);
    // Numbers, not strings: .10 is newer than .9.
    const tens = [win('10.0.17763.9'), win('10.0.17763.10')];
    expect(selectManifest(tens, 'windows/amd64:10.0.17763.1')).toBe(tens[1]);
    const other = [win('10.0.20348.1'), win('10.0.17763.1000')];
    expect(selectManifest(other, 'windows/amd64:10.0.17763.1234')).toBe(other[1]);
  });

  it('keeps index order among Windows images when no OS version is wanted (containerd Only)', () => {
    const index = [win('10.0.17763.1'), win('10.0.20348.5')];
    expect(selectManifest(index, 'windows/amd64')).toBe(index[0]);
  });

  it('needs the exact build before LTSC 2022 and accepts older stable-ABI builds after it', () => {
    expect(selectManifest([win('10.0.17763.1')], 'windows/amd64:10.0.20348')).toBeUndefined();
    const index = [win('10.0.17763.1'), win('10.0.20348.5'), win('10.0.26100.2')];
    expect(selectManifest(index, 'windows/amd64:10.0.26100.1')).toBe(index[2]);
    expect(selectManifest(index.slice(0, 2), 'windows/amd64:10.0.26100.1')).toBe(index[1]);
    // containerd: a host after LTSC 2025 runs LTSC 2025 images and newer, not LTSC 2022
    expect(selectManifest(index.slice(0, 2), 'windows/amd64:10.0.26200.1')).toBeUndefined();
  });

  it('matches any version when none is wanted, and prefers a versioned image when one is', () => {
    expect(createMatcher('windows/amd64').match(P('windows/amd64:10.0.14393.1066'))).toBe(true);
    const index = [entry({ os: 'windows', architecture: 'amd64' }), win('10.0.17763.1')];
    expect(selectManifest(index, 'windows/amd64:10.0.17763')).toBe(index[1]);
    expect(selectManifest(index.slice(0, 1), 'windows/amd64:10.0.17763')).toBe(index[0]);
  });

  for (const c of v.platform_windows_compat) {
    it(`a ${c.host} node ${c.shouldRun ? 'runs' : 'does not run'} a ${c.container} image (${c.source})`, () => {
      expect(createMatcher(`windows(${c.host})/amd64`).match(P(`windows(${c.container})/amd64`))).toBe(
        c.shouldRun,
      );
    });
  }

  for (const c of v.platform_windows_order) {
    it(c.name, () => {
      const compare = comparePlatforms(P(c.host));
      const sorted = [...(c.input as string[])].sort((a, b) => compare(P(a), P(b)));
      expect(sorted[0]).toBe(c.first);
      if (c.expected) expect(sorted).toEqual(c.expected);
      const index = (c.input as string[]).map((s) => at(s));
      expect(selectManifest(index, P(c.host))).toBe(index[(c.input as string[]).indexOf(c.first)]);
    });
  }

  it('ignores os.version off Windows, as containerd does', () => {
    expect(createMatcher('linux/amd64:7.2').rank(P('linux/amd64:7.1'))).toBe(0);
  });
});

describe('selectManifest', () => {
  it('picks the exact platform even when a fallback is listed first', () => {
    const index = [at('linux/arm/v7'), at('linux/arm64')];
    expect(selectManifest(index, 'linux/arm64')).toBe(index[1]);
    const amd = [at('linux/386'), at('linux/amd64')];
    expect(selectManifest(amd, 'linux/amd64')).toBe(amd[1]);
  });

  it('falls back as containerd Only does, and not at all when strict', () => {
    const index = [at('linux/amd64'), at('linux/arm/v7')];
    expect(selectManifest(index, 'linux/arm64')).toBe(index[1]);
    expect(selectManifest(index, 'linux/arm64', { strict: true })).toBeUndefined();
    expect(selectManifest(index, 'linux/arm/v7', { strict: true })).toBe(index[1]);
  });

  it('takes the first of equally good entries (image-spec)', () => {
    const index = [at('linux/amd64'), at('linux/amd64')];
    expect(selectManifest(index, 'linux/amd64')).toBe(index[0]);
    const arm = [at('linux/arm64/v8'), at('linux/arm64')];
    expect(selectManifest(arm, 'linux/arm64')).toBe(arm[0]);
  });

  it('never chooses an attestation, even when asked for unknown/unknown', () => {
    const index = [ATTESTATION(), at('linux/amd64'), entry({ os: 'unknown', architecture: 'unknown' })];
    expect(selectManifest(index, 'linux/amd64')).toBe(index[1]);
    expect(selectManifest(index, { os: 'unknown', architecture: 'unknown' })).toBeUndefined();
  });

  it('treats an entry without a platform as linux/amd64, as crane does', () => {
    const index = [entry(undefined)];
    expect(selectManifest(index, 'linux/amd64')).toBe(index[0]);
    expect(selectManifest(index, 'linux/arm64')).toBeUndefined();
    expect(platformOfDescriptor(undefined)).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it('returns undefined for no match and propagates a bad wanted platform', () => {
    expect(selectManifest([at('linux/amd64')], 'linux/s390x')).toBeUndefined();
    expect(errorOf(() => selectManifest([], 'linux/*'))?.code).toBe('PLATFORM_INVALID');
  });
});

describe('describePlatforms', () => {
  it('lists what an index offers, without attestations or duplicates', () => {
    const index = [
      at('linux/amd64'),
      ATTESTATION(),
      at('linux/arm64'),
      at('linux/arm/v7'),
      at('linux/amd64'),
    ];
    expect(describePlatforms(index)).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
  });

  it('shows Windows versions so entries can be told apart', () => {
    const index = [
      entry({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.7919' }),
      entry({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2113' }),
    ];
    expect(describePlatforms(index)).toEqual([
      'windows(10.0.17763.7919)/amd64',
      'windows(10.0.20348.2113)/amd64',
    ]);
  });
});

describe('descriptor platform conversion', () => {
  it('maps os.version and os.features both ways, leaving unset fields out', () => {
    const d: DescriptorPlatform = {
      architecture: 'amd64',
      os: 'windows',
      'os.version': '10.0.17763.7919',
      'os.features': ['win32k'],
    };
    const p = platformOfDescriptor(d);
    expect(p).toEqual({
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.17763.7919',
      osFeatures: ['win32k'],
    });
    expect(toDescriptorPlatform(p)).toEqual(d);
    expect(toDescriptorPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toEqual({
      architecture: 'arm',
      os: 'linux',
      variant: 'v7',
    });
  });
});

/* ------------------------------------------------------------------------------------------------
 * Properties
 * --------------------------------------------------------------------------------------------- */

const KNOWN_OS = ['linux', 'windows', 'darwin', 'freebsd', 'aix', 'solaris', 'zos'];
/** Architecture/variant pairs that parse back unchanged (no normalisation applies). */
const CANONICAL: Array<[string, string]> = [
  ['amd64', ''],
  ['amd64', 'v2'],
  ['amd64', 'v3'],
  ['386', ''],
  ['arm64', ''],
  ['arm64', 'v8'],
  ['arm64', 'v8.2'],
  ['arm64', 'v9'],
  ['arm', ''],
  ['arm', 'v5'],
  ['arm', 'v6'],
  ['arm', 'v7'],
  ['arm', 'v8'],
  ['ppc64le', ''],
  ['ppc64le', 'power9'],
  ['riscv64', 'rva20u64'],
  ['s390x', ''],
];
const optionText = fc.string({
  minLength: 1,
  maxLength: 12,
  unit: fc.constantFrom(...'aZ09._-%+()/'.split('')),
});
const canonicalPlatform: fc.Arbitrary<Platform> = fc
  .record({
    os: fc.constantFrom(...KNOWN_OS),
    arch: fc.constantFrom(...CANONICAL),
    osVersion: fc.option(optionText, { nil: undefined }),
    osFeatures: fc.uniqueArray(optionText, { maxLength: 3 }),
  })
  .map(({ os, arch, osVersion, osFeatures }) => {
    const p: Platform = { os, architecture: arch[0] };
    if (arch[1]) p.variant = arch[1];
    if (osVersion) p.osVersion = osVersion;
    if (osFeatures.length > 0) p.osFeatures = [...osFeatures].sort();
    return p;
  });

describe('properties', () => {
  it('formatPlatform and formatPlatformAll read back as the same platform', () => {
    fc.assert(
      fc.property(canonicalPlatform, (p) => {
        expect(P(formatPlatformAll(p))).toEqual(p);
        const { osVersion: _v, osFeatures: _f, ...plain } = p;
        expect(P(formatPlatform(p))).toEqual(plain);
      }),
    );
  });

  it('parsing any string either fails with PLATFORM_INVALID or gives a platform that formats and reads back', () => {
    const platformish = fc.string({
      maxLength: 30,
      unit: fc.constantFrom(...'linuxwdsARM64v78/()+%2B:,=*. _-'.split('')),
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), platformish), (s) => {
        let p: Platform;
        try {
          p = P(s);
        } catch (e) {
          expect(isImgdigestError(e) && e.code === 'PLATFORM_INVALID').toBe(true);
          return;
        }
        expect(P(formatPlatformAll(p))).toEqual(normalizeFeatures(p));
      }),
      { numRuns: 2000 },
    );
  });

  const pool = [
    'linux/amd64',
    'linux/amd64/v3',
    'linux/386',
    'linux/arm64',
    'linux/arm64/v8.2',
    'linux/arm/v7',
    'linux/arm/v6',
    'linux(+gpu)/amd64',
    'windows/amd64:10.0.17763.1',
    'windows/amd64:10.0.20348.2',
    'unknown/unknown',
  ];
  const poolEntry = fc.oneof(
    fc.constantFrom(...pool).map((s) => () => at(s)),
    fc.constant(ATTESTATION),
    fc.constant(() => entry(undefined)),
  );

  it('selectManifest never returns an attestation, and returns the best-ranked first entry', () => {
    fc.assert(
      fc.property(
        fc.array(poolEntry, { maxLength: 8 }),
        fc.constantFrom(...pool),
        fc.boolean(),
        (makers, wanted, strict) => {
          const index = makers.map((make) => make());
          const chosen = selectManifest(index, wanted, { strict });
          const m = createMatcher(wanted, { strict });
          const candidates = index.filter(
            (d) => d.platform?.os !== 'unknown' && m.match(platformOfDescriptor(d.platform)),
          );
          if (candidates.length === 0) {
            expect(chosen).toBeUndefined();
            return;
          }
          expect(chosen).toBeDefined();
          expect(chosen!.platform?.os).not.toBe('unknown');
          const best = Math.min(...candidates.map((d) => m.rank(platformOfDescriptor(d.platform))));
          expect(m.rank(platformOfDescriptor(chosen!.platform))).toBe(best);
        },
      ),
    );
  });

  it('match agrees with rank, and compare is antisymmetric', () => {
    const someone = fc.constantFrom(...pool.filter((s) => s !== 'unknown/unknown'));
    fc.assert(
      fc.property(someone, someone, someone, fc.boolean(), (w, a, b, strict) => {
        const m = createMatcher(w, { strict });
        expect(m.match(P(a))).toBe(m.rank(P(a)) !== Number.POSITIVE_INFINITY);
        expect(Math.sign(m.compare(P(a), P(b)))).toBe(-Math.sign(m.compare(P(b), P(a))) || 0);
      }),
    );
  });
});

/** What formatPlatformAll does to features: sorted, unique. */
function normalizeFeatures(p: Platform): Platform {
  if (!p.osFeatures) return p;
  return { ...p, osFeatures: [...new Set(p.osFeatures)].sort() };
}
