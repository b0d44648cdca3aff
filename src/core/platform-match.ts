/**
 * @module platform-match
 * Which platform can serve which: containerd's `Only` fallback vectors (amd64/v3 runs v2, v1 and
 * 386; arm64 runs arm/v8 down to v5; ...), `OnlyStrict`, Windows OS versions matched by build and
 * ordered as a Windows node orders them (newest compatible build and revision first), and the
 * choice of the best child of an index (exact beats fallback, ties keep index order, attestations
 * are never chosen).
 * @see https://github.com/containerd/platforms/blob/main/compare.go
 * @see https://github.com/containerd/platforms/blob/main/platform_windows_compat.go
 */
import { type Descriptor, isAttestation } from './manifest.js';
import {
  formatPlatformAll,
  normalizeArch,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformOfDescriptor,
} from './platform.js';

/** What {@link createMatcher} and {@link onlyOS} return. */
export interface PlatformMatcher {
  /** The wanted platform, normalised. */
  readonly platform: Platform;
  /** Whether a candidate can serve the wanted platform. */
  match(candidate: Platform): boolean;
  /** 0 for an exact match, larger for each step down the fallbacks, `Infinity` for no match. */
  rank(candidate: Platform): number;
  /** A comparator for `Array.prototype.sort` (stable): preferred candidates first. */
  compare(a: Platform, b: Platform): number;
}

export interface MatchOptions {
  /** containerd `OnlyStrict`: the normalised platform only, no lower variants, no 386 for amd64. */
  strict?: boolean;
}

interface ArchVariant {
  architecture: string;
  variant: string;
}

/**
 * Ranks are `step * VERSION_TIERS + tier`: the architecture fallback step dominates, and within
 * one step a Windows image with a compatible `os.version` comes before one without a version.
 * Among compatible versions, {@link compareWindowsVersions} puts the newest first.
 */
const VERSION_TIERS = 2;
const TIER_UNVERSIONED = 1;

/**
 * containerd `platformVector`: what a platform can run, best first.
 * - amd64/vN: vN ... v1, then 386;
 * - arm/vN: vN ... v5;
 * - arm64 (no variant = v8): vX.Y ... v8 (v9.x: v9.x ... v9, then v8.(x+5, at most 9) ... v8), then arm/v8 ... v5.
 */
function platformVector(architecture: string, variant: string): ArchVariant[] {
  const out: ArchVariant[] = [{ architecture, variant }];
  const push = (v: string, arch = architecture) => out.push({ architecture: arch, variant: v });
  if (architecture === 'amd64' || architecture === 'arm') {
    const floor = architecture === 'amd64' ? 1 : 5;
    const n = /^v?(\d+)$/.exec(variant);
    for (let v = (n ? Number(n[1]) : 0) - 1; v >= floor; v--) push(`v${v}`);
    if (architecture === 'amd64') push('', '386');
  } else if (architecture === 'arm64') {
    const wanted = variant || 'v8';
    const m = /^v?(\d+)(?:\.(\d+))?$/.exec(wanted);
    let armVariant = wanted;
    if (m && Number(m[1]) >= 8) {
      let major = Number(m[1]);
      // containerd reads the minor only from 4-character variants, so it gets v8.10 wrong; we do not.
      let minor = m[2] ? Number(m[2]) : 0;
      const pushDown = () => {
        for (let i = minor - 1; i >= 0; i--) push(i === 0 ? `v${major}` : `v${major}.${i}`);
      };
      if (major === 9) {
        pushDown();
        // v9.0 diverged from v8.5: v9.x runs v8.(x+5) code, up to v8.9.
        minor = Math.min(minor + 5, 9);
        major = 8;
        push(`v8.${minor}`);
      }
      pushDown();
      // There is no 32-bit arm v9: every arm64 from v8 runs arm/v8 and below.
      armVariant = 'v8';
    }
    out.push(...platformVector('arm', armVariant));
  }
  return out.map((a) => {
    const [arch, v] = normalizeArch(a.architecture, a.variant);
    return { architecture: arch, variant: v };
  });
}

interface WindowsVersion {
  major: number;
  minor: number;
  build: number;
  revision?: number;
}

/** `major.minor.build[.revision]`, as containerd's `getWindowsOSVersion` reads it. */
function parseWindowsVersion(v: string | undefined): WindowsVersion | undefined {
  const parts = (v ?? '').split('.');
  if (parts.length < 3 || !parts.slice(0, 3).every((s) => /^\d+$/.test(s))) return undefined;
  const [major, minor, build] = parts.slice(0, 3).map(Number) as [number, number, number];
  const revision = parts[3] !== undefined && /^\d+$/.test(parts[3]) ? Number(parts[3]) : undefined;
  return revision === undefined ? { major, minor, build } : { major, minor, build, revision };
}

