/**
 * @module test/k8s/support/fake-resolver
 * A Resolver for pin tests with no registry: the digest of a reference is the sha256 of its
 * canonical form (plus the platform), so tests can compute expectations independently.
 */
import { digestOf } from '../../../src/core/digest.js';
import { ImgdigestError } from '../../../src/core/errors.js';
import type { Reference } from '../../../src/core/reference.js';
import type { Resolution, ResolveOptions, Resolver } from '../../../src/resolver/types.js';

/** The digest the fake gives a canonical reference (and platform). */
export function fakeDigest(canonical: string, platform?: string): `${string}:${string}` {
  return digestOf(platform ? `${canonical}|${platform}` : canonical);
}

export interface FakeResolver extends Resolver {
  calls: Array<{ canonical: string; platform?: string }>;
}

/** `fail` maps canonical references to the error to throw; `digests` overrides answers. */
export function fakeResolver(
  options: { fail?: Record<string, string>; digests?: Record<string, string>; delayMs?: number } = {},
): FakeResolver {
  const calls: FakeResolver['calls'] = [];
  return {
    calls,
    async resolve(reference: Reference, opts: ResolveOptions = {}): Promise<Resolution> {
      calls.push({ canonical: reference.canonical, ...(opts.platform ? { platform: opts.platform } : {}) });
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const why = options.fail?.[reference.canonical];
      if (why) throw new ImgdigestError('NOT_FOUND', why);
      const digest =
        (options.digests?.[reference.canonical] as `${string}:${string}` | undefined) ??
        fakeDigest(reference.canonical, opts.platform);
      const r: Resolution = {
        reference,
        digest,
        kind: opts.platform ? 'manifest' : 'index',
        mediaType: opts.platform
          ? 'application/vnd.oci.image.manifest.v1+json'
          : 'application/vnd.oci.image.index.v1+json',
        size: 1234,
        resolvedAt: '2025-01-02T03:04:05.000Z',
        via: 'registry',
      };
      if (opts.platform) r.platform = opts.platform;
      return r;
    },
  };
}
