/**
 * @module platform
 * Platforms (`linux/arm64`, `windows(10.0.17763)/amd64`): parse what a user types, normalise,
 * format. Matching and choosing the best child of an index are in platform-match.ts and
 * re-exported here.
 *
 * Parsing, normalisation, formatting and matching follow containerd/platforms (the syntax
 * `os[(version+feature...)][/arch[/variant]]`, its `Only` fallback vectors and `OnlyStrict`), so
 * `--platform` means here what it means to containerd, nerdctl and BuildKit. Two suffixes other
 * tools use for the OS version are accepted too: crane's `os/arch:10.0.17763` and regctl's
 * `os/arch,osver=10.0.17763`.
 * @see https://github.com/containerd/platforms/blob/main/platforms.go
 * @see https://github.com/opencontainers/image-spec/blob/main/image-index.md
 */
import { endianness } from 'node:os';
import { ImgdigestError } from './errors.js';
import type { DescriptorPlatform } from './manifest.js';

/** A platform, with the OS version and features under JavaScript names (`osVersion`, not `os.version`). */
export interface Platform {
  /** GOOS value: `linux`, `windows`, ... */
  os: string;
  /** GOARCH value: `amd64`, `arm64`, ... */
  architecture: string;
  /** CPU variant: `v7` for arm, `v8.2` for arm64, `v3` for amd64. Absent when empty. */
  variant?: string;
  /** OS version; only Windows matching uses it (`10.0.17763.7919`). */
  osVersion?: string;
  /** Required OS features (`win32k`). */
  osFeatures?: string[];
  /** Reserved by the image-spec; carried, never matched. */
  features?: string[];
}

/** The machine a one-word platform (`linux`, `arm64`) is completed from. */
export interface HostPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ParsePlatformOptions {
  /** Fills the missing half of a one-component specifier. Defaults to this process's platform. */
  host?: HostPlatform;
}

/** Operating systems containerd knows (`database.go`): a one-word specifier naming one is an OS. */
const KNOWN_OS = new Set(
  'aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris windows zos'.split(
    ' ',
  ),
);
/** Architectures containerd knows: any other one-word specifier is an error. */
const KNOWN_ARCH = new Set(
  (
    '386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le ' +
    'mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm'
  ).split(' '),
);

const OS_RE = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;
const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;
/** crane's `:osversion` and regctl's `,osver=` values: no `/`, `(`, `)`, `%` to escape there. */
const OS_VERSION_SUFFIX_RE = /^[A-Za-z0-9_.+-]+$/;

const GOOS: Readonly<Record<string, string>> = { win32: 'windows', cygwin: 'windows', sunos: 'solaris' };
const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', mipsel: 'mipsle' };

/** This process's platform in Go's terms (Node says `x64`/`win32`, images say `amd64`/`windows`). */
export function hostPlatform(): HostPlatform {
  const os = GOOS[process.platform] ?? process.platform;
  let architecture = GOARCH[process.arch] ?? process.arch;
  if (architecture === 'ppc64' && endianness() === 'LE') architecture = 'ppc64le';
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  if (architecture === 'arm' && typeof armVersion === 'string' && /^\d+$/.test(armVersion)) {
    return { os, architecture, variant: `v${armVersion}` };
  }
  return { os, architecture };
}

/**
 * Parse a platform specifier as containerd does: `os`, `arch`, `os/arch`, `os/arch/variant`, with
 * optional OS options `os(version+feature1+feature2)` (`%`-escaped), or an OS version given as
 * crane's `:version` or regctl's `,osver=version` suffix. Input is case-insensitive; the result is
 * lower case. A one-word specifier is completed from `options.host` (default: this machine).
 * Like containerd, an architecture that implies arm v7 without naming a variant (`linux/arm`,
 * `linux/armhf`) parses to `arm` with no variant, while `linux/arm/v7` keeps the
 * `v7` it names, and `linux/arm64/v8` its `v8` (the matcher treats each pair the same).
 *
 * @throws `PLATFORM_INVALID` naming the input and the problem.
 * @example parsePlatform('linux/arm64') // { os: 'linux', architecture: 'arm64' }
 * @example parsePlatform('windows/amd64:10.0.17763.7919').osVersion // '10.0.17763.7919'
 */