/** Windows Server LTSC builds with a stable container ABI (containerd `compatLTSCReleases`). */
const LTSC_2022 = 20348;
const LTSC_RELEASES = [LTSC_2022, 26100];

/**
 * How a Windows image's `os.version` fits the wanted one (the node's), or undefined when it cannot
 * run there (containerd `checkWindowsHostAndContainerCompat`): same major.minor, and the same build
 * for nodes before LTSC 2022; from LTSC 2022 on, any build from the last earlier LTSC up to the
 * node's (the stable-ABI rule). The revision never decides a match: a node on `10.0.17763.1` runs
 * `10.0.17763.2`. A wanted version that does not parse, or an image without one, matches (as in
 * containerd); the image without one ranks after versioned ones (tier 1).
 */
function windowsVersionTier(wanted: string | undefined, candidate: string | undefined): number | undefined {
  const w = parseWindowsVersion(wanted);
  if (!w) return 0;
  if (!candidate) return TIER_UNVERSIONED;
  const c = parseWindowsVersion(candidate);
  if (!c || c.major !== w.major || c.minor !== w.minor) return undefined;
  if (w.build < LTSC_2022) return c.build === w.build ? 0 : undefined;
  const floor = [...LTSC_RELEASES].reverse().find((r) => w.build > r) ?? LTSC_2022;
  return c.build >= floor && c.build <= w.build ? 0 : undefined;
}

/**
 * containerd's Windows comparer (`windowsMatchComparer.Less`, what a Windows node pulls with):
 * among compatible images, the higher `os.version` first, so the newest build the node can run
 * and, within a build, the highest revision. containerd compares the version strings; this
 * compares build and revision as numbers, which agrees for today's same-length numbers and keeps
 * `.10` above `.9`. Versions that do not parse sort as if absent (after the others).
 */
function compareWindowsVersions(a: string | undefined, b: string | undefined): number {
  const key = (v: string | undefined) => {
    const p = parseWindowsVersion(v);
    return p ? [p.build, p.revision ?? 0] : [-1, -1];
  };
  const [ka, kb] = [key(a), key(b)];
  return order(kb[0]!, ka[0]!) || order(kb[1]!, ka[1]!);
}

/** The candidate's OS features, minus one `win32k` on Windows (Nano Server lacks it; containerd ignores it). */
function candidateFeatures(wantedOS: string, candidate: Platform): string[] {
  const features = normalizePlatform(candidate).osFeatures ?? [];
  return wantedOS === 'windows' ? features.filter((f) => f !== 'win32k') : features;
}

type RankFn = (candidate: Platform, ignoreFeatures: boolean) => number;

/**
 * Build a matcher from the OS check (OS, version, features) shared by every kind of matcher and
 * the architecture step the kind decides. OS features follow containerd: the candidate's must be
 * a subset of the wanted ones, so a wanted platform without features does NOT match an image that
 * requires some (`linux(+gpu)/amd64` is not served to `linux/amd64`). The OS version only matters
 * for Windows.
 */
function makeMatcher(
  want: Platform,
  archStep: (arch: ArchVariant) => number,
  compareUnmatched: boolean,
): PlatformMatcher {
  const wantedFeatures = new Set(want.osFeatures ?? []);
  // Only a wanted platform with an OS version describes a Windows node; without one (`windows/amd64`)
  // containerd's `Only` keeps index order among equals, and so do we.
  const newestWindowsFirst = want.os === 'windows' && parseWindowsVersion(want.osVersion) !== undefined;
  const rankOf: RankFn = (candidate, ignoreFeatures) => {
    const n = normalizePlatform(candidate);
    if (n.os !== want.os) return Number.POSITIVE_INFINITY;
    if (!ignoreFeatures && !candidateFeatures(want.os, candidate).every((f) => wantedFeatures.has(f))) {
      return Number.POSITIVE_INFINITY;
    }
    const tier = want.os === 'windows' ? windowsVersionTier(want.osVersion, candidate.osVersion) : 0;
    if (tier === undefined) return Number.POSITIVE_INFINITY;
    const step = archStep({ architecture: n.architecture, variant: n.variant ?? '' });
    return step < 0 ? Number.POSITIVE_INFINITY : step * VERSION_TIERS + tier;
  };
  return {
    platform: want,
    match: (candidate) => rankOf(candidate, false) !== Number.POSITIVE_INFINITY,
    rank: (candidate) => rankOf(candidate, false),
    compare: (a, b) => compareByRank(rankOf, a, b, compareUnmatched, newestWindowsFirst),
  };
}