export function parsePlatform(input: string, options: ParsePlatformOptions = {}): Platform {
  if (input === '') throw invalidPlatform(input, 'empty platform (expected os/arch[/variant])');
  if (input.includes('*')) throw invalidPlatform(input, 'wildcards are not supported');
  const { spec, suffixVersion } = splitVersionSuffix(input);
  const parts = spec.split('/');
  if (parts.length > 3) throw invalidPlatform(input, 'too many components (expected os/arch[/variant])');
  const osPart = parts[0]!;
  const osMatch = OS_RE.exec(osPart);
  if (!osMatch) {
    throw invalidPlatform(
      input,
      osPart === ''
        ? 'empty OS component'
        : `invalid OS component ${JSON.stringify(osPart)} (expected letters, digits, "_", "-", optionally followed by "(version+feature)")`,
    );
  }
  parts.slice(1).forEach((part, i) => {
    const what = i === 0 ? 'architecture' : 'variant';
    if (!COMPONENT_RE.test(part)) {
      throw invalidPlatform(
        input,
        part === ''
          ? `empty ${what} component`
          : `invalid ${what} ${JSON.stringify(part)} (expected letters, digits, ".", "_", "-")`,
      );
    }
  });
  let osVersion = decodeOSOption(input, osMatch[2] ?? '');
  if (suffixVersion !== undefined) {
    if (osVersion !== '') throw invalidPlatform(input, 'the OS version is given twice');
    osVersion = suffixVersion;
  }
  const osFeatures = osMatch[3]
    ? osMatch[3]
        .slice(1)
        .split('+')
        .map((f) => decodeOSOption(input, f))
    : [];

  let os = normalizeOS(osMatch[1]!);
  let architecture: string;
  let variant: string;
  if (parts.length === 1) {
    const host = options.host ?? hostPlatform();
    if (KNOWN_OS.has(os)) {
      // containerd: the host's architecture, with its variant only for arm other than v7.
      architecture = host.architecture;
      variant = architecture === 'arm' && host.variant && host.variant !== 'v7' ? host.variant : '';
    } else {
      [architecture, variant] = normalizeArch(parts[0]!, '');
      if (architecture === 'arm' && variant === 'v7') variant = '';
      if (!KNOWN_ARCH.has(architecture)) {
        throw invalidPlatform(input, 'unknown operating system or architecture');
      }
      os = host.os;
    }
  } else if (parts.length === 2) {
    [architecture, variant] = normalizeArch(parts[1]!, '');
    if (architecture === 'arm' && variant === 'v7') variant = '';
  } else {
    [architecture, variant] = normalizeArch(parts[1]!, parts[2]!);
    // An explicit `arm64/v8` stays visible (containerd keeps it; the matcher treats it as arm64).
    if (architecture === 'arm64' && variant === '') variant = 'v8';
  }
  return build(os, architecture, variant, osVersion, osFeatures, undefined);
}

/** Split crane's `:version` or regctl's `,osver=version` off a specifier. */
function splitVersionSuffix(input: string): { spec: string; suffixVersion?: string } {
  let spec = input;
  let suffixVersion: string | undefined;
  const comma = spec.indexOf(',');
  if (comma >= 0) {
    for (const option of spec.slice(comma + 1).split(',')) {
      const eq = option.indexOf('=');
      const key = eq < 0 ? option : option.slice(0, eq);
      if (key !== 'osver' || eq < 0) {
        throw invalidPlatform(input, `unknown option ${JSON.stringify(option)} (only ",osver=VERSION")`);
      }
      if (suffixVersion !== undefined) throw invalidPlatform(input, 'the OS version is given twice');
      suffixVersion = checkSuffixVersion(input, option.slice(eq + 1));
    }
    spec = spec.slice(0, comma);
  }
  const colon = spec.indexOf(':');
  if (colon >= 0) {
    if (suffixVersion !== undefined) throw invalidPlatform(input, 'the OS version is given twice');
    suffixVersion = checkSuffixVersion(input, spec.slice(colon + 1));
    spec = spec.slice(0, colon);
  }
  return suffixVersion === undefined ? { spec } : { spec, suffixVersion };
}

function checkSuffixVersion(input: string, version: string): string {
  if (!OS_VERSION_SUFFIX_RE.test(version)) {
    throw invalidPlatform(input, `invalid OS version ${JSON.stringify(version)}`);
  }
  return version;
}

/** containerd unescapes OS options only when they contain `%` (url.PathUnescape). */
function decodeOSOption(input: string, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalidPlatform(input, `bad %-escape in OS option ${JSON.stringify(value)}`);
  }
}

function invalidPlatform(input: string, why: string): ImgdigestError {
  const shown = input.length > 200 ? `${input.slice(0, 200)}...` : input;
  return new ImgdigestError('PLATFORM_INVALID', `invalid platform ${JSON.stringify(shown)}: ${why}`, {
    details: { platform: input },
  });
}

/** A platform object with only the fields that are set. */
function build(
  os: string,
  architecture: string,
  variant: string,
  osVersion: string | undefined,
  osFeatures: readonly string[] | undefined,
  features: readonly string[] | undefined,
): Platform {
  const p: Platform = { os, architecture };
  if (variant) p.variant = variant;
  if (osVersion) p.osVersion = osVersion;
  if (osFeatures && osFeatures.length > 0) p.osFeatures = [...osFeatures];
  if (features && features.length > 0) p.features = [...features];
  return p;
}

/** containerd `normalizeOS`: lower case, `macos` is `darwin`. (An empty OS stays empty.) */
function normalizeOS(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** containerd `normalizeArch`: canonical GOARCH names and variants. */
export function normalizeArch(arch: string, variant: string): [string, string] {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return ['386', ''];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', v === 'v1' ? '' : v];
    case 'aarch64':
    case 'arm64':
      if (v === '8' || v === 'v8' || v === 'v8.0') return ['arm64', ''];
      if (v === '9' || v === '9.0' || v === 'v9.0') return ['arm64', 'v9'];
      return ['arm64', v];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (v === '' || v === '7') return ['arm', 'v7'];
      if (v === '5' || v === '6' || v === '8') return ['arm', `v${v}`];
      return ['arm', v];
    default:
      return [a, v];
  }
}

/**
 * The canonical form of a platform (containerd `Normalize`): `aarch64` -> `arm64`, `x86_64` ->
 * `amd64`, `armhf` -> `arm/v7`, `arm` -> `arm/v7`, `arm64/v8` -> `arm64`, `macos` -> `darwin`,
 * OS features sorted and de-duplicated (empty ones dropped).
 */
export function normalizePlatform(p: Platform): Platform {
  const [architecture, variant] = normalizeArch(p.architecture, p.variant ?? '');
  const osFeatures = [...new Set((p.osFeatures ?? []).filter((f) => f !== ''))].sort();
  return build(normalizeOS(p.os), architecture, variant, p.osVersion, osFeatures, p.features);
}

/** `os/arch[/variant]`, or `unknown` without an OS (containerd `Format`). */
export function formatPlatform(p: Platform): string {
  if (!p.os) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((s) => s).join('/');
}

const OS_OPTION_ESCAPES: Readonly<Record<string, string>> = {
  '%': '%25',
  '+': '%2B',
  '(': '%28',
  ')': '%29',
  '/': '%2F',
};

function encodeOSOption(value: string): string {
  return value.replace(/[%+()/]/g, (c) => OS_OPTION_ESCAPES[c]!);
}

/**
 * Like {@link formatPlatform}, with the OS version and features: `windows(10.0.17763+win32k)/amd64`
 * (containerd `FormatAll`: features sorted, empty ones skipped, `% + ( ) /` escaped).
 */
export function formatPlatformAll(p: Platform): string {
  if (!p.os) return 'unknown';
  const features = (p.osFeatures ?? []).filter((f) => f !== '').sort();
  const options = encodeOSOption(p.osVersion ?? '') + features.map((f) => `+${encodeOSOption(f)}`).join('');
  const os = options ? `${p.os}(${options})` : p.os;
  return [os, p.architecture, p.variant].filter((s) => s).join('/');
}

/**
 * The platform of an index entry. An entry without a platform is taken to be `linux/amd64`, as
 * crane does: such indexes come from old tools that only built that platform.
 */
export function platformOfDescriptor(d: DescriptorPlatform | undefined): Platform {
  if (!d) return { os: 'linux', architecture: 'amd64' };
  return build(
    String(d.os ?? ''),
    String(d.architecture ?? ''),
    d.variant ?? '',
    d['os.version'],
    Array.isArray(d['os.features']) ? d['os.features'] : undefined,
    Array.isArray(d.features) ? d.features : undefined,
  );
}

/** The image-spec JSON shape of a platform (`os.version`, `os.features`), unset fields left out. */
export function toDescriptorPlatform(p: Platform): DescriptorPlatform {
  const d: DescriptorPlatform = { architecture: p.architecture, os: p.os };
  if (p.osVersion) d['os.version'] = p.osVersion;
  if (p.osFeatures && p.osFeatures.length > 0) d['os.features'] = [...p.osFeatures];
  if (p.variant) d.variant = p.variant;
  if (p.features && p.features.length > 0) d.features = [...p.features];
  return d;
}

export * from './platform-match.js';