/**
 * containerd's `Less`: lower rank first; equal ranks of Windows images wanted by a versioned
 * Windows platform put the newest version first (its Windows comparer); then more OS features
 * first; two candidates that both fail are ordered as if they had no OS features (for `Only`), so
 * `linux(+other)/amd64` sorts before `windows/amd64` when `linux/amd64` is wanted.
 */
function compareByRank(
  rankOf: RankFn,
  a: Platform,
  b: Platform,
  compareUnmatched: boolean,
  newestWindowsFirst: boolean,
): number {
  const ra = rankOf(a, false);
  const rb = rankOf(b, false);
  if (ra === Number.POSITIVE_INFINITY && rb === Number.POSITIVE_INFINITY) {
    if (!compareUnmatched) return 0;
    return order(rankOf(a, true), rankOf(b, true));
  }
  if (ra !== rb) return order(ra, rb);
  if (newestWindowsFirst) {
    const byVersion = compareWindowsVersions(a.osVersion, b.osVersion);
    if (byVersion !== 0) return byVersion;
  }
  return (normalizePlatform(b).osFeatures?.length ?? 0) - (normalizePlatform(a).osFeatures?.length ?? 0);
}

function order(x: number, y: number): number {
  return x === y ? 0 : x < y ? -1 : 1;
}

function wantedPlatform(wanted: Platform | string): Platform {
  return normalizePlatform(typeof wanted === 'string' ? parsePlatform(wanted) : wanted);
}

/**
 * A matcher for a wanted platform with containerd `Only` semantics: the platform itself, then what
 * it can also run (amd64/v3 runs v2, v1 and 386; arm64 runs arm/v8..v5; arm/v7 runs v6, v5).
 * With `strict`, containerd `OnlyStrict`: the normalised platform only.
 *
 * @example createMatcher('linux/arm64').rank({ os: 'linux', architecture: 'arm', variant: 'v7' }) // > 0
 */
export function createMatcher(wanted: Platform | string, options: MatchOptions = {}): PlatformMatcher {
  const want = wantedPlatform(wanted);
  const vector = options.strict
    ? [{ architecture: want.architecture, variant: want.variant ?? '' }]
    : platformVector(want.architecture, want.variant ?? '');
  return makeMatcher(
    want,
    (a) => vector.findIndex((v) => v.architecture === a.architecture && v.variant === a.variant),
    true,
  );
}

/**
 * containerd `OnlyOS`: any architecture of the wanted OS (same OS version and feature rules),
 * the wanted architecture first and the others in their original order.
 */
export function onlyOS(wanted: Platform | string): PlatformMatcher {
  const want = wantedPlatform(wanted);
  const variant = want.variant ?? '';
  return makeMatcher(
    want,
    (a) => (a.architecture === want.architecture && a.variant === variant ? 0 : 1),
    false,
  );
}

/** A comparator that sorts candidates best first for a wanted platform (see {@link createMatcher}). */
export function comparePlatforms(
  wanted: Platform | string,
  options: MatchOptions = {},
): (a: Platform, b: Platform) => number {
  return createMatcher(wanted, options).compare;
}

/**
 * The index entry to use for a wanted platform: the best match, and among equally good ones the
 * first in index order (image-spec: "the first SHOULD be used"). For a Windows platform with an OS
 * version (a node's), the newest compatible `os.version` wins, as on a Windows node. Attestations
 * (`unknown/unknown`) are never chosen; entries without a platform count as `linux/amd64`.
 *
 * @example selectManifest(index.manifests, 'linux/arm64')?.digest
 * @example selectManifest(index.manifests, 'windows(10.0.17763.1)/amd64') // 10.0.17763.2 over .1
 */
export function selectManifest(
  descriptors: readonly Descriptor[],
  wanted: Platform | string,
  options: MatchOptions = {},
): Descriptor | undefined {
  const matcher = createMatcher(wanted, options);
  let best: { descriptor: Descriptor; platform: Platform } | undefined;
  for (const descriptor of descriptors) {
    if (isAttestation(descriptor)) continue;
    const platform = platformOfDescriptor(descriptor.platform);
    if (!matcher.match(platform)) continue;
    if (!best || matcher.compare(platform, best.platform) < 0) best = { descriptor, platform };
  }
  return best?.descriptor;
}

/**
 * The platforms an index offers, for messages such as "the index offers linux/amd64, linux/arm64":
 * attestations left out, duplicates once, OS version and features shown when set.
 */
export function describePlatforms(descriptors: readonly Descriptor[]): string[] {
  const seen = new Set<string>();
  for (const d of descriptors) {
    if (!isAttestation(d)) seen.add(formatPlatformAll(platformOfDescriptor(d.platform)));
  }
  return [...seen];
}
